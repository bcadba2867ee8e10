package envtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
)

// prometheusOperatorModule pins Prometheus Operator for its CRDs only, in a module of its own
// (hack/tools/prometheus-operator) so that its dependencies never enter the operator's go.mod.
const prometheusOperatorModule = "github.com/prometheus-operator/prometheus-operator"

// PrometheusOperatorCRDPaths returns the ServiceMonitor and PrometheusRule CRDs of the Prometheus
// Operator version hack/tools/prometheus-operator pins, from the module cache (downloaded on first
// use and checked against that module's go.sum): what the chart's and config/prometheus's
// monitoring objects need.
func PrometheusOperatorCRDPaths() ([]string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", prometheusOperatorModule)
	cmd.Dir = filepath.Join(RepoRoot(), "hack", "tools", "prometheus-operator")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go mod download %s: %v: %s%s", prometheusOperatorModule, err, stderr.String(), out)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return nil, fmt.Errorf("go mod download %s: %w", prometheusOperatorModule, err)
	}
	if mod.Error != "" || mod.Dir == "" {
		return nil, fmt.Errorf("go mod download %s: %s", prometheusOperatorModule, mod.Error)
	}
	dir := filepath.Join(mod.Dir, "example", "prometheus-operator-crd")
	return []string{
		filepath.Join(dir, "monitoring.coreos.com_servicemonitors.yaml"),
		filepath.Join(dir, "monitoring.coreos.com_prometheusrules.yaml"),
	}, nil
}
