package bundle

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/inferencepool-operator/inferencepool-operator/test/installtest"
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
	installtest.CheckDeployment(t, "config/default", fromConfig[0].Spec)

	csv := committedCSV(t)
	for _, d := range csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
		installtest.CheckDeployment(t, "CSV "+d.Name, d.Spec)
		if d.Name != fromConfig[0].Name {
			t.Errorf("CSV deployment %q, config/default deployment %q", d.Name, fromConfig[0].Name)
		}
	}
}
