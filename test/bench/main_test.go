//go:build bench

package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

func init() {
	// The harness's watches log through controller-runtime; their messages are noise here.
	ctrllog.SetLogger(logr.Discard())
}

// TestBench is make bench: N pools (BENCH_N, default 1000) and the other BENCH_* knobs
// (config.go). It prints the table row of docs/performance.md and writes it, with the details,
// to $BENCH_DIR/report.md (default tmp/bench/).
func TestBench(t *testing.T) {
	cfg, err := ConfigFromEnv(filepath.Join(testenv.RepoRoot(), "tmp", "bench"))
	if err != nil {
		t.Fatal(err)
	}
	run(t, cfg)
}

// TestBenchSmall keeps the benchmark working in make test: a few pools and a short steady
// window. It asserts what must hold at any scale, never a time.
func TestBenchSmall(t *testing.T) {
	run(t, Config{Pools: 20, Steady: 3 * time.Second, IncrementPercent: 10, Dir: t.TempDir()})
}

func run(t *testing.T, cfg Config) {
	res, err := Run(t.Context(), cfg, func(format string, args ...any) {
		t.Logf("%s "+format, append([]any{time.Now().Format("15:04:05")}, args...)...)
	})
	if err != nil {
		t.Fatalf("benchmark (logs in %s): %v", cfg.Dir, err)
	}
	report := res.Table() + "\n" + res.Details()
	t.Log("\n" + report)
	if err := os.WriteFile(filepath.Join(cfg.Dir, "report.md"), []byte(report), 0o644); err != nil {
		t.Error(err)
	}

	// Every phase converged (Run fails otherwise); what follows must hold at any N.
	for name, s := range map[string]scale.WriteStats{
		"cold start": res.ColdWrites, "increment": res.IncrementWrites, "edit": res.EditWrites,
		// The raw writer writes each item once by construction: this checks the counting.
		"raw writer": res.RawWrites,
	} {
		if !s.Minimal() {
			t.Errorf("%s: writes are not minimal: %s", name, s)
		}
	}
	if res.ColdWrites.Objects == 0 || res.ColdWrites.Statuses == 0 || res.EditWrites.Objects == 0 || res.IncrementWrites.Objects == 0 {
		t.Errorf("a phase expected no writes: cold %s; increment %s; edit %s", res.ColdWrites, res.IncrementWrites, res.EditWrites)
	}
	if len(res.SteadyWrites) != 0 {
		t.Errorf("steady state: %d writes in %s, want none%s", len(res.SteadyWrites), res.Steady, listWrites(res.SteadyWrites))
	}
	if len(res.Unexpected) != 0 {
		t.Errorf("generated objects the translation does not expect: %v", res.Unexpected)
	}
	if res.PeakRSS == 0 {
		t.Error("no peak RSS measured")
	}
}
