package scale

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inferencepool-operator/inferencepool-operator/test/kit"
)

// ControllerStats are the operator's controller-runtime metrics, per controller: how much work
// it did and has queued. "Converged" (every output written) does not mean idle: events from the
// operator's own writes keep reconciles queued after the last write, and an edit waits behind them.
type ControllerStats struct {
	// Reconciles counts controller_runtime_reconcile_total over every result.
	Reconciles map[string]float64
	// Queued is workqueue_depth, Busy controller_runtime_active_workers.
	Queued, Busy map[string]float64
}

// idle tells whether no controller has queued or running work.
func (s ControllerStats) idle() bool {
	for _, m := range []map[string]float64{s.Queued, s.Busy} {
		for _, v := range m {
			if v != 0 {
				return false
			}
		}
	}
	return true
}

// Since are the reconciles of s after prev: the total, then per controller that had any.
func (s ControllerStats) Since(prev ControllerStats) string {
	var out []string
	total := 0.0
	for _, c := range slices.Sorted(maps.Keys(s.Reconciles)) {
		n := s.Reconciles[c] - prev.Reconciles[c]
		total += n
		if n != 0 {
			out = append(out, fmt.Sprintf("%s %.0f", c, n))
		}
	}
	return fmt.Sprintf("%.0f (%s)", total, strings.Join(out, ", "))
}

// QueuedTotal is the total of the work queues' depths.
func (s ControllerStats) QueuedTotal() float64 {
	total := 0.0
	for _, v := range s.Queued {
		total += v
	}
	return total
}

// ControllerStats scrapes the operator's metrics endpoint.
func (op *OperatorProcess) ControllerStats(ctx context.Context) (ControllerStats, error) {
	s := ControllerStats{Reconciles: map[string]float64{}, Queued: map[string]float64{}, Busy: map[string]float64{}}
	err := op.scrape(ctx, func(name, controller string, value float64) {
		switch name {
		case "controller_runtime_reconcile_total":
			s.Reconciles[controller] += value
		case "workqueue_depth":
			s.Queued[controller] = value
		case "controller_runtime_active_workers":
			s.Busy[controller] = value
		}
	})
	return s, err
}

// Leader tells whether the operator leads: its leader_election_master_status is 1.
func (op *OperatorProcess) Leader(ctx context.Context) (bool, error) {
	leader := false
	err := op.scrape(ctx, func(name, _ string, value float64) {
		if name == "leader_election_master_status" {
			leader = value == 1
		}
	})
	return leader, err
}

// scrape reads the operator's metrics endpoint and passes each sample to sample.
func (op *OperatorProcess) scrape(ctx context.Context, sample func(name, controller string, value float64)) error {
	resp, err := kit.Get(ctx, "http://"+op.metrics+"/metrics", false)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if name, controller, value, ok := parseSample(sc.Text()); ok {
			sample(name, controller, value)
		}
	}
	return sc.Err()
}

// parseSample reads a Prometheus text-format sample: its name, its controller (or name) label
// and its value.
func parseSample(line string) (name, controller string, value float64, ok bool) {
	if strings.HasPrefix(line, "#") {
		return "", "", 0, false
	}
	open, end := strings.IndexByte(line, '{'), strings.LastIndexByte(line, '}')
	if open < 0 || end < open {
		return "", "", 0, false
	}
	name = line[:open]
	for _, label := range strings.Split(line[open+1:end], ",") {
		k, v, _ := strings.Cut(label, "=")
		if k == "controller" || (k == "name" && controller == "") {
			controller = strings.Trim(v, `"`)
		}
	}
	value, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
	return name, controller, value, err == nil
}

// WaitIdle polls the operator's metrics (4 times a second) until no controller has work queued
// or running, twice in a row, and returns the first of those two times and the stats then.
func (op *OperatorProcess) WaitIdle(ctx context.Context, timeout time.Duration) (time.Time, ControllerStats, error) {
	deadline := time.Now().Add(timeout)
	var idleSince time.Time
	for {
		at := time.Now()
		s, err := op.ControllerStats(ctx)
		if err != nil {
			return time.Time{}, s, err
		}
		switch {
		case !s.idle():
			idleSince = time.Time{}
		case idleSince.IsZero():
			idleSince = at
		default:
			return idleSince, s, nil
		}
		if at.After(deadline) {
			return time.Time{}, s, fmt.Errorf("the operator still has %.0f reconciles queued after %s", s.QueuedTotal(), timeout)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, s, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
