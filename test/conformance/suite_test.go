//go:build conformance

package conformance

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	confsuite "sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/yaml"

	gie "sigs.k8s.io/gateway-api-inference-extension/conformance"
	"sigs.k8s.io/gateway-api-inference-extension/conformance/tests"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// statusOnlyTests are the suite's tests that check statuses only, so they can pass without a
// data plane.
var statusOnlyTests = []string{"HTTPRouteInvalidInferencePoolRef", "InferencePoolAccepted", "InferencePoolMissingEPPRef"}

// trafficTests returns the suite's other tests, which send requests through the Gateway. It
// fails the test when the suite does not hold the 14 tests of v1.6.0, so a different suite
// version cannot silently change what runs here.
func trafficTests(t *testing.T) []string {
	t.Helper()
	var names, statusOnly []string
	for _, test := range tests.ConformanceTests {
		if slices.Contains(statusOnlyTests, test.ShortName) {
			statusOnly = append(statusOnly, test.ShortName)
			continue
		}
		names = append(names, test.ShortName)
	}
	if len(tests.ConformanceTests) != 14 || len(statusOnly) != len(statusOnlyTests) {
		t.Fatalf("the suite has %d tests (want v1.6.0's 14) with status-only tests %v (want %v)",
			len(tests.ConformanceTests), statusOnly, statusOnlyTests)
	}
	return names
}

// options are the suite's defaults (its command-line flags apply: -run-test, -debug, ...) with
// the operator's GatewayClass, this project as the implementation, and the base resources left
// in place for TestTrafficTestsStatus (the cluster is thrown away at the end).
func options(t *testing.T) confsuite.ConformanceOptions {
	opts := gie.DefaultOptions(t)
	opts.GatewayClassName = GatewayClassName
	opts.CleanupBaseResources = false
	version := os.Getenv("CONFORMANCE_IMPLEMENTATION_VERSION")
	if version == "" {
		version = "dev"
	}
	opts.Implementation = confv1.Implementation{
		Organization: "inferencepool-operator",
		Project:      "inferencepool-operator",
		URL:          "https://github.com/inferencepool-operator/inferencepool-operator",
		Version:      version,
		Contact:      []string{"https://github.com/inferencepool-operator/inferencepool-operator/issues"},
	}
	return opts
}

// TestConformance runs the GIE v1.6.0 suite, as its own TestConformance does, with the eleven
// tests that need a data plane skipped, and writes the report to $CONFORMANCE_REPORT (or the
// suite's -report-output flag). The report must show the three status-only tests passed and the
// others skipped.
//
// It must run before TestTrafficTestsStatus in the same process (file order guarantees it):
// the suite registers its conformance profile once per process.
func TestConformance(t *testing.T) {
	opts := options(t)
	opts.SkipTests = append(opts.SkipTests, trafficTests(t)...)
	if opts.ReportOutputPath == "" {
		opts.ReportOutputPath = os.Getenv("CONFORMANCE_REPORT")
	}
	if opts.ReportOutputPath != "" {
		if err := os.MkdirAll(filepath.Dir(opts.ReportOutputPath), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	gie.RunConformanceWithOptions(t, opts)

	if opts.ReportOutputPath == "" || t.Failed() {
		return
	}
	data, err := os.ReadFile(opts.ReportOutputPath)
	if err != nil {
		t.Fatal(err)
	}
	var report gie.GatewayAPIInferenceExtensionConformanceReport
	if err := yaml.Unmarshal(data, &report); err != nil {
		t.Fatal(err)
	}
	if report.GatewayAPIInferenceExtensionVersion != translate.InferenceExtensionVersion || len(report.ProfileReports) != 1 {
		t.Fatalf("report for GIE %q with %d profiles, want %s and the Gateway profile", report.GatewayAPIInferenceExtensionVersion, len(report.ProfileReports), translate.InferenceExtensionVersion)
	}
	core := report.ProfileReports[0].Core
	if core.Statistics.Passed != 3 || core.Statistics.Failed != 0 || core.Statistics.Skipped != 11 {
		t.Errorf("report statistics %+v, want 3 passed, 0 failed, 11 skipped", core.Statistics)
	}
	t.Logf("report %s: %s (%+v)", opts.ReportOutputPath, report.ProfileReports[0].Summary, core.Statistics)
}
