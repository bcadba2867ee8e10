//go:build benche2e

package benche2e

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// A verdict is a set of objects that must all reach a state (a status some controller writes),
// watched, not polled: the time recorded is when the harness's watch delivered the object
// (milliseconds after the write).
type verdict struct {
	name string
	// want is how many objects must match.
	want int
	// match tells whether obj (of kind) belongs to the set and has reached the state.
	match func(kind string, obj *unstructured.Unstructured) bool
}

// verdicts watches the namespace's objects of the kinds the verdicts read.
type verdicts struct {
	mu      sync.Mutex
	all     []verdict
	met     []map[string]time.Time // per verdict: object key -> when it matched
	doneAt  []time.Time
	changed chan struct{}
}

// kinds the verdicts read.
var verdictKinds = map[string]schema.GroupVersionKind{
	"HTTPRoute":            {Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"},
	"InferencePool":        {Group: translate.InferenceGroup, Version: "v1", Kind: "InferencePool"},
	"BackendTrafficPolicy": {Group: "gateway.envoyproxy.io", Version: "v1alpha1", Kind: "BackendTrafficPolicy"},
	"EnvoyExtensionPolicy": {Group: "gateway.envoyproxy.io", Version: "v1alpha1", Kind: "EnvoyExtensionPolicy"},
	"Backend":              {Group: "gateway.envoyproxy.io", Version: "v1alpha1", Kind: "Backend"},
}

func watchVerdicts(ctx context.Context, cfg *rest.Config, all ...verdict) (*verdicts, error) {
	c, err := cache.New(cfg, cache.Options{
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
		DefaultTransform:  cache.TransformStripManagedFields(),
	})
	if err != nil {
		return nil, err
	}
	v := &verdicts{all: all, doneAt: make([]time.Time, len(all)), changed: make(chan struct{}, 1)}
	for range all {
		v.met = append(v.met, map[string]time.Time{})
	}
	go func() { _ = c.Start(ctx) }()
	var regs []toolscache.ResourceEventHandlerRegistration
	for kind, gvk := range verdictKinds {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		inf, err := c.GetInformer(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("watching %s: %w", kind, err)
		}
		reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { v.observe(kind, o) },
			UpdateFunc: func(_, o any) { v.observe(kind, o) },
		})
		if err != nil {
			return nil, err
		}
		regs = append(regs, reg)
	}
	for _, reg := range regs {
		if !toolscache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
			return nil, fmt.Errorf("verdicts: watches did not sync: %w", ctx.Err())
		}
	}
	return v, nil
}

func (v *verdicts) observe(kind string, o any) {
	now := time.Now()
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return
	}
	key := kind + "/" + u.GetName()
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, vd := range v.all {
		if vd.match(kind, u) {
			if _, ok := v.met[i][key]; !ok {
				v.met[i][key] = now
			}
		} else {
			delete(v.met[i], key)
		}
		switch {
		case len(v.met[i]) >= vd.want && v.doneAt[i].IsZero():
			v.doneAt[i] = now
			select {
			case v.changed <- struct{}{}:
			default:
			}
		case len(v.met[i]) < vd.want:
			v.doneAt[i] = time.Time{}
		}
	}
}

// wait waits until every verdict is met and returns when each was.
func (v *verdicts) wait(ctx context.Context, timeout time.Duration) (map[string]time.Time, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		v.mu.Lock()
		out, pending := map[string]time.Time{}, ""
		for i, vd := range v.all {
			if v.doneAt[i].IsZero() {
				pending += fmt.Sprintf(" %s (%d of %d)", vd.name, len(v.met[i]), vd.want)
			}
			out[vd.name] = v.doneAt[i]
		}
		v.mu.Unlock()
		if pending == "" {
			return out, nil
		}
		select {
		case <-v.changed:
		case <-time.After(time.Second):
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return nil, fmt.Errorf("not met after %s:%s", timeout, pending)
		}
	}
}

// accepted tells whether obj's status holds, for controller, an Accepted=True condition: in a
// route's or pool's parents, a policy's ancestors, or (controller empty) the top-level
// conditions of a Backend.
func accepted(obj *unstructured.Unstructured, controller string) bool {
	if controller == "" {
		conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
		return conditionTrue(conds, "Accepted")
	}
	for _, field := range []string{"parents", "ancestors"} {
		entries, _, _ := unstructured.NestedSlice(obj.Object, "status", field)
		for _, e := range entries {
			m, ok := e.(map[string]any)
			if !ok || m["controllerName"] != controller {
				continue
			}
			conds, _ := m["conditions"].([]any)
			if conditionTrue(conds, "Accepted") {
				return true
			}
		}
	}
	return false
}

func conditionTrue(conds []any, typ string) bool {
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == typ && m["status"] == "True" {
			return true
		}
	}
	return false
}

// generated tells whether the operator generated obj.
func generated(obj *unstructured.Unstructured) bool {
	return obj.GetLabels()[translate.LabelManagedBy] == translate.ManagedByValue
}
