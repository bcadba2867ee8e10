package helm

import (
	"testing"

	"github.com/inferencepool-operator/inferencepool-operator/test/installtest"
)

// TestChartDeploymentIsHardened checks the chart's Deployment, with its defaults and with every
// optional part on, with the same assertions as the kustomize and OLM Deployments (test/bundle).
func TestChartDeploymentIsHardened(t *testing.T) {
	installtest.CheckDeployment(t, "chart defaults", deployment(t, render(t)).Spec)
	installtest.CheckDeployment(t, "chart with every optional part", deployment(t, render(t, allOptional...)).Spec)
}

// TestChartArgsAreManagerFlags runs the manager binary with the arguments the chart gives it, with
// the defaults and with every flag value changed: every one must be a flag of the manager with a
// valid value. A flag renamed in cmd/main.go fails here.
func TestChartArgsAreManagerFlags(t *testing.T) {
	sets := map[string][]string{}
	for what, set := range map[string][]string{"defaults": nil, "non-default values": customValues} {
		sets["chart "+what] = installtest.ManagerContainer(t, what, deployment(t, render(t, set...)).Spec).Args
	}
	installtest.CheckArgsAreManagerFlags(t, sets)
}
