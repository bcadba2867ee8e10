package helm

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/inferencepool-operator/inferencepool-operator/test/installtest"
)

// customValues sets every value of the chart to something other than its default (and switches
// every optional part on), so the tests can see each one reach the manifests.
var customValues = append([]string{
	"fullnameOverride=acme",
	"replicaCount=3",
	"image.repository=registry.example.com/ipo",
	"image.tag=v9.9.9",
	"image.digest=sha256:" + digest,
	"image.pullPolicy=Always",
	"imagePullSecrets[0].name=regcred",
	"serviceAccount.name=ipo-runner",
	"serviceAccount.annotations.iam\\.example\\.com/role=ipo",
	"manager.envoyGatewayClass=my-eg",
	"manager.clusterDomain=cluster.example",
	"manager.maxConcurrentReconciles=8",
	"manager.maxConcurrentPoolReconciles=24",
	"manager.goMemoryLimit=300Mi",
	"manager.leaderElection.leaseDuration=30s",
	"manager.leaderElection.renewDeadline=20s",
	"manager.leaderElection.retryPeriod=4s",
	"manager.logLevel=debug",
	"manager.metrics.secure=false",
	"manager.metrics.port=8080",
	"manager.healthProbePort=9440",
	"manager.extraArgs[0]=--zap-encoder=console",
	"resources.requests.cpu=100m",
	"resources.limits.memory=1Gi",
	"resources.requests.memory=256Mi",
	"resources.limits.cpu=2",
	"nodeSelector.kubernetes\\.io/os=linux",
	"tolerations[0].key=dedicated",
	"tolerations[0].operator=Exists",
	"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=kubernetes.io/arch",
	"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=In",
	"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]=arm64",
	"topologySpreadConstraints[0].maxSkew=1",
	"topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
	"topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway",
	"priorityClassName=system-cluster-critical",
	"commonLabels.team=inference",
	"commonAnnotations.owner=platform",
	"podLabels.tier=control",
	"podAnnotations.scrape=no",
	"metricsService.annotations.note=metrics",
	"gatewayClass.name=llm",
	"gatewayClass.parametersName=llm-params",
	"gatewayClass.parameters.envoyGatewayClassName=my-eg",
	"gatewayClass.parameters.endpointPicker.tls.mode=Disabled",
	"gatewayClass.parameters.loadBalancer.fallbackType=RoundRobin",
	"serviceMonitor.labels.release=prom",
	"serviceMonitor.interval=15s",
	"serviceMonitor.scrapeTimeout=10s",
	"prometheusRule.labels.release=prom",
	"podDisruptionBudget.maxUnavailable=1",
}, allOptional...)

const digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestValuesReachTheManifests renders customValues and finds each value where it belongs.
func TestValuesReachTheManifests(t *testing.T) {
	objs := render(t, customValues...)
	for _, u := range objs {
		if u.GetLabels()["team"] != "inference" || u.GetAnnotations()["owner"] != "platform" {
			t.Errorf("%s %s lacks commonLabels/commonAnnotations: %v %v", u.GetKind(), u.GetName(), u.GetLabels(), u.GetAnnotations())
		}
	}
	d := deployment(t, objs)
	if d.Name != "acme-controller-manager" || *d.Spec.Replicas != 3 {
		t.Errorf("Deployment %s with %d replicas, want acme-controller-manager with 3", d.Name, *d.Spec.Replicas)
	}
	pod := d.Spec.Template
	if pod.Labels["tier"] != "control" || pod.Annotations["scrape"] != "no" {
		t.Errorf("pod labels %v annotations %v lack podLabels/podAnnotations", pod.Labels, pod.Annotations)
	}
	if pod.Spec.ServiceAccountName != "ipo-runner" || len(pod.Spec.ImagePullSecrets) != 1 || pod.Spec.ImagePullSecrets[0].Name != "regcred" {
		t.Errorf("pod runs as %q with pull secrets %v", pod.Spec.ServiceAccountName, pod.Spec.ImagePullSecrets)
	}
	if pod.Spec.NodeSelector["kubernetes.io/os"] != "linux" || len(pod.Spec.Tolerations) != 1 ||
		pod.Spec.Affinity == nil || pod.Spec.Affinity.NodeAffinity == nil || pod.Spec.Affinity.PodAntiAffinity != nil ||
		len(pod.Spec.TopologySpreadConstraints) != 1 || pod.Spec.PriorityClassName != "system-cluster-critical" {
		t.Errorf("pod scheduling: nodeSelector %v tolerations %v affinity %+v spread %v priority %q",
			pod.Spec.NodeSelector, pod.Spec.Tolerations, pod.Spec.Affinity, pod.Spec.TopologySpreadConstraints, pod.Spec.PriorityClassName)
	}
	manager := installtest.ManagerContainer(t, "Deployment", d.Spec)
	if want := "registry.example.com/ipo@sha256:" + digest; manager.Image != want || manager.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("image %s (%s), want %s (Always): the digest wins over the tag", manager.Image, manager.ImagePullPolicy, want)
	}
	for _, want := range []string{
		"--leader-elect=true", "--metrics-bind-address=:8080", "--metrics-secure=false", "--health-probe-bind-address=:9440",
		"--envoy-gateway-class=my-eg", "--cluster-domain=cluster.example", "--max-concurrent-reconciles=8", "--max-concurrent-pool-reconciles=24", "--go-memory-limit=300Mi", "--zap-log-level=debug", "--zap-encoder=console",
		"--leader-elect-lease-duration=30s", "--leader-elect-renew-deadline=20s", "--leader-elect-retry-period=4s",
	} {
		if !slices.Contains(manager.Args, want) {
			t.Errorf("manager args %v lack %s", manager.Args, want)
		}
	}
	if manager.Resources.Requests.Cpu().Cmp(resource.MustParse("100m")) != 0 || manager.Resources.Limits.Memory().Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("resources %v", manager.Resources)
	}
	if p := manager.Ports; len(p) != 2 || p[0].ContainerPort != 8080 || p[1].ContainerPort != 9440 {
		t.Errorf("container ports %v, want metrics 8080 and probes 9440", p)
	}

	svc := &corev1.Service{}
	installtest.MustConvert(t, one(t, objs, "Service"), svc)
	if svc.Name != "acme-controller-manager-metrics-service" || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[0].Name != "http" || svc.Annotations["note"] != "metrics" {
		t.Errorf("metrics Service %s ports %v annotations %v", svc.Name, svc.Spec.Ports, svc.Annotations)
	}
	sa := one(t, objs, "ServiceAccount")
	if sa.GetName() != "ipo-runner" || sa.GetAnnotations()["iam.example.com/role"] != "ipo" {
		t.Errorf("ServiceAccount %s annotations %v", sa.GetName(), sa.GetAnnotations())
	}
	for _, u := range append(ofKind(objs, "ClusterRoleBinding"), ofKind(objs, "RoleBinding")...) {
		b := &rbacv1.RoleBinding{}
		installtest.MustConvert(t, u, b)
		if len(b.Subjects) != 1 || b.Subjects[0].Name != "ipo-runner" || b.Subjects[0].Namespace != namespace {
			t.Errorf("%s %s binds %v, want ServiceAccount %s/ipo-runner", u.GetKind(), u.GetName(), b.Subjects, namespace)
		}
	}

	gc := one(t, objs, "GatewayClass")
	params := one(t, objs, "InferenceGatewayParameters")
	if gc.GetName() != "llm" || params.GetName() != "llm-params" {
		t.Errorf("GatewayClass %s, parameters %s; want llm, llm-params", gc.GetName(), params.GetName())
	}
	if mode := field(params.Object, "spec", "endpointPicker", "tls", "mode"); mode != "Disabled" {
		t.Errorf("parameters spec %v lacks tls mode Disabled", params.Object["spec"])
	}
	sm := one(t, objs, "ServiceMonitor")
	if scheme := field(sm.Object, "spec", "endpoints", "0", "scheme"); scheme != "http" || sm.GetLabels()["release"] != "prom" {
		t.Errorf("ServiceMonitor scheme %q labels %v; want http (metrics.secure=false) and release=prom", scheme, sm.GetLabels())
	}
	if v := field(one(t, objs, "PodDisruptionBudget").Object, "spec", "maxUnavailable"); v != "1" {
		t.Errorf("PodDisruptionBudget maxUnavailable %q, want 1", v)
	}
	if one(t, objs, "PrometheusRule").GetLabels()["release"] != "prom" {
		t.Error("PrometheusRule lacks prometheusRule.labels")
	}
}

// TestImageDefaultsToAppVersion: without tag or digest the image is the repository at the chart's
// appVersion, the tag the release workflow pushes with the chart.
func TestImageDefaultsToAppVersion(t *testing.T) {
	ch := loadChart(t)
	manager := installtest.ManagerContainer(t, "Deployment", deployment(t, render(t)).Spec)
	if want := "ghcr.io/inferencepool-operator/inferencepool-operator:" + ch.Metadata.AppVersion; manager.Image != want {
		t.Errorf("image %s, want %s", manager.Image, want)
	}
	manager = installtest.ManagerContainer(t, "Deployment", deployment(t, render(t, "image.tag=dev")).Spec)
	if want := "ghcr.io/inferencepool-operator/inferencepool-operator:dev"; manager.Image != want {
		t.Errorf("image %s, want %s", manager.Image, want)
	}
}
