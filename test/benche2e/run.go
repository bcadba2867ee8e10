//go:build benche2e

package benche2e

import (
	"context"
	"io"
	"os"

	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// Result is one N's measurements: both ways and the floors.
type Result struct {
	Pools          int
	Hand, Operator *wayResult
	// FloorEG is the floor under Envoy Gateway: the operator way's writes, the operator's by one
	// sequential raw writer, on the operator way's cluster with Envoy Gateway (rawWithEG).
	FloorEG *wayResult
	// Matched is the operator configured like the hand-written set (Config.Matched), or nil.
	Matched *wayResult
	Floor   floorResult
	// writers is Config.Writers, for the report.
	writers int
}

// EGTail is Envoy Gateway's own time for the hand-written set: from the harness's last write
// to every pool in xDS.
func (r *Result) EGTail() float64 { return max(0, (r.Hand.XDS - r.Hand.LastWrite).Seconds()) }

// FloorSeconds is the floor of the operator's way: its writes made by one sequential writer,
// plus Envoy Gateway's own time for the hand-written set.
func (r *Result) FloorSeconds() float64 { return r.Floor.writes().Seconds() + r.EGTail() }

// Run measures every N of cfg, one after the other: the floor, then the hand-written way, the
// operator's and the floor under Envoy Gateway, each on a fresh cluster. logf reports progress; progress receives the
// components' start-up lines.
func Run(ctx context.Context, cfg Config, logf func(string, ...any)) ([]*Result, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	logf("building the operator")
	bin, err := scale.BuildOperator(ctx, cfg.Dir)
	if err != nil {
		return nil, err
	}
	var progress io.Writer = io.Discard
	var out []*Result
	for _, n := range cfg.Pools {
		r := &Result{Pools: n, writers: cfg.Writers}
		logf("%d pools: the floor's raw writer", n)
		if r.Floor, err = runFloor(ctx, n, progress); err != nil {
			return out, err
		}
		logf("%d pools: raw writer %s (user objects %s, generated objects and statuses %s)", n,
			secs(r.Floor.writes()), secs(r.Floor.UserWrites), secs(r.Floor.RawWrites))
		if r.Hand, err = runWay(ctx, cfg, n, handWritten, bin, progress, logf); err != nil {
			return out, err
		}
		if r.Operator, err = runWay(ctx, cfg, n, throughOperator, bin, progress, logf); err != nil {
			return out, err
		}
		if r.FloorEG, err = runWay(ctx, cfg, n, rawWithEG, bin, progress, logf); err != nil {
			return out, err
		}
		if cfg.Matched {
			if r.Matched, err = runWay(ctx, cfg, n, likeHandWritten, bin, progress, logf); err != nil {
				return out, err
			}
		}
		out = append(out, r)
	}
	return out, nil
}
