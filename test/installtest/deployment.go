package installtest

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// CheckDeployment checks the manager Deployment of an install path (what names it): two replicas
// with leader election on, a non-root read-only container without capabilities or privilege
// escalation, resource requests and limits, liveness and readiness probes on the manager's probe
// port, and a selector that is ours alone.
func CheckDeployment(t testing.TB, what string, spec appsv1.DeploymentSpec) {
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
	manager := ManagerContainer(t, what, spec)
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

// ManagerContainer returns the container named manager, failing the test when there is none.
func ManagerContainer(t testing.TB, what string, spec appsv1.DeploymentSpec) *corev1.Container {
	t.Helper()
	for i := range spec.Template.Spec.Containers {
		if spec.Template.Spec.Containers[i].Name == "manager" {
			return &spec.Template.Spec.Containers[i]
		}
	}
	t.Fatalf("%s: no manager container", what)
	return nil
}
