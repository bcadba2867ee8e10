//go:build bench

package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// settle separates the phases: writes in flight when a phase converges land in that phase's
// count (a redundant write right after convergence shows as a second write), not in the next.
const settle = time.Second

// Run runs the benchmark. logf reports progress.
func Run(ctx context.Context, cfg Config, logf func(string, ...any)) (*Result, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	res := &Result{Pools: cfg.Pools, Steady: cfg.Steady, IncrementPercent: cfg.IncrementPercent, Increment: cfg.increment(), GoMemoryLimit: cfg.GoMemoryLimit}

	// The operator's binary and both API servers, at once.
	logf("building the operator and starting two API servers")
	var (
		bin      string
		op, raw  *server
		wg       sync.WaitGroup
		startErr [3]error
	)
	wg.Add(3)
	go func() { defer wg.Done(); bin, startErr[0] = scale.BuildOperator(ctx, cfg.Dir) }()
	go func() { defer wg.Done(); op, startErr[1] = startServer(ctx, cfg.Dir, "operator") }()
	go func() { defer wg.Done(); raw, startErr[2] = startServer(ctx, cfg.Dir, "raw") }()
	wg.Wait()
	defer func() {
		for _, s := range []*server{op, raw} {
			if s != nil {
				_ = s.stop()
			}
		}
	}()
	if err := errors.Join(startErr[:]...); err != nil {
		return nil, err
	}
	opAdmin, err := op.client()
	if err != nil {
		return nil, err
	}
	rawAdmin, err := raw.client()
	if err != nil {
		return nil, err
	}

	logf("creating the inputs of %d pools on both API servers", cfg.Pools)
	start := time.Now()
	var setupErr [2]error
	wg.Add(2)
	go func() { defer wg.Done(); setupErr[0] = scale.CreateInputs(ctx, opAdmin, cfg.Pools) }()
	go func() { defer wg.Done(); setupErr[1] = scale.CreateInputs(ctx, rawAdmin, cfg.Pools) }()
	wg.Wait()
	if err := errors.Join(setupErr[:]...); err != nil {
		return nil, err
	}
	res.Setup = time.Since(start)

	if err := runRaw(ctx, raw, rawAdmin, res, logf); err != nil {
		return nil, err
	}
	if err := raw.stop(); err != nil {
		return nil, err
	}
	return res, runOperator(ctx, cfg, op, opAdmin, bin, res, logf)
}

// operatorRun is the operator's part of a run.
type operatorRun struct {
	cfg   Config
	admin client.Client
	tr    *scale.Tracker
	op    *scale.OperatorProcess
	res   *Result
	logf  func(string, ...any)
}

// runOperator measures the operator: cold start, steady state, edit, increment, memory. Each
// phase ends a moment (settle) after it converged; the audit log is split at those times.
func runOperator(ctx context.Context, cfg Config, s *server, admin client.Client, bin string, res *Result, logf func(string, ...any)) error {
	resource, err := scale.Resources(admin)
	if err != nil {
		return err
	}
	trackCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &operatorRun{cfg: cfg, admin: admin, res: res, logf: logf}
	if r.tr, err = scale.StartTracker(trackCtx, s.admin); err != nil {
		return err
	}
	// What the cold start must write is known before the operator starts: the harness's
	// translation does not compete with it for the cores.
	cold, err := r.expectNow(ctx)
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(cfg.Dir, "operator.kubeconfig")
	if err := s.writeKubeconfig(operatorUser, kubeconfig); err != nil {
		return err
	}

	logf("cold start: starting the operator")
	res.ColdLoad[0] = scale.LoadAverage()
	t0 := time.Now()
	// No Envoy Gateway judges anything here: Pending is the status the routes and pools end with,
	// and the operator writes it at once rather than after --first-status-wait.
	args := []string{"--first-status-wait=0"}
	if cfg.GoMemoryLimit != "" {
		args = append(args, "--go-memory-limit="+cfg.GoMemoryLimit)
	}
	if r.op, err = scale.StartOperator(bin, kubeconfig, filepath.Join(cfg.Dir, "operator.log"), cfg.Profile, args...); err != nil {
		return err
	}
	defer func() { _ = r.op.Stop() }()
	profiles := &profiler{op: r.op, dir: cfg.Dir}
	if cfg.Profile {
		profiles.cpu(ctx, cfg.ProfileSeconds)
	}
	last, err := r.wait(ctx, "cold start", phaseTimeout(cfg.Pools))
	if err != nil {
		return err
	}
	res.Operator = last.Sub(t0)
	res.ColdLoad[1] = scale.LoadAverage()
	pid := r.op.Proc.Pid()
	if res.ColdRSS, _, err = scale.ProcMemory(pid); err != nil {
		return err
	}
	coldCPU, err := scale.ProcCPU(pid)
	if err != nil {
		return err
	}
	res.ColdCPU = coldCPU
	coldStats, err := r.op.ControllerStats(ctx)
	if err != nil {
		return err
	}
	res.ColdReconciles = coldStats.Since(scale.ControllerStats{})
	// From convergence on, the metrics tell when the operator has worked off its queues.
	var idle time.Time
	idleDone := make(chan error, 1)
	go func() {
		var err error
		idle, _, err = r.op.WaitIdle(ctx, phaseTimeout(cfg.Pools))
		idleDone <- err
	}()
	logf("cold start: converged in %s", res.Operator)
	if cfg.Profile {
		profiles.heap(ctx, "heap-cold.pprof")
	}
	time.Sleep(settle)
	b1 := time.Now()

	logf("steady state: watching for %s", cfg.Steady)
	time.Sleep(cfg.Steady)
	steadyStats, err := r.op.ControllerStats(ctx)
	if err != nil {
		return err
	}
	res.SteadyReconciles, res.QueuedAfterSteady = steadyStats.Since(coldStats), steadyStats.QueuedTotal()
	// The edit measures propagation, not a backlog: it waits until the operator is idle.
	if err := <-idleDone; err != nil {
		return err
	}
	res.IdleAfter = idle.Sub(last)
	if cfg.Profile {
		// Its allocations since heap-cold.pprof are those of the reconciles that follow convergence.
		profiles.heap(ctx, "heap-steady.pprof")
	}
	afterCPU, err := scale.ProcCPU(pid)
	if err != nil {
		return err
	}
	res.AfterCPU = afterCPU - coldCPU
	logf("steady state: the operator was idle %s after convergence", secs(res.IdleAfter))
	b2 := time.Now()
	// Writes while it drained its queue are steady-state writes too: the window grows to b2.
	res.Steady = b2.Sub(b1)

	// The edit comes from an idle operator, as a user's edit usually finds it.
	edit, err := r.edit(ctx, cold)
	if err != nil {
		return err
	}
	time.Sleep(settle)
	b3 := time.Now()

	inc, err := r.increment(ctx, edit, b3)
	if err != nil {
		return err
	}
	if err := r.verify(ctx); err != nil {
		return err
	}

	res.Unexpected = r.tr.Unexpected()
	if res.PeakRSS, _, err = scale.ProcMemory(r.op.Proc.Pid()); err != nil {
		return err
	}
	if cfg.Profile {
		profiles.heap(ctx, "heap-end.pprof")
		if res.Profiles, err = profiles.wait(); err != nil {
			return err
		}
	}
	if err := r.op.Running(); err != nil {
		return err
	}

	ws, err := scale.ReadWrites(s.auditLog, operatorUser)
	if err != nil {
		return err
	}
	res.ColdWrites = scale.CountWrites(scale.Between(ws, t0, b1), cold.Items, resource)
	res.SteadyWrites = scale.Between(ws, b1, b2)
	res.EditWrites = scale.CountWrites(scale.Between(ws, b2, b3), edit.ChangedSince(cold), resource)
	// The increment's window stays open: every later write counts against it.
	res.IncrementWrites = scale.CountWrites(scale.Between(ws, b3, time.Now().Add(time.Hour)), inc.ChangedSince(edit), resource)
	return nil
}

// edit changes the target port of the first pool and measures the propagation.
func (r *operatorRun) edit(ctx context.Context, prev *scale.Expected) (*scale.Expected, error) {
	r.logf("edit: changing the target port of %s", scale.PoolName(0))
	sent, pool, err := scale.EditTargetPort(ctx, r.admin, scale.PoolName(0), scale.TargetPort+1)
	if err != nil {
		return nil, err
	}
	e, err := r.expectWith(prev, pool)
	if err != nil {
		return nil, err
	}
	last, err := r.wait(ctx, "edit", time.Minute)
	if err != nil {
		return nil, err
	}
	shadow := scale.Item{Ref: scale.Ref{Kind: "Service", Namespace: scale.Namespace, Name: translate.ShadowServiceName(scale.PoolName(0))}}
	r.res.Edit, r.res.EditAll = r.tr.DoneAt(shadow).Sub(sent), last.Sub(sent)
	return e, nil
}

// increment creates cfg.increment() more pools from start on and measures their lags.
func (r *operatorRun) increment(ctx context.Context, prev *scale.Expected, start time.Time) (*scale.Expected, error) {
	n, from := r.res.Increment, r.cfg.Pools
	r.logf("increment: %d more pools", n)
	written, created, err := scale.CreatePools(ctx, r.admin, from, from+n)
	if err != nil {
		return nil, err
	}
	translated := time.Now()
	e, err := r.expectWith(prev, created...)
	if err != nil {
		return nil, err
	}
	r.res.IncrementTranslate = time.Since(translated)
	last, err := r.wait(ctx, "increment", phaseTimeout(n))
	if err != nil {
		return nil, err
	}
	r.res.IncrementTotal = last.Sub(start)
	done := r.tr.PoolsDone()
	for i, at := range written {
		r.res.IncrementLags = append(r.res.IncrementLags, done[from+i].Sub(at))
	}
	sort.Slice(r.res.IncrementLags, func(i, j int) bool { return r.res.IncrementLags[i] < r.res.IncrementLags[j] })
	return e, nil
}

// verify checks the cluster against a translation of all the inputs as they are now (the
// phases translated only the pools they touched: see partial.go).
func (r *operatorRun) verify(ctx context.Context) error {
	if _, err := r.expectNow(ctx); err != nil {
		return err
	}
	if _, err := r.wait(ctx, "verify", time.Minute); err != nil {
		return fmt.Errorf("the cluster differs from the translation of every input: %w", err)
	}
	return nil
}

// expectWith makes prev updated for the inputs objs what the tracker waits for.
func (r *operatorRun) expectWith(prev *scale.Expected, objs ...client.Object) (*scale.Expected, error) {
	e, err := prev.With(objs)
	if err != nil {
		return nil, err
	}
	return e, r.tr.Expect(e)
}

// expectNow translates the inputs as they are now and makes that what the tracker waits for.
func (r *operatorRun) expectNow(ctx context.Context) (*scale.Expected, error) {
	e, err := scale.Expect(ctx, r.admin)
	if err != nil {
		return nil, err
	}
	return e, r.tr.Expect(e)
}

// wait waits for the tracker's expectation and returns when it was met.
func (r *operatorRun) wait(ctx context.Context, phase string, timeout time.Duration) (time.Time, error) {
	last, err := r.tr.Wait(ctx, timeout)
	if err != nil {
		return last, errors.Join(fmt.Errorf("%s: %w", phase, err), r.op.Running())
	}
	return last, nil
}

// phaseTimeout bounds the convergence of a phase on pools new pools: generous, a failure
// rather than a hang.
func phaseTimeout(pools int) time.Duration {
	return time.Minute + time.Duration(pools)*200*time.Millisecond
}
