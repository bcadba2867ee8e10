package helm

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/inferencepool-operator/inferencepool-operator/hack/bundle/bundlegen"
	"github.com/inferencepool-operator/inferencepool-operator/test/installtest"
)

// optionalKinds are the kinds only an optional part of the chart renders.
var optionalKinds = []string{"InferenceGatewayParameters", "GatewayClass", "ServiceMonitor", "PrometheusRule", "PodDisruptionBudget"}

func identities(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, u := range objs {
		out = append(out, u.GetKind()+" "+u.GetNamespace()+"/"+u.GetName())
	}
	sort.Strings(out)
	return out
}

// TestDefaultsInstallWhatConfigDefaultInstalls: with its default values, a release named
// inferencepool-operator in inferencepool-operator-system creates exactly the objects `kubectl
// apply -k config/default` creates, with the same kinds, names and namespaces (the namespace
// itself is Helm's --create-namespace, the CRD is in crds/), and no optional part.
func TestDefaultsInstallWhatConfigDefaultInstalls(t *testing.T) {
	var want []*unstructured.Unstructured
	objs, err := bundlegen.Render(repoRoot(), "config/default")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range objs {
		if u.GetKind() != "Namespace" && u.GetKind() != "CustomResourceDefinition" {
			want = append(want, u)
		}
	}
	got, w := identities(render(t)), identities(want)
	if strings.Join(got, "\n") != strings.Join(w, "\n") {
		t.Errorf("the chart with its defaults renders\n  %s\nconfig/default has\n  %s", strings.Join(got, "\n  "), strings.Join(w, "\n  "))
	}
}

// TestOptionalPartsAreOffByDefault, and each renders when its value is on.
func TestOptionalPartsAreOffByDefault(t *testing.T) {
	defaults := render(t)
	for _, k := range optionalKinds {
		if n := len(ofKind(defaults, k)); n != 0 {
			t.Errorf("the defaults render %d %s", n, k)
		}
	}
	all := render(t, allOptional...)
	for _, k := range optionalKinds {
		if n := len(ofKind(all, k)); n != 1 {
			t.Errorf("with every optional part on, %d %s rendered, want 1", n, k)
		}
	}
	if len(all) != len(defaults)+len(optionalKinds) {
		t.Errorf("with every optional part on, %d objects; the defaults are %d, plus %d optional", len(all), len(defaults), len(optionalKinds))
	}
}

// TestGatewayClassUsesItsParameters: the optional GatewayClass is the operator's and points at the
// InferenceGatewayParameters rendered with it, whose spec is gatewayClass.parameters.
func TestGatewayClassUsesItsParameters(t *testing.T) {
	objs := render(t, "gatewayClass.create=true")
	gc, params := one(t, objs, "GatewayClass"), one(t, objs, "InferenceGatewayParameters")
	if c := field(gc.Object, "spec", "controllerName"); c != "inferencepool-operator.io/gateway-controller" {
		t.Errorf("GatewayClass controllerName %q", c)
	}
	if gc.GetName() != "inference" || field(gc.Object, "spec", "parametersRef", "name") != params.GetName() ||
		field(gc.Object, "spec", "parametersRef", "kind") != params.GetKind() ||
		field(gc.Object, "spec", "parametersRef", "group")+"/v1alpha1" != params.GetAPIVersion() {
		t.Errorf("GatewayClass %s parametersRef %v does not name InferenceGatewayParameters %s", gc.GetName(), field(gc.Object, "spec", "parametersRef"), params.GetName())
	}
}

// TestMonitoringMatchesConfigPrometheus: the chart's PrometheusRule has exactly the rules of
// config/prometheus/prometheus_rule.yaml (Prometheus's {{ $labels.x }} survived Helm's
// templating), and its ServiceMonitor scrapes the metrics Service's port and gives the metrics the
// job the rules select, like config/prometheus/monitor.yaml.
func TestMonitoringMatchesConfigPrometheus(t *testing.T) {
	objs := render(t, allOptional...)
	source := installtest.ReadYAMLDocs(t, filepath.Join(repoRoot(), "config", "prometheus", "prometheus_rule.yaml"))
	if len(source) != 1 {
		t.Fatalf("config/prometheus/prometheus_rule.yaml holds %d objects", len(source))
	}
	rule := one(t, objs, "PrometheusRule")
	if !reflect.DeepEqual(rule.Object["spec"], source[0].Object["spec"]) {
		got, _ := yaml.Marshal(rule.Object["spec"])
		want, _ := yaml.Marshal(source[0].Object["spec"])
		t.Errorf("the chart's PrometheusRule spec differs from config/prometheus (run make helm):\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(field(rule.Object, "spec", "groups", "0", "rules", "0", "annotations", "summary"), "{{ $labels.pool }}") {
		t.Errorf("the first alert's summary lost its Prometheus template: %q", field(rule.Object, "spec", "groups", "0", "rules", "0", "annotations", "summary"))
	}

	svc := &corev1.Service{}
	installtest.MustConvert(t, one(t, objs, "Service"), svc)
	monitors := map[string]*unstructured.Unstructured{"chart": one(t, objs, "ServiceMonitor")}
	for _, u := range installtest.ReadYAMLDocs(t, filepath.Join(repoRoot(), "config", "prometheus", "monitor.yaml")) {
		monitors["config/prometheus"] = u
	}
	for what, sm := range monitors {
		jobLabel := field(sm.Object, "spec", "jobLabel")
		if job := svc.Labels[jobLabel]; jobLabel == "" || job != "inferencepool-operator" {
			t.Errorf("%s ServiceMonitor: jobLabel %q makes the job %q; the alerts select job=\"inferencepool-operator\"", what, jobLabel, job)
		}
		if field(sm.Object, "spec", "endpoints", "0", "honorLabels") != "true" {
			t.Errorf("%s ServiceMonitor does not honor labels: the failopen metric's namespace label would become exported_namespace", what)
		}
		port := field(sm.Object, "spec", "endpoints", "0", "port")
		if port != svc.Spec.Ports[0].Name || field(sm.Object, "spec", "endpoints", "0", "scheme") != "https" {
			t.Errorf("%s ServiceMonitor scrapes port %q with scheme %q; the metrics Service serves HTTPS on port %q", what, port, field(sm.Object, "spec", "endpoints", "0", "scheme"), svc.Spec.Ports[0].Name)
		}
	}
	sm := monitors["chart"]
	sel := map[string]string{}
	for k, v := range sm.Object["spec"].(map[string]any)["selector"].(map[string]any)["matchLabels"].(map[string]any) {
		sel[k] = v.(string)
	}
	if !labels.SelectorFromSet(sel).Matches(labels.Set(svc.Labels)) {
		t.Errorf("the chart's ServiceMonitor selects %v; the metrics Service has labels %v", sel, svc.Labels)
	}
}

// TestSelectorsSelectTheManagerPods: the metrics Service and the PodDisruptionBudget select the
// Deployment's pods, and only through labels of the release.
func TestSelectorsSelectTheManagerPods(t *testing.T) {
	objs := render(t, allOptional...)
	d := deployment(t, objs)
	pods := labels.Set(d.Spec.Template.Labels)
	svc := &corev1.Service{}
	installtest.MustConvert(t, one(t, objs, "Service"), svc)
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(pods) {
		t.Errorf("metrics Service selector %v does not select the pods %v", svc.Spec.Selector, pods)
	}
	pdbSel := map[string]string{}
	for k, v := range one(t, objs, "PodDisruptionBudget").Object["spec"].(map[string]any)["selector"].(map[string]any)["matchLabels"].(map[string]any) {
		pdbSel[k] = v.(string)
	}
	if !labels.SelectorFromSet(pdbSel).Matches(pods) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods %v", pdbSel, pods)
	}
	// Two releases in one namespace would otherwise select each other's pods.
	if d.Spec.Selector.MatchLabels["app.kubernetes.io/instance"] != releaseName {
		t.Errorf("Deployment selector %v does not name the release", d.Spec.Selector.MatchLabels)
	}
}

// TestDeploymentIsConfigManager: the chart's Deployment (a template, written by hand) is
// config/manager's with the default values: same pod and container security contexts, probes,
// ports, resources, replicas, anti-affinity and grace period, and every argument config/manager
// passes (the chart also passes the defaults of the flags it exposes).
func TestDeploymentIsConfigManager(t *testing.T) {
	var want *appsv1.Deployment
	objs, err := bundlegen.Render(repoRoot(), "config/default")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range objs {
		if u.GetKind() == "Deployment" {
			want = &appsv1.Deployment{}
			installtest.MustConvert(t, u, want)
		}
	}
	got := deployment(t, render(t))
	gotPod, wantPod := got.Spec.Template.Spec, want.Spec.Template.Spec
	same := func(what string, g, w any) {
		t.Helper()
		if !reflect.DeepEqual(g, w) {
			gy, _ := yaml.Marshal(g)
			wy, _ := yaml.Marshal(w)
			t.Errorf("%s differs from config/manager:\nchart:\n%s\nconfig/manager:\n%s", what, gy, wy)
		}
	}
	same("replicas", got.Spec.Replicas, want.Spec.Replicas)
	same("pod securityContext", gotPod.SecurityContext, wantPod.SecurityContext)
	same("terminationGracePeriodSeconds", gotPod.TerminationGracePeriodSeconds, wantPod.TerminationGracePeriodSeconds)
	gm, wm := installtest.ManagerContainer(t, "chart", got.Spec), installtest.ManagerContainer(t, "config/manager", want.Spec)
	same("manager securityContext", gm.SecurityContext, wm.SecurityContext)
	same("liveness probe", gm.LivenessProbe, wm.LivenessProbe)
	same("readiness probe", gm.ReadinessProbe, wm.ReadinessProbe)
	same("ports", gm.Ports, wm.Ports)
	same("resources", gm.Resources, wm.Resources)
	same("command", gm.Command, wm.Command)
	// Anti-affinity: the same rule, over the chart's pod labels.
	if gotPod.Affinity == nil || wantPod.Affinity == nil || gotPod.Affinity.PodAntiAffinity == nil {
		t.Errorf("affinity %+v, want config/manager's pod anti-affinity", gotPod.Affinity)
	} else {
		g := gotPod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
		w := wantPod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
		if len(g) != 1 || len(w) != 1 || g[0].Weight != w[0].Weight || g[0].PodAffinityTerm.TopologyKey != w[0].PodAffinityTerm.TopologyKey ||
			!reflect.DeepEqual(g[0].PodAffinityTerm.LabelSelector.MatchLabels, got.Spec.Selector.MatchLabels) {
			t.Errorf("pod anti-affinity %+v, config/manager's %+v", g, w)
		}
	}
	for _, a := range wm.Args {
		flag, _, _ := strings.Cut(a, "=")
		if !slices.Contains(gm.Args, a) && !(flag == a && slices.Contains(gm.Args, a+"=true")) {
			t.Errorf("config/manager passes %s; the chart's args are %v", a, gm.Args)
		}
	}
}

// TestNotesSayWhatToDoNext: NOTES.txt, which helm prints after install, names the rollout to
// wait for and the GatewayClass to create (or the one the chart created).
func TestNotesSayWhatToDoNext(t *testing.T) {
	rel, err := dryRunInstall(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"kubectl -n " + namespace + " rollout status deployment/inferencepool-operator-controller-manager",
		"config/samples/gatewayclass.yaml",
		"gatewayClass.create=true",
	} {
		if !strings.Contains(rel.Info.Notes, want) {
			t.Errorf("NOTES.txt lacks %q:\n%s", want, rel.Info.Notes)
		}
	}
	rel, err = dryRunInstall(t, "gatewayClass.create=true", "gatewayClass.name=llm")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rel.Info.Notes, "kubectl get gatewayclass llm") {
		t.Errorf("NOTES.txt with gatewayClass.create does not name the class:\n%s", rel.Info.Notes)
	}
	// The NOTES point at files that exist at the tagged release.
	for _, f := range []string{"config/samples/inferencegatewayparameters.yaml", "config/samples/gatewayclass.yaml"} {
		if _, err := os.Stat(filepath.Join(repoRoot(), f)); err != nil {
			t.Errorf("NOTES.txt names %s: %v", f, err)
		}
	}
}
