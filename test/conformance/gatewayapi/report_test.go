//go:build conformance

package gatewayapi

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/sets"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/tests"
	"sigs.k8s.io/gateway-api/pkg/features"
	"sigs.k8s.io/yaml"
)

// TestConformance runs TestConformanceSuite in a test process of its own, on this package's
// cluster, and judges the report it writes (to $GATEWAY_API_CONFORMANCE_REPORT, else a
// temporary file). A process of its own because the suite's known failures fail their Go
// tests, which no test can expect in-process: the process's exit status is left aside, and the
// report must show exactly knownFailures failed, the claimed traffic tests skipped, and every
// other claimed test passed.
func TestConformance(t *testing.T) {
	if os.Getenv(suiteProcessEnv) == "1" {
		t.Skip("runs in the process with the cluster")
	}
	reportPath := os.Getenv("GATEWAY_API_CONFORMANCE_REPORT")
	if reportPath == "" {
		reportPath = filepath.Join(t.TempDir(), "report.yaml")
	}
	require.NoError(t, os.MkdirAll(filepath.Dir(reportPath), 0o755))
	// A report left from an earlier run must not be judged.
	if err := os.Remove(reportPath); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	args := []string{"-test.run=^TestConformanceSuite$", "-test.count=1", "-test.timeout=30m"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	// The suite's own flags (-run-test, -debug, ...) given to this process.
	for _, arg := range os.Args[1:] {
		if !strings.HasPrefix(strings.TrimLeft(arg, "-"), "test.") {
			args = append(args, arg)
		}
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), suiteProcessEnv+"=1", "GATEWAY_API_CONFORMANCE_REPORT="+reportPath)
	// Its lines are prefixed: its "--- FAIL" lines (the known failures) are not this process's
	// results, and go test -json would read them as such.
	out := &linePrefixer{w: os.Stdout, prefix: []byte("suite process| ")}
	cmd.Stdout, cmd.Stderr = out, out
	runErr := cmd.Run()

	data, err := os.ReadFile(reportPath)
	require.NoError(t, err, "the suite's process (%v) wrote no report", runErr)
	var report confv1.ConformanceReport
	require.NoError(t, yaml.Unmarshal(data, &report))
	judgeReport(t, report)
	// The suite writes the profiles in no fixed order: sorted, the committed report changes
	// only where a result does.
	require.NoError(t, writeSorted(reportPath, report))
	t.Logf("report %s: %d known failures, the suite's process: %v", reportPath, len(knownFailures), runErr)
}

// writeSorted writes report to path with its profiles sorted by name.
func writeSorted(path string, report confv1.ConformanceReport) error {
	slices.SortFunc(report.ProfileReports, func(a, b confv1.ProfileReport) int { return strings.Compare(a.Name, b.Name) })
	data, err := yaml.Marshal(report)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// judgeReport checks the report shows one profile per route kind, exactly knownFailures failed,
// exactly the claimed traffic tests skipped, and at least every other claimed status-only
// test passed (a test whose features span several profiles counts in each).
func judgeReport(t *testing.T, report confv1.ConformanceReport) {
	t.Helper()
	require.Len(t, report.ProfileReports, len(routeKinds), "one profile report per route kind")
	failed, skipped, passed := sets.New[string](), sets.New[string](), 0
	for _, profile := range report.ProfileReports {
		t.Logf("%s: %s", profile.Name, profile.Summary)
		statuses := []confv1.Status{profile.Core}
		if profile.Extended != nil {
			statuses = append(statuses, profile.Extended.Status)
		}
		for _, status := range statuses {
			failed.Insert(status.FailedTests...)
			skipped.Insert(status.SkippedTests...)
			passed += int(status.Passed)
		}
	}
	require.Equal(t, sets.List(sets.KeySet(knownFailures)), sets.List(failed),
		"failed tests (a known failure that passes now leaves knownFailures)")
	claimed := sets.New(claimedFeatures()...)
	wantSkipped := sets.New[string]()
	for _, test := range testsWithFeatures(claimed) {
		if trafficTests.Has(test) {
			wantSkipped.Insert(test)
		}
	}
	require.Equal(t, sets.List(wantSkipped), sets.List(skipped), "skipped tests: the claimed traffic tests")
	require.GreaterOrEqual(t, passed, len(claimedStatusOnlyTests())-len(knownFailures), "passed tests")
}

// testsWithFeatures are the names of the suite's tests that need only features of claimed.
func testsWithFeatures(claimed sets.Set[features.FeatureName]) []string {
	var names []string
	for _, test := range tests.ConformanceTests {
		if claimed.HasAll(test.Features...) {
			names = append(names, test.ShortName)
		}
	}
	return names
}

// linePrefixer writes to w with prefix at the start of every line.
type linePrefixer struct {
	w       io.Writer
	prefix  []byte
	midLine bool
}

func (p *linePrefixer) Write(b []byte) (int, error) {
	n := len(b)
	var buf []byte
	for len(b) > 0 {
		if !p.midLine {
			buf = append(buf, p.prefix...)
		}
		line, rest, found := bytes.Cut(b, []byte("\n"))
		buf = append(buf, line...)
		if found {
			buf = append(buf, '\n')
		}
		p.midLine = !found
		b = rest
	}
	if _, err := p.w.Write(buf); err != nil {
		return 0, err
	}
	return n, nil
}

func TestLinePrefixer(t *testing.T) {
	var got bytes.Buffer
	p := &linePrefixer{w: &got, prefix: []byte("> ")}
	for _, chunk := range []string{"a\nb", "c\n", "\n", "d"} {
		n, err := p.Write([]byte(chunk))
		require.NoError(t, err)
		require.Equal(t, len(chunk), n)
	}
	require.Equal(t, "> a\n> bc\n> \n> d", got.String())
}
