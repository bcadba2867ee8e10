package helm

import (
	"testing"

	"github.com/inferencepool-operator/inferencepool-operator/hack/helmchart/chartgen"
	"github.com/inferencepool-operator/inferencepool-operator/test/installtest"
)

// TestChartIsUpToDate fails when `make helm` would change the committed chart: a generated file
// (crds/, templates/rbac/, templates/prometheusrule.yaml) differs, is missing, or is left over.
// Any change to config/crd, config/rbac (the RBAC markers' role.yaml) or
// config/prometheus/prometheus_rule.yaml must come with a regenerated chart.
func TestChartIsUpToDate(t *testing.T) {
	want, err := chartgen.Generate(repoRoot())
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 3 {
		t.Fatalf("generated only %v", want.Paths())
	}
	installtest.CheckGeneratedFiles(t, want, chartgen.GeneratedDirs, nil,
		"run `"+chartgen.RegenerateCommand+"` and commit "+chartgen.ChartDir)
}

// TestChartGenerationIsDeterministic: two runs give the same bytes (no timestamps, no map order).
func TestChartGenerationIsDeterministic(t *testing.T) {
	installtest.CheckDeterministic(t, func() (map[string][]byte, error) { return chartgen.Generate(repoRoot()) })
}
