//go:build benche2e

package benche2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/envoygateway"
	"github.com/inferencepool-operator/inferencepool-operator/test/kit"
	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// way is one of the two ways of serving the pools.
type way struct {
	name string
	// operator: the operator runs and the user writes pools and routes to them.
	operator bool
	// matched: the operator's class has parameters that leave out what the hand-written set
	// does not do (see operatorGateway).
	matched bool
	// raw: no operator; the harness writes the user's objects as through the operator, then, as
	// one sequential raw writer, what the operator would write for them (flooreg.go).
	raw bool
	dir string
}

// generated tells whether the way serves the pools through the operator's generated objects,
// written by the operator or by the raw writer.
func (w way) generated() bool { return w.operator || w.raw }

var (
	handWritten     = way{name: "hand-written", dir: "hand"}
	throughOperator = way{name: "through the operator", operator: true, dir: "operator"}
	// likeHandWritten is the operator with the hand-written set's behaviour: plaintext to the
	// endpoint picker (no Backend), no health checks of it, no retries.
	likeHandWritten = way{name: "through the operator, configured like the hand-written set", operator: true, matched: true, dir: "matched"}
	// rawWithEG is the floor under Envoy Gateway: the operator way's cluster and writes, the
	// operator's made by one sequential raw writer instead of the operator.
	rawWithEG = way{name: "raw writer with Envoy Gateway", raw: true, dir: "floor-eg"}
)

// wayResult is what one way measured at one N. Durations are from the first per-pool write.
type wayResult struct {
	// LastWrite is when the harness's last per-pool write completed.
	LastWrite time.Duration
	// OurStatus: every user route and pool with the operator's Accepted status (operator only).
	OurStatus time.Duration
	// Accepted: every object Envoy Gateway judges (routes, policies, Backends) Accepted.
	Accepted time.Duration
	// XDS: every pool served in xDS (see served).
	XDS time.Duration
	// Converged is the latest of the above; CPU is counted up to it.
	Converged time.Duration
	// EGCPU and OpCPU are the CPU time used from the first write to convergence; EGPeak and
	// OpPeak the peak resident memory of the whole run (setup included, the same both ways).
	EGCPU, OpCPU   time.Duration
	EGPeak, OpPeak uint64
	// Size is the xDS at convergence.
	Size xdsSize
	// Edit is the time from one pool's new target port to that port in its cluster's endpoints.
	Edit time.Duration
	// OperatorObjects is when the operator's last write of an object (not a status) completed.
	OperatorObjects time.Duration
	// Raw is what the raw writer did (rawWithEG only); LastWrite is then its last write.
	Raw rawResult
	// Writes are the successful writes from the first write to convergence (plus a settle), by
	// writer and resource.
	Writes writeCounts
	Load   [2]string
}

// settle lets the writes in flight at convergence land in the count.
const settle = 2 * time.Second

// runWay serves n pools one way on a fresh cluster and measures it.
func runWay(ctx context.Context, cfg Config, n int, w way, operatorBin string, progress io.Writer, logf func(string, ...any)) (_ *wayResult, err error) {
	dir := filepath.Join(cfg.Dir, fmt.Sprintf("n%d-%s", n, w.dir))
	logf("%d pools %s: starting the cluster and Envoy Gateway", n, w.name)
	bin, opArgs := "", []string(nil)
	if w.operator {
		bin = operatorBin
		if cfg.GoMemoryLimit != "" {
			opArgs = append(opArgs, "--go-memory-limit="+cfg.GoMemoryLimit)
		}
		opArgs = append(opArgs, cfg.OperatorArgs...)
	}
	e, err := startEnv(ctx, dir, bin, opArgs, w.operator && cfg.Profile, progress)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.healthy())
			logf("failed: cluster directory kept at %s", e.cluster.Dir)
		}
		err = errors.Join(err, e.stop(err != nil))
	}()

	logf("%d pools %s: pods, endpoint pickers and the Gateway", n, w.name)
	endpoints, err := setUp(ctx, e, n, w)
	if err != nil {
		return nil, err
	}
	var rw *rawWay
	if w.raw {
		if rw, err = prepareRaw(ctx, e); err != nil {
			return nil, err
		}
	}
	proxy := gatewayName
	if w.generated() {
		proxy = translate.GeneratedGatewayName(gatewayName)
	}
	xc, err := xds.ForGateway(ctx, e.cfg, namespace, proxy)
	if err != nil {
		return nil, err
	}
	if err := kit.Poll(ctx, kit.Options{Timeout: 2 * time.Minute, Interval: 500 * time.Millisecond, What: "the Gateway's listener in xDS"}, func(ctx context.Context) error {
		s, err := xc.Fetch(ctx)
		if err == nil && len(s.Listeners) == 0 {
			err = errors.New("no listener yet")
		}
		return err
	}); err != nil {
		return nil, err
	}
	if rw != nil {
		if err := rw.settle(ctx, e.admin); err != nil {
			return nil, err
		}
	}

	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	v, err := watchVerdicts(watchCtx, e.cfg, wayVerdicts(w, n)...)
	if err != nil {
		return nil, err
	}
	pools := make([]servedPool, n)
	for i := range pools {
		pools[i] = servedPool{route: poolName(i), endpoint: endpoints[i]}
		if w.generated() {
			pools[i].route = translate.GeneratedRouteName(poolName(i))
		}
	}
	res := &wayResult{}
	var xdsAt time.Time
	xdsDone := make(chan error, 1)
	go func() {
		xdsDone <- xc.Watch(watchCtx, func(s *xds.Snapshot) (bool, error) {
			if got, _ := served(s, pools); got < n {
				return false, nil
			}
			xdsAt = time.Now()
			if res.Size, err = sizeOf(s); err != nil {
				return true, err
			}
			return true, dumpPool(s, pools[0], dir)
		})
	}()

	var perPool [][]client.Object
	for i := range n {
		if w.generated() {
			perPool = append(perPool, operatorPool(i))
		} else {
			perPool = append(perPool, handPool(i))
		}
	}
	egCPU0, err := scale.ProcCPU(e.eg.Pid())
	if err != nil {
		return nil, err
	}
	var opCPU0 time.Duration
	if e.op != nil {
		if opCPU0, err = scale.ProcCPU(e.op.Proc.Pid()); err != nil {
			return nil, err
		}
	}
	var profiled chan error
	if w.operator && cfg.Profile {
		profiled = make(chan error, 1)
		go func() {
			profiled <- e.op.Profile(ctx, "profile", fmt.Sprintf("seconds=%d", cfg.ProfileSeconds), filepath.Join(dir, "operator-cpu.pprof"))
		}()
	}
	logf("%d pools %s: writing %d objects", n, w.name, n*len(perPool[0]))
	res.Load[0] = scale.LoadAverage()
	t0 := time.Now()
	last, err := createAll(ctx, e.admin, perPool, cfg.Writers)
	if err != nil {
		return nil, err
	}
	res.LastWrite = last.Sub(t0)
	if rw != nil {
		raw, err := rw.write(ctx, perPool, cfg.FloorEGWriters)
		if err != nil {
			return nil, err
		}
		res.Raw = raw
		res.Raw.UserWrites = res.LastWrite
		res.LastWrite = time.Since(t0)
	}
	times, err := v.wait(ctx, phaseTimeout(n))
	if err != nil {
		return nil, err
	}
	select {
	case err := <-xdsDone:
		if err != nil {
			return nil, err
		}
	case <-time.After(phaseTimeout(n)):
		s, ferr := xc.Fetch(ctx)
		if ferr == nil {
			got, why := served(s, pools)
			return nil, fmt.Errorf("xDS: %d of %d pools served after %s; first missing: %v", got, n, phaseTimeout(n), why)
		}
		return nil, fmt.Errorf("xDS: not every pool served after %s (%v)", phaseTimeout(n), ferr)
	}
	res.Load[1] = scale.LoadAverage()
	egCPU1, err := scale.ProcCPU(e.eg.Pid())
	if err != nil {
		return nil, err
	}
	res.EGCPU = egCPU1 - egCPU0
	if e.op != nil {
		opCPU1, err := scale.ProcCPU(e.op.Proc.Pid())
		if err != nil {
			return nil, err
		}
		res.OpCPU = opCPU1 - opCPU0
	}
	res.Accepted = times["accepted"].Sub(t0)
	if w.operator {
		res.OurStatus = times["our status"].Sub(t0)
	}
	res.XDS = xdsAt.Sub(t0)
	res.Converged = max(res.Accepted, res.OurStatus, res.XDS)
	logf("%d pools %s: in xDS after %s (accepted %s, our status %s, last write %s)", n, w.name,
		secs(res.XDS), secs(res.Accepted), secs(res.OurStatus), secs(res.LastWrite))
	time.Sleep(settle)
	end := time.Now()

	if !w.raw { // nothing would follow the edit
		if res.Edit, err = editPort(ctx, e, xc, w, pools[0]); err != nil {
			return nil, fmt.Errorf("edit: %w", err)
		}
		logf("%d pools %s: a new target port in xDS after %s", n, w.name, secs(res.Edit))
	}
	if res.EGPeak, _, err = scale.ProcMemory(e.eg.Pid()); err != nil {
		return nil, err
	}
	if e.op != nil {
		if res.OpPeak, _, err = scale.ProcMemory(e.op.Proc.Pid()); err != nil {
			return nil, err
		}
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			return nil, err
		}
	}
	if err := e.healthy(); err != nil {
		return nil, err
	}
	ws, err := scale.ReadWritesOf(e.auditLog, func(string) bool { return true })
	if err != nil {
		return nil, err
	}
	res.Writes = countWrites(scale.Between(ws, t0, end))
	res.OperatorObjects = lastObjectWrite(scale.Between(ws, t0, end), map[bool]string{false: "operator", true: "raw writer"}[w.raw], t0)
	return res, nil
}

// wayVerdicts are the statuses a way waits for.
func wayVerdicts(w way, n int) []verdict {
	eg := envoygateway.ControllerName
	if !w.generated() {
		return []verdict{{name: "accepted", want: 3 * n, match: func(kind string, u *unstructured.Unstructured) bool {
			switch kind {
			case "HTTPRoute", "BackendTrafficPolicy", "EnvoyExtensionPolicy":
				return accepted(u, eg)
			}
			return false
		}}}
	}
	generatedAccepted := verdict{name: "accepted", want: map[bool]int{false: 4 * n, true: 3 * n}[w.matched], match: func(kind string, u *unstructured.Unstructured) bool {
		switch kind {
		case "HTTPRoute", "BackendTrafficPolicy", "EnvoyExtensionPolicy":
			return generated(u) && accepted(u, eg)
		case "Backend":
			return generated(u) && accepted(u, "")
		}
		return false
	}}
	if w.raw {
		// The raw writer writes each status once, before Envoy Gateway's verdicts: no status of
		// ours to wait for.
		return []verdict{generatedAccepted}
	}
	return []verdict{
		{name: "our status", want: 2 * n, match: func(kind string, u *unstructured.Unstructured) bool {
			switch kind {
			case "HTTPRoute":
				return !generated(u) && accepted(u, translate.ControllerName)
			case "InferencePool":
				return accepted(u, translate.ControllerName)
			}
			return false
		}},
		// Plaintext to the picker needs no Backend.
		generatedAccepted,
	}
}

// setUp creates what exists before the clock starts and waits until it is ready: every pod
// Ready, every endpoint picker's Service with a ready endpoint, the Gateway's proxy. It returns
// each pool's model-server endpoint ("ip:port").
func setUp(ctx context.Context, e *env, n int, w way) ([]string, error) {
	shared, perPool := prerequisites(n)
	if w.generated() {
		shared = append(shared, operatorGateway(w.matched)...)
	} else {
		shared = append(shared, handGateway()...)
	}
	for _, obj := range shared {
		if err := e.admin.Create(ctx, obj); err != nil {
			return nil, fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}
	if _, err := createAll(ctx, e.admin, perPool, 16); err != nil {
		return nil, err
	}
	endpoints := make([]string, n)
	err := kit.Poll(ctx, kit.Options{Timeout: phaseTimeout(n), Interval: time.Second, What: "pods Ready and endpoint pickers' endpoints"}, func(ctx context.Context) error {
		pods := &corev1.PodList{}
		if err := e.admin.List(ctx, pods, client.InNamespace(namespace)); err != nil {
			return err
		}
		ready := 0
		for _, p := range pods.Items {
			if p.Status.PodIP == "" || !podReady(&p) {
				continue
			}
			ready++
			var i int
			if _, err := fmt.Sscanf(p.Name, "pool-%04d-0", &i); err == nil && p.Name == poolName(i)+"-0" && i < n {
				endpoints[i] = fmt.Sprintf("%s:%d", p.Status.PodIP, targetPort)
			}
		}
		if ready < 2*n {
			return fmt.Errorf("%d of %d pods Ready", ready, 2*n)
		}
		slices := &discoveryv1.EndpointSliceList{}
		if err := e.admin.List(ctx, slices, client.InNamespace(namespace)); err != nil {
			return err
		}
		served := map[string]bool{}
		for _, s := range slices.Items {
			name := s.Labels[discoveryv1.LabelServiceName]
			for _, ep := range s.Endpoints {
				if strings.HasSuffix(name, "-epp") && ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					served[name] = true
				}
			}
		}
		if len(served) < n {
			return fmt.Errorf("%d of %d endpoint pickers have a ready endpoint", len(served), n)
		}
		return nil
	})
	return endpoints, err
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
