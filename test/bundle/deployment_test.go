package bundle

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestManagerDeploymentIsHardened checks the manager Deployment that both install paths run (the
// one config/default renders and the one in the CSV): two replicas with leader election on, a
// non-root read-only container without capabilities or privilege escalation, resource requests
// and limits, liveness and readiness probes on the manager's probe port, and a selector that is
// ours alone.
func TestManagerDeploymentIsHardened(t *testing.T) {
	var fromConfig []*appsv1.Deployment
	for _, u := range render(t, "config/default") {
		if u.GetKind() == "Deployment" {
			d := &appsv1.Deployment{}
			mustConvert(t, u, d)
			fromConfig = append(fromConfig, d)
		}
	}
	if len(fromConfig) != 1 {
		t.Fatalf("config/default renders %d Deployments, want 1", len(fromConfig))
	}
	checkDeployment(t, "config/default", fromConfig[0].Spec)

	csv := committedCSV(t)
	for _, d := range csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
		checkDeployment(t, "CSV "+d.Name, d.Spec)
		if d.Name != fromConfig[0].Name {
			t.Errorf("CSV deployment %q, config/default deployment %q", d.Name, fromConfig[0].Name)
		}
	}
}

func checkDeployment(t *testing.T, what string, spec appsv1.DeploymentSpec) {
	t.Helper()
	if spec.Replicas == nil || *spec.Replicas != 2 {
		t.Errorf("%s: replicas %v, want 2", what, spec.Replicas)
	}
	if spec.Selector == nil || spec.Selector.MatchLabels["app.kubernetes.io/name"] != "inferencepool-operator" {
		t.Errorf("%s: selector %v does not name the operator", what, spec.Selector)
	}
	pod := spec.Template.Spec
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext %+v, want runAsNonRoot and the RuntimeDefault seccomp profile", what, psc)
	}
	var manager *corev1.Container
	for i := range pod.Containers {
		if pod.Containers[i].Name == "manager" {
			manager = &pod.Containers[i]
		}
	}
	if manager == nil {
		t.Fatalf("%s: no manager container", what)
	}
	sc := manager.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 ||
		(sc.Privileged != nil && *sc.Privileged) {
		t.Errorf("%s: manager securityContext %+v is not non-root, read-only, unprivileged with all capabilities dropped", what, sc)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := manager.Resources.Requests[r]
		lim, hasLim := manager.Resources.Limits[r]
		if !hasReq || !hasLim || req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %v limit %v, want both, request <= limit", what, r, req.String(), lim.String())
		}
	}
	if !slices.Contains(manager.Args, "--leader-elect") && !slices.Contains(manager.Args, "--leader-elect=true") {
		t.Errorf("%s: args %v do not turn leader election on", what, manager.Args)
	}
	// The probes must hit the port the manager serves them on (--health-probe-bind-address).
	probeAddr := ""
	for _, a := range manager.Args {
		if v, ok := strings.CutPrefix(a, "--health-probe-bind-address="); ok {
			probeAddr = v
		}
	}
	for name, p := range map[string]*corev1.Probe{"liveness": manager.LivenessProbe, "readiness": manager.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", what, name)
			continue
		}
		port := p.HTTPGet.Port.IntValue()
		for _, cp := range manager.Ports {
			if p.HTTPGet.Port.Type == intstr.String && cp.Name == p.HTTPGet.Port.StrVal {
				port = int(cp.ContainerPort)
			}
		}
		if want := ":" + strconv.Itoa(port); port == 0 || probeAddr != want {
			t.Errorf("%s: %s probe goes to port %s (%d); the manager serves probes on %q", what, name, p.HTTPGet.Port.String(), port, probeAddr)
		}
	}
}
