//go:build benche2e

package benche2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

func init() {
	// The harness's watches log through controller-runtime; their messages are noise here.
	ctrllog.SetLogger(logr.Discard())
}

// TestBenchE2E is make bench-e2e: BENCH_E2E_N pools (default 100, 300 and 1000) both ways. It
// prints the table of docs/performance.md and writes it, with the details, to
// $BENCH_E2E_DIR/report.md (default tmp/bench-e2e/).
func TestBenchE2E(t *testing.T) {
	cfg, err := ConfigFromEnv(filepath.Join(testenv.RepoRoot(), "tmp", "bench-e2e"))
	if err != nil {
		t.Fatal(err)
	}
	run(t, cfg)
}

// TestBenchE2ESmall keeps the benchmark working in make test: a few pools, every phase. It
// asserts what must hold at any scale (every phase completes, every pool is served, each
// way wrote what it must), never a time.
func TestBenchE2ESmall(t *testing.T) {
	run(t, Config{Pools: []int{10}, Dir: t.TempDir(), Writers: 8, GoMemoryLimit: "115Mi", FloorEGWriters: 1})
}

func run(t *testing.T, cfg Config) {
	rs, err := Run(t.Context(), cfg, func(format string, args ...any) {
		t.Logf("%s "+format, append([]any{time.Now().Format("15:04:05")}, args...)...)
	})
	report := Table(rs) + FloorEGTable(rs) + MatchedTable(rs) + Details(rs)
	t.Log("\n" + report)
	if werr := os.WriteFile(filepath.Join(cfg.Dir, "report.md"), []byte(report), 0o644); werr != nil {
		t.Error(werr)
	}
	if err != nil {
		t.Fatalf("benchmark (logs in %s): %v", cfg.Dir, err)
	}
	for _, r := range rs {
		n := r.Pools
		for name, w := range map[string]*wayResult{"hand-written": r.Hand, "operator": r.Operator, "raw writer with Envoy Gateway": r.FloorEG, "operator like hand-written": r.Matched} {
			if w == nil {
				continue
			}
			if w.XDS <= 0 || w.Accepted <= 0 || (w.Edit <= 0 && w != r.FloorEG) {
				t.Errorf("%d pools %s: a phase has no time: %+v", n, name, w)
			}
			if w.Size.Routes < n || w.Size.Clusters < n {
				t.Errorf("%d pools %s: xDS has %d routes and %d clusters, want at least one each per pool", n, name, w.Size.Routes, w.Size.Clusters)
			}
			if w.Writes.total("envoy-gateway") < n {
				t.Errorf("%d pools %s: Envoy Gateway wrote %d statuses, want at least one per pool", n, name, w.Writes.total("envoy-gateway"))
			}
		}
		if r.Operator.OurStatus <= 0 {
			t.Errorf("%d pools: the operator's statuses were not timed", n)
		}
		// Per pool the operator applies five objects (route, Service, two policies, Backend)
		// and two statuses; its way cannot have written less.
		if got := r.Operator.Writes.total("operator"); got < 7*n {
			t.Errorf("%d pools: the operator wrote %d times, want at least %d", n, got, 7*n)
		}
		if r.Floor.Objects < 5*n || r.Floor.Statuses < 2*n {
			t.Errorf("%d pools: the raw writer wrote %d objects and %d statuses, want at least %d and %d", n, r.Floor.Objects, r.Floor.Statuses, 5*n, 2*n)
		}
		// Under Envoy Gateway the raw writer writes what it writes on the quiet floor: the same
		// translation of the same inputs.
		if f := r.FloorEG; f == nil {
			t.Errorf("%d pools: the floor under Envoy Gateway was not measured", n)
		} else {
			if f.Raw.Objects != r.Floor.Objects || f.Raw.Statuses != r.Floor.Statuses {
				t.Errorf("%d pools: under Envoy Gateway the raw writer wrote %d objects and %d statuses, on the quiet floor %d and %d", n, f.Raw.Objects, f.Raw.Statuses, r.Floor.Objects, r.Floor.Statuses)
			}
			if got := f.Writes.total("raw writer"); got < f.Raw.Objects+f.Raw.Statuses {
				t.Errorf("%d pools: the audit log has %d writes of the raw writer under Envoy Gateway, want at least %d", n, got, f.Raw.Objects+f.Raw.Statuses)
			}
			if got := f.Writes.total("operator"); got != 0 {
				t.Errorf("%d pools: %d writes of the operator in the way without it", n, got)
			}
		}
	}
}
