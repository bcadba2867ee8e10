//go:build conformance

package gatewayapi

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/gateway-api/conformance"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/tests"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/yaml"

	"github.com/inferencepool-operator/inferencepool-operator/test/stack"
)

// options are the suite's defaults (its command-line flags apply: -run-test, -debug, ...) with
// the operator's GatewayClass, the features it claims under their profiles, this project as
// the implementation, clients that stand in for the absent data plane, the base resources left
// in place for the next run (the cluster is thrown away at the end), and one test at a time:
// several tests create Gateways that are invalid on purpose, which the suite's namespace-wide
// readiness wait skips by their annotation, but not their generated <name>-eg Gateways, so a
// test waiting for readiness while another holds one would wait until it is gone.
func options(t *testing.T, clients *noDataPlane) suite.ConformanceOptions {
	opts := conformance.DefaultOptions(t)
	opts.GatewayClassName = stack.ConformanceGatewayClass
	opts.CleanupBaseResources = false
	opts.DisableParallelTests = true
	opts.EnableAllSupportedFeatures = false
	opts.SupportedFeatures = claimedFeatures()
	opts.ConformanceProfiles = conformanceProfiles()
	opts.RoundTripper, opts.GRPCClient, opts.WebSocketDialer = clients, clients, clients
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

// runSuite sets the suite up and runs conformanceTests in a subtest "suite": the suite counts a
// run as finished when the test given to Run ends, and only then makes its report.
func runSuite(t *testing.T, s *suite.ConformanceTestSuite, conformanceTests []suite.ConformanceTest) {
	t.Run("suite", func(t *testing.T) {
		s.Setup(t, conformanceTests)
		require.NoError(t, s.Run(t, conformanceTests))
	})
}

// claimedStatusOnlyTests are the suite's tests that TestConformanceSuite runs: those of the
// claimed features that send no traffic.
func claimedStatusOnlyTests() []string {
	var names []string
	for _, name := range testsWithFeatures(sets.New(claimedFeatures()...)) {
		if !trafficTests.Has(name) {
			names = append(names, name)
		}
	}
	return names
}

// TestConformanceSuite runs the suite with the claimed features and the tests that need a data
// plane skipped, and writes the report to $GATEWAY_API_CONFORMANCE_REPORT. A test that sends a
// request without being listed in trafficTests fails. It runs only in the process
// TestConformance starts, which judges its report.
func TestConformanceSuite(t *testing.T) {
	if os.Getenv(suiteProcessEnv) != "1" {
		t.Skip("run by TestConformance, in a process of its own")
	}
	clients := newNoDataPlane(t.Name()+"/suite", func(t *testing.T, shortName string) {
		t.Fatalf("%s sent a request, which needs a data plane (there is none here): list it in trafficTests", shortName)
	})
	opts := options(t, clients)
	opts.SkipTests = append(opts.SkipTests, sets.List(trafficTests)...)
	opts.ReportOutputPath = os.Getenv("GATEWAY_API_CONFORMANCE_REPORT")
	s, err := suite.NewConformanceTestSuite(opts)
	require.NoError(t, err)
	runSuite(t, s, tests.ConformanceTests)

	report, err := s.Report()
	require.NoError(t, err)
	data, err := yaml.Marshal(report)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(opts.ReportOutputPath), 0o755))
	require.NoError(t, os.WriteFile(opts.ReportOutputPath, data, 0o644))
	for _, profile := range report.ProfileReports {
		t.Logf("%s: %s", profile.Name, profile.Summary)
	}
	t.Logf("report written to %s", opts.ReportOutputPath)
}

// TestTrafficTestsStatus runs each of trafficTests up to its first request, where it is
// skipped: every status assertion it makes before sending (route and Gateway conditions,
// listener statuses, addresses). Tests in statusOnlyChecks run their replacement instead, which
// sends where the test would. A listed test that passes without sending a request fails: it
// belongs in TestConformance.
func TestTrafficTestsStatus(t *testing.T) {
	if os.Getenv(suiteProcessEnv) == "1" {
		t.Skip("runs in the process with the cluster")
	}
	known := map[string]bool{}
	for _, test := range tests.ConformanceTests {
		known[test.ShortName] = true
	}
	for _, name := range sets.List(trafficTests) {
		require.True(t, known[name], "trafficTests lists %s, which is not a test of the suite", name)
	}

	clients := newNoDataPlane(t.Name()+"/suite", func(t *testing.T, shortName string) {
		t.Skipf("%s: every status assertion before its first request passed; the rest needs a data plane", shortName)
	})
	opts := options(t, clients)
	// No report from this run (TestConformance's is the report): without profiles the suite
	// claims exactly opts.SupportedFeatures, which hold the profiles' core features.
	opts.ConformanceProfiles = nil
	var run []suite.ConformanceTest
	for _, test := range tests.ConformanceTests {
		if !trafficTests.Has(test.ShortName) {
			opts.SkipTests = append(opts.SkipTests, test.ShortName)
		}
		if check, ok := statusOnlyChecks[test.ShortName]; ok {
			require.True(t, trafficTests.Has(test.ShortName), "statusOnlyChecks has %s, which is not in trafficTests", test.ShortName)
			test.Test = func(t *testing.T, s *suite.ConformanceTestSuite) {
				check(t, s, clients.traffic) // each send recorded, its (sub)test skipped
			}
		}
		run = append(run, test)
	}
	opts.Hook = func(t *testing.T, test suite.ConformanceTest, s *suite.ConformanceTestSuite) {
		if !trafficTests.Has(test.ShortName) || !s.SupportedFeatures.HasAll(test.Features...) || t.Failed() {
			return
		}
		if !clients.sentRequest(test.ShortName) {
			t.Errorf("%s passed without sending a request: it needs no data plane, so remove it from trafficTests for TestConformance to run it", test.ShortName)
		}
	}
	s, err := suite.NewConformanceTestSuite(opts)
	require.NoError(t, err)
	runSuite(t, s, run)
	ran := slices.DeleteFunc(slices.Clone(run), func(test suite.ConformanceTest) bool {
		return !trafficTests.Has(test.ShortName) || !s.SupportedFeatures.HasAll(test.Features...)
	})
	t.Logf("%d traffic tests of the claimed features checked up to their first request", len(ran))
}
