//go:build bench

package bench

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// Table renders the result as the row of docs/performance.md's table, with its header.
func (r *Result) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| N pools | operator converges | sequential raw writer | ratio | per pool (operator / raw) | peak RSS | writes | steady-state writes | +%d%% pools: lag p50 / p99 / max (all) | one edit propagates |\n", r.IncrementPercent)
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	writes := "1 per object + 1 per status (minimal)"
	if !r.ColdWrites.Minimal() {
		writes = r.ColdWrites.String()
	} else if n := len(r.ColdWrites.Rejected); n > 0 {
		writes += fmt.Sprintf(", %d rejected", n)
	}
	fmt.Fprintf(&b, "| %d | %s | %s | %.2f | %s / %s | %s | %s | %d in %s | %s / %s / %s (%s) | %s |\n",
		r.Pools, secs(r.Operator), secs(r.Raw), r.Operator.Seconds()/r.Raw.Seconds(),
		millis(r.Operator/time.Duration(r.Pools)), millis(r.Raw/time.Duration(r.Pools)), mib(r.PeakRSS),
		writes, len(r.SteadyWrites), secs(r.Steady),
		secs(percentile(r.IncrementLags, 50)), secs(percentile(r.IncrementLags, 99)), secs(percentile(r.IncrementLags, 100)), secs(r.IncrementTotal),
		secs(r.Edit))
	return b.String()
}

// Details are the figures behind the table row.
func (r *Result) Details() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, "- "+format+"\n", args...) }
	p("inputs: %d pools (%d objects, %d endpoints), created in %s on each API server",
		r.Pools, len(scale.SharedInputs())+r.Pools*len(scale.PoolInputs(0)), r.Pools*(scale.ModelEndpoints+1), secs(r.Setup))
	p("expected: %d generated objects and %d statuses", r.Objects, r.Statuses)
	p("operator cold start: %s (%.1f ms per pool), writes %s", secs(r.Operator), ms(r.Operator)/float64(r.Pools), r.ColdWrites)
	p("sequential raw writer: %s (%.1f ms per pool), writes %s", secs(r.Raw), ms(r.Raw)/float64(r.Pools), r.RawWrites)
	p("steady state: %d writes in %s%s", len(r.SteadyWrites), secs(r.Steady), listWrites(r.SteadyWrites))
	p("edit (targetPort): shadow Service in %s, every output in %s; writes %s", secs(r.Edit), secs(r.EditAll), r.EditWrites)
	p("increment: %d pools, lag p50 %s, p99 %s, max %s, all in %s (the harness's translation took %s of it); writes %s", r.Increment,
		secs(percentile(r.IncrementLags, 50)), secs(percentile(r.IncrementLags, 99)), secs(percentile(r.IncrementLags, 100)),
		secs(r.IncrementTotal), secs(r.IncrementTranslate), r.IncrementWrites)
	p("operator work: %s reconciles until cold-start convergence, %s more until the end of the steady window, %.0f still queued then; idle (no work queued or running) %s after convergence",
		r.ColdReconciles, r.SteadyReconciles, r.QueuedAfterSteady, secs(r.IdleAfter))
	p("operator CPU: %s during the cold start (%.2f cores on average), %s more after it (until idle or the end of the steady window, whichever came later)",
		secs(r.ColdCPU), r.ColdCPU.Seconds()/r.Operator.Seconds(), secs(r.AfterCPU))
	limit := "the default (auto: no container limit here, so none)"
	if r.GoMemoryLimit != "" {
		limit = r.GoMemoryLimit
	}
	p("operator memory: peak RSS %s (%s at cold-start convergence); --go-memory-limit %s", mib(r.PeakRSS), mib(r.ColdRSS), limit)
	p("machine: %d cores; 1-minute load average %s → %s during the raw writer, %s → %s during the cold start",
		runtime.NumCPU(), r.RawLoad[0], r.RawLoad[1], r.ColdLoad[0], r.ColdLoad[1])
	if len(r.Unexpected) > 0 {
		p("unexpected generated objects: %v", r.Unexpected)
	}
	for _, f := range r.Profiles {
		p("profile: %s", f)
	}
	return b.String()
}

func listWrites(ws []scale.Write) string {
	if len(ws) == 0 {
		return ""
	}
	var out []string
	for _, w := range ws[:min(5, len(ws))] {
		out = append(out, w.Verb+" "+w.Target)
	}
	return ", e.g. " + strings.Join(out, ", ")
}

// percentile returns the p-th percentile (nearest rank) of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func secs(d time.Duration) string {
	if d == d.Truncate(time.Second) {
		return fmt.Sprintf("%.0f s", d.Seconds())
	}
	if d < 10*time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func millis(d time.Duration) string { return fmt.Sprintf("%.1f ms", ms(d)) }

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
