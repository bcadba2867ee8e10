//go:build benche2e

package benche2e

import (
	"fmt"
	"strings"
	"time"
)

// Table is the end-to-end table of docs/performance.md: one row per N.
func Table(rs []*Result) string {
	var b strings.Builder
	b.WriteString("| N pools | hand-written | through the operator | ratio | floor | operator / floor | floor under EG | operator / floor under EG | EG CPU hand / operator | EG peak RSS hand / operator | operator CPU / peak RSS | xDS per pool hand / operator | new target port in xDS hand / operator | API writes per pool hand / operator |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		h, o := r.Hand, r.Operator
		hz, oz := h.Size.total()/r.Pools, o.Size.total()/r.Pools
		feg, fegRatio := "–", "–"
		if r.FloorEG != nil {
			feg, fegRatio = secs(r.FloorEG.XDS)+r.FloorEG.Raw.writersNote(), fmt.Sprintf("%.2f×", o.XDS.Seconds()/r.FloorEG.XDS.Seconds())
		}
		fmt.Fprintf(&b, "| %d | %.1f s | %.1f s | %.2f× | %.1f s | %.2f× | %s | %s | %.1f / %.1f s (%.2f×) | %s / %s (%.2f×) | %.1f s / %s | %s / %s (%.2f×) | %.2f / %.2f s | %.1f / %.1f |\n",
			r.Pools, h.XDS.Seconds(), o.XDS.Seconds(), o.XDS.Seconds()/h.XDS.Seconds(),
			r.FloorSeconds(), o.XDS.Seconds()/r.FloorSeconds(), feg, fegRatio,
			h.EGCPU.Seconds(), o.EGCPU.Seconds(), o.EGCPU.Seconds()/h.EGCPU.Seconds(),
			mib(h.EGPeak), mib(o.EGPeak), float64(o.EGPeak)/float64(h.EGPeak),
			o.OpCPU.Seconds(), mib(o.OpPeak),
			kib(hz), kib(oz), float64(oz)/float64(hz),
			h.Edit.Seconds(), o.Edit.Seconds(),
			float64(h.Writes.total(""))/float64(r.Pools), float64(o.Writes.total(""))/float64(r.Pools))
	}
	return b.String()
}

// FloorEGTable sets the floor under Envoy Gateway beside the quiet floor and the operator's way:
// what the same writes cost when Envoy Gateway loads the API server, and what the operator adds.
func FloorEGTable(rs []*Result) string {
	var b strings.Builder
	for _, r := range rs {
		f := r.FloorEG
		if f == nil {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("\n| N pools | quiet floor | floor under EG | operator | floor under EG / quiet floor | operator / floor under EG | operator − floor under EG | raw writer quiet / under EG (per write) | EG CPU hand / floor under EG / operator | API writes per pool floor under EG / operator |\n|---|---|---|---|---|---|---|---|---|---|\n")
		}
		o := r.Operator
		fmt.Fprintf(&b, "| %d | %.1f s | %.1f s%s | %.1f s | %.2f× | %.2f× | %.1f s | %.1f / %.1f s (%.1f / %.1f ms, %.2f×) | %.1f / %.1f / %.1f s | %.1f / %.1f |\n",
			r.Pools, r.FloorSeconds(), f.XDS.Seconds(), f.Raw.writersNote(), o.XDS.Seconds(),
			f.XDS.Seconds()/r.FloorSeconds(), o.XDS.Seconds()/f.XDS.Seconds(), o.XDS.Seconds()-f.XDS.Seconds(),
			r.Floor.RawWrites.Seconds(), f.Raw.RawWrites.Seconds(), perWrite(r.Floor.RawWrites, r.Floor.Objects+r.Floor.Statuses),
			perWrite(f.Raw.RawWrites, f.Raw.Objects+f.Raw.Statuses),
			perWrite(f.Raw.RawWrites, f.Raw.Objects+f.Raw.Statuses)/perWrite(r.Floor.RawWrites, r.Floor.Objects+r.Floor.Statuses),
			r.Hand.EGCPU.Seconds(), f.EGCPU.Seconds(), o.EGCPU.Seconds(),
			float64(f.Writes.total(""))/float64(r.Pools), float64(o.Writes.total(""))/float64(r.Pools))
	}
	return b.String()
}

// writersNote names the raw writers of the floor under Envoy Gateway when there are several.
func (r rawResult) writersNote() string {
	if r.Writers <= 1 {
		return ""
	}
	return fmt.Sprintf(" (%d writers)", r.Writers)
}

// perWrite is the mean time of one of n writes that took d, in milliseconds.
func perWrite(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return d.Seconds() * 1000 / float64(n)
}

// MatchedTable compares the operator configured like the hand-written set with the hand-written
// set, for the runs that measured it (empty when none did).
func MatchedTable(rs []*Result) string {
	var b strings.Builder
	for _, r := range rs {
		if r.Matched == nil {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("\n| N pools | hand-written | operator like hand-written | ratio | EG CPU (ratio) | EG peak RSS (ratio) | xDS per pool (ratio) | API writes per pool |\n|---|---|---|---|---|---|---|---|\n")
		}
		h, m := r.Hand, r.Matched
		hz, mz := h.Size.total()/r.Pools, m.Size.total()/r.Pools
		fmt.Fprintf(&b, "| %d | %.1f s | %.1f s | %.2f× | %.1f / %.1f s (%.2f×) | %s / %s (%.2f×) | %s / %s (%.2f×) | %.1f / %.1f |\n",
			r.Pools, h.XDS.Seconds(), m.XDS.Seconds(), m.XDS.Seconds()/h.XDS.Seconds(),
			h.EGCPU.Seconds(), m.EGCPU.Seconds(), m.EGCPU.Seconds()/h.EGCPU.Seconds(),
			mib(h.EGPeak), mib(m.EGPeak), float64(m.EGPeak)/float64(h.EGPeak),
			kib(hz), kib(mz), float64(mz)/float64(hz),
			float64(h.Writes.total(""))/float64(r.Pools), float64(m.Writes.total(""))/float64(r.Pools))
	}
	return b.String()
}

// Details are the measurements behind each row.
func Details(rs []*Result) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "\n### %d pools\n\n", r.Pools)
		fmt.Fprintf(&b, "- floor %.1f s = raw writer %.1f s (user objects %.1f s, then %d generated objects and %d statuses %.1f s) + Envoy Gateway's tail on the hand-written set %.1f s\n",
			r.FloorSeconds(), r.Floor.writes().Seconds(), r.Floor.UserWrites.Seconds(), r.Floor.Objects, r.Floor.Statuses, r.Floor.RawWrites.Seconds(), r.EGTail())
		for _, w := range []struct {
			name string
			res  *wayResult
		}{{handWritten.name, r.Hand}, {throughOperator.name, r.Operator}, {rawWithEG.name, r.FloorEG}, {likeHandWritten.name, r.Matched}} {
			if w.res == nil {
				continue
			}
			x := w.res
			fmt.Fprintf(&b, "- %s: last write %.1f s", w.name, x.LastWrite.Seconds())
			if raw := x.Raw; raw.Objects > 0 {
				fmt.Fprintf(&b, " (user objects %.1f s, %d writers; translating them %.2f s; then %d generated objects and %d statuses by %d raw writer(s) %.1f s, %.1f ms per write against %.1f ms on the quiet floor's API server), the raw writer's last generated object %.1f s",
					raw.UserWrites.Seconds(), r.writers, raw.Compute.Seconds(), raw.Objects, raw.Statuses, raw.Writers, raw.RawWrites.Seconds(),
					perWrite(raw.RawWrites, raw.Objects+raw.Statuses), perWrite(r.Floor.RawWrites, r.Floor.Objects+r.Floor.Statuses),
					x.OperatorObjects.Seconds())
			}
			if x.OurStatus > 0 {
				fmt.Fprintf(&b, ", the operator's last generated object %.1f s, our status on every route and pool %.1f s", x.OperatorObjects.Seconds(), x.OurStatus.Seconds())
			}
			fmt.Fprintf(&b, ", Envoy Gateway accepted everything %.1f s, every pool in xDS %.1f s; load %s → %s\n",
				x.Accepted.Seconds(), x.XDS.Seconds(), x.Load[0], x.Load[1])
			fmt.Fprintf(&b, "  - CPU to convergence: Envoy Gateway %.1f s", x.EGCPU.Seconds())
			if x.OpCPU > 0 {
				fmt.Fprintf(&b, ", operator %.1f s", x.OpCPU.Seconds())
			}
			fmt.Fprintf(&b, "; peak RSS: Envoy Gateway %s", mib(x.EGPeak))
			if x.OpPeak > 0 {
				fmt.Fprintf(&b, ", operator %s", mib(x.OpPeak))
			}
			b.WriteString("\n")
			z, n := x.Size, r.Pools
			fmt.Fprintf(&b, "  - xDS per pool: %s (clusters %s, endpoints %s, routes %s, listeners %s); in all %d clusters, %d endpoints, %d routes, %d HTTP filters; e.g. %v\n",
				kib(z.total()/n), kib(z.ClusterBytes/n), kib(z.EndpointBytes/n), kib(z.RouteBytes/n), kib(z.ListenerBytes/n),
				z.Clusters, z.Endpoints, z.Routes, z.HTTPFilters, z.FilterNames)
			fmt.Fprintf(&b, "  - writes (%d, %.1f per pool): %s\n", x.Writes.total(""), float64(x.Writes.total(""))/float64(n), x.Writes)
		}
	}
	return b.String()
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
func kib(b int) string    { return fmt.Sprintf("%.2f KiB", float64(b)/1024) }
