package scale

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// WatchedKinds are the kinds whose objects the operator writes or whose status it writes. A
// translation that generates another kind makes expect fail (see tracker.expect) rather than
// hang.
var WatchedKinds = []client.Object{
	&gwapiv1.GatewayClass{}, &gwapiv1.Gateway{}, &gwapiv1.HTTPRoute{}, &giev1.InferencePool{},
	&corev1.Service{}, &egv1a1.BackendTrafficPolicy{}, &egv1a1.EnvoyExtensionPolicy{}, &egv1a1.Backend{},
	&egv1a1.ClientTrafficPolicy{}, &egv1a1.SecurityPolicy{}, &gwapiv1.BackendTLSPolicy{}, &gwapiv1beta1.ReferenceGrant{},
}

// Tracker watches the API server and tells when every expected item is done, and since when each
// one is: the time its current version reached the harness. Watches, not polling, so the times
// are those of the writes (plus the watch's delivery, milliseconds).
type Tracker struct {
	cache cache.Cache

	mu      sync.Mutex
	seen    map[Ref]observed
	exp     *Expected
	state   map[Item]*itemState
	pending int
	changed chan struct{}
}

type observed struct {
	obj client.Object
	at  time.Time
}

type itemState struct {
	done bool
	at   time.Time
	pool int
}

// StartTracker starts informers on every watched kind and returns once they have delivered
// what exists.
func StartTracker(ctx context.Context, cfg *rest.Config) (*Tracker, error) {
	c, err := cache.New(cfg, cache.Options{Scheme: scheme, DefaultTransform: cache.TransformStripManagedFields()})
	if err != nil {
		return nil, err
	}
	t := &Tracker{cache: c, seen: map[Ref]observed{}, state: map[Item]*itemState{}, changed: make(chan struct{}, 1)}
	go func() { _ = c.Start(ctx) }()
	var regs []toolscache.ResourceEventHandlerRegistration
	for _, obj := range WatchedKinds {
		r, err := RefOf(obj)
		if err != nil {
			return nil, err
		}
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("watching %s: %w", r.Kind, err)
		}
		reg, err := inf.AddEventHandler(t.handler(r.Kind))
		if err != nil {
			return nil, err
		}
		regs = append(regs, reg)
	}
	for _, reg := range regs {
		if !toolscache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
			return nil, fmt.Errorf("tracker: watches did not sync: %w", ctx.Err())
		}
	}
	return t, nil
}

func (t *Tracker) handler(kind string) toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { t.observe(kind, o, false) },
		UpdateFunc: func(_, o any) { t.observe(kind, o, false) },
		DeleteFunc: func(o any) {
			if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			t.observe(kind, o, true)
		},
	}
}

func (t *Tracker) observe(kind string, o any, deleted bool) {
	now := time.Now()
	obj, ok := o.(client.Object)
	if !ok {
		return
	}
	r := Ref{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
	t.mu.Lock()
	defer t.mu.Unlock()
	if deleted {
		delete(t.seen, r)
	} else {
		t.seen[r] = observed{obj: obj, at: now}
	}
	for _, it := range []Item{{Ref: r}, {Ref: r, Status: true}} {
		if st, ok := t.state[it]; ok {
			t.evaluate(it, st)
		}
	}
}

// evaluate updates it's state from the latest version seen. Must hold t.mu.
func (t *Tracker) evaluate(it Item, st *itemState) {
	o, ok := t.seen[it.Ref]
	done := ok && t.exp.done(it, o.obj)
	switch {
	case done && !st.done:
		st.done, st.at = true, o.at
		t.pending--
		if t.pending == 0 {
			select {
			case t.changed <- struct{}{}:
			default:
			}
		}
	case !done && st.done:
		st.done = false
		t.pending++
	}
}

// Expect makes e what the tracker waits for. Items already done count from the time their
// current version was seen, so Expect may come after the writes it expects. Only e's fresh
// items are evaluated when it has them: the others keep their state (evaluating thousands of
// objects would compete with the operator).
func (t *Tracker) Expect(e *Expected) error {
	watched := map[string]bool{}
	for _, obj := range WatchedKinds {
		r, _ := RefOf(obj)
		watched[r.Kind] = true
	}
	for _, it := range e.Items {
		if !watched[it.Ref.Kind] {
			return fmt.Errorf("the translation generates %s, a kind the tracker does not watch: add it to WatchedKinds", it)
		}
	}
	fresh := map[Item]bool{}
	for _, it := range e.fresh {
		fresh[it] = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	prev := t.state
	t.exp, t.state, t.pending = e, map[Item]*itemState{}, 0
	for _, it := range e.Items {
		if st, ok := prev[it]; ok && e.fresh != nil && !fresh[it] {
			t.state[it] = st
			if !st.done {
				t.pending++
			}
			continue
		}
		st := &itemState{pool: poolIndex(it, e)}
		t.state[it] = st
		t.pending++
		t.evaluate(it, st)
	}
	return nil
}

// Wait waits until every expected item is done and returns when the last one was.
func (t *Tracker) Wait(ctx context.Context, timeout time.Duration) (time.Time, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		t.mu.Lock()
		pending := t.pending
		t.mu.Unlock()
		if pending == 0 {
			return t.lastDone(), nil
		}
		select {
		case <-t.changed:
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-deadline.C:
			return time.Time{}, fmt.Errorf("%d of %d items not done after %s, e.g. %v", pending, len(t.state), timeout, t.pendingItems(5))
		}
	}
}

// lastDone is when the last expected item was done.
func (t *Tracker) lastDone() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	var last time.Time
	for _, st := range t.state {
		if st.at.After(last) {
			last = st.at
		}
	}
	return last
}

// DoneAt is when item it was done (zero when it is not).
func (t *Tracker) DoneAt(it Item) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st, ok := t.state[it]; ok && st.done {
		return st.at
	}
	return time.Time{}
}

// PoolsDone returns, per pool index, when the last of its items was done.
func (t *Tracker) PoolsDone() map[int]time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[int]time.Time{}
	for _, st := range t.state {
		if st.pool >= 0 && st.at.After(out[st.pool]) {
			out[st.pool] = st.at
		}
	}
	return out
}

// Objects returns how many of the expected generated objects are done, and how many are
// expected: how far the operator has got.
func (t *Tracker) Objects() (done, expected int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for it, st := range t.state {
		if it.Status {
			continue
		}
		expected++
		if st.done {
			done++
		}
	}
	return done, expected
}

// PoolsWithObjects lists, sorted, the indexes of the pools whose expected generated objects
// are all done (their statuses may not be).
func (t *Tracker) PoolsWithObjects() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	complete := map[int]bool{}
	for it, st := range t.state {
		if it.Status || st.pool < 0 {
			continue
		}
		if _, ok := complete[st.pool]; !ok {
			complete[st.pool] = true
		}
		complete[st.pool] = complete[st.pool] && st.done
	}
	var out []int
	for i, ok := range complete {
		if ok {
			out = append(out, i)
		}
	}
	sort.Ints(out)
	return out
}

func (t *Tracker) pendingItems(n int) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for it, st := range t.state {
		if !st.done {
			out = append(out, it.String())
		}
	}
	sort.Strings(out)
	return out[:min(n, len(out))]
}

// Unexpected lists the objects labelled as generated by the operator that the translation does
// not expect (nothing should be generated beyond it).
func (t *Tracker) Unexpected() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for r, o := range t.seen {
		if o.obj.GetLabels()[translate.LabelManagedBy] != translate.ManagedByValue {
			continue
		}
		if _, ok := t.state[Item{Ref: r}]; !ok {
			out = append(out, r.String())
		}
	}
	sort.Strings(out)
	return out
}
