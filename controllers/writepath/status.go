package writepath

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// StatusWriter writes the status of the user's objects: only the parts the operator owns, only
// when they change, keeping lastTransitionTime unless a condition's status changes, and
// re-reading from the API server on conflict.
type StatusWriter struct {
	client client.Client
	// reader reads straight from the API server, for the retry after a conflict.
	reader client.Reader
	now    func() metav1.Time
	// memory skips rewriting a status the cache does not show yet (memory.go).
	memory *memory
}

// NewStatusWriter returns a StatusWriter writing with c, re-reading with reader after a
// conflict, stamping transitions with now.
func NewStatusWriter(c client.Client, reader client.Reader, now func() metav1.Time) *StatusWriter {
	return &StatusWriter{client: c, reader: reader, now: now, memory: newMemory(time.Now)}
}

// Now is the time the writer stamps transitions with.
func (w *StatusWriter) Now() metav1.Time { return w.now() }

// statusHash is a hash of obj's status, with the timestamps of its conditions left out (they are
// carried over from the cache's copy, which may be stale).
func statusHash(obj client.Object) (string, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(dropTimes(m["status"]))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16]), nil
}

// dropTimes removes lastTransitionTime fields, recursively.
func dropTimes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if k != "lastTransitionTime" {
				out[k] = dropTimes(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = dropTimes(x[i])
		}
		return out
	}
	return v
}

// Update runs mutate on obj and writes its status if mutate reports a change. On a conflict it
// re-reads obj from the API server and tries again. It returns whether it wrote.
func (w *StatusWriter) Update(ctx context.Context, obj client.Object, mutate func() bool) (bool, error) {
	wrote := false
	first := true
	key := fmt.Sprintf("%T/%s/%s/status", obj, obj.GetNamespace(), obj.GetName())
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			if err := w.reader.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return err
			}
		}
		first = false
		if !mutate() {
			return nil
		}
		hash, err := statusHash(obj)
		if err != nil {
			return err
		}
		rv := obj.GetResourceVersion()
		if w.memory.stale(key, rv, hash) {
			return nil // written already; the cache has not seen it yet
		}
		if err := w.client.Status().Update(ctx, obj); err != nil {
			return err
		}
		wrote = true
		w.memory.recordWrite(key, rv, hash)
		return nil
	})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return wrote, err
}

// setConditions returns desired with lastTransitionTime carried over from existing where the
// status did not change.
func setConditions(existing, desired []metav1.Condition, now metav1.Time) []metav1.Condition {
	out := make([]metav1.Condition, 0, len(desired))
	for _, d := range desired {
		d.LastTransitionTime = now
		for _, e := range existing {
			if e.Type == d.Type && e.Status == d.Status {
				d.LastTransitionTime = e.LastTransitionTime
			}
		}
		out = append(out, d)
	}
	return out
}

// ReplaceCondition returns existing with the condition of desired's type replaced in place (or
// appended), keeping its lastTransitionTime when the status is unchanged.
func ReplaceCondition(existing []metav1.Condition, desired metav1.Condition, now metav1.Time) []metav1.Condition {
	out := append([]metav1.Condition(nil), existing...)
	for i := range out {
		if out[i].Type == desired.Type {
			desired.LastTransitionTime = now
			if out[i].Status == desired.Status {
				desired.LastTransitionTime = out[i].LastTransitionTime
			}
			out[i] = desired
			return out
		}
	}
	desired.LastTransitionTime = now
	return append(out, desired)
}

// WriteGatewayStatus replaces the status of one of our Gateways with desired.
func (w *StatusWriter) WriteGatewayStatus(ctx context.Context, gw *gwapiv1.Gateway, desired gwapiv1.GatewayStatus) (bool, error) {
	return w.Update(ctx, gw, func() bool {
		now := w.now()
		next := gwapiv1.GatewayStatus{Addresses: desired.Addresses}
		next.Conditions = setConditions(gw.Status.Conditions, desired.Conditions, now)
		for _, l := range desired.Listeners {
			var existing []metav1.Condition
			for _, el := range gw.Status.Listeners {
				if el.Name == l.Name {
					existing = el.Conditions
				}
			}
			l.Conditions = setConditions(existing, l.Conditions, now)
			next.Listeners = append(next.Listeners, l)
		}
		if equality.Semantic.DeepEqual(normalizeGatewayStatus(next), normalizeGatewayStatus(gw.Status)) {
			return false
		}
		gw.Status = next
		return true
	})
}

// normalizeGatewayStatus treats nil and empty lists alike.
func normalizeGatewayStatus(s gwapiv1.GatewayStatus) gwapiv1.GatewayStatus {
	if len(s.Addresses) == 0 {
		s.Addresses = nil
	}
	if len(s.Listeners) == 0 {
		s.Listeners = nil
	}
	if len(s.Conditions) == 0 {
		s.Conditions = nil
	}
	return s
}

// mergeParents returns existing with the entries of our controller replaced by desired: other
// controllers' entries stay as they are, ours keep lastTransitionTime where nothing changed.
// ours tells whether an entry is ours, same whether two entries are for one parent, and conds
// gives access to an entry's conditions.
func mergeParents[E any](existing, desired []E, ours func(E) bool, same func(a, b E) bool, conds func(*E) *[]metav1.Condition, now metav1.Time) []E {
	var next []E
	for _, e := range existing {
		if !ours(e) {
			next = append(next, e)
		}
	}
	for _, d := range desired {
		var old []metav1.Condition
		for _, e := range existing {
			if ours(e) && same(e, d) {
				old = *conds(&e)
			}
		}
		*conds(&d) = setConditions(old, *conds(&d), now)
		next = append(next, d)
	}
	return next
}

// WriteRouteParents sets the route's status entries of our controller to desired, leaving the
// entries of other controllers untouched.
func (w *StatusWriter) WriteRouteParents(ctx context.Context, route *gwapiv1.HTTPRoute, desired []gwapiv1.RouteParentStatus) (bool, error) {
	return w.WriteParents(ctx, route, &route.Status.RouteStatus, desired)
}

// WriteParents is WriteRouteParents for a route of any kind: status is the route's RouteStatus.
func (w *StatusWriter) WriteParents(ctx context.Context, route client.Object, status *gwapiv1.RouteStatus, desired []gwapiv1.RouteParentStatus) (bool, error) {
	return w.Update(ctx, route, func() bool {
		next := mergeParents(status.Parents, desired,
			func(e gwapiv1.RouteParentStatus) bool { return string(e.ControllerName) == translate.ControllerName },
			func(a, b gwapiv1.RouteParentStatus) bool {
				return translate.ParentRefEqual(a.ParentRef, b.ParentRef, route.GetNamespace())
			},
			func(e *gwapiv1.RouteParentStatus) *[]metav1.Condition { return &e.Conditions }, w.now())
		if len(next) == len(status.Parents) && (len(next) == 0 || equality.Semantic.DeepEqual(next, status.Parents)) {
			return false
		}
		if next == nil {
			next = []gwapiv1.RouteParentStatus{}
		}
		status.Parents = next
		return true
	})
}

// WritePoolParents sets the pool's status entries of our controller to desired, leaving the
// entries of other controllers untouched (parents is an atomic list: read, modify, write).
func (w *StatusWriter) WritePoolParents(ctx context.Context, pool *giev1.InferencePool, desired []giev1.ParentStatus) (bool, error) {
	return w.Update(ctx, pool, func() bool {
		next := mergeParents(pool.Status.Parents, desired,
			func(e giev1.ParentStatus) bool { return string(e.ControllerName) == translate.ControllerName },
			func(a, b giev1.ParentStatus) bool { return poolParentRefEqual(a.ParentRef, b.ParentRef) },
			func(e *giev1.ParentStatus) *[]metav1.Condition { return &e.Conditions }, w.now())
		if len(next) == len(pool.Status.Parents) && (len(next) == 0 || equality.Semantic.DeepEqual(next, pool.Status.Parents)) {
			return false
		}
		pool.Status.Parents = next
		return true
	})
}

func poolParentRefEqual(a, b giev1.ParentReference) bool {
	ga, gb := gwapiv1.GroupName, gwapiv1.GroupName
	if a.Group != nil {
		ga = string(*a.Group)
	}
	if b.Group != nil {
		gb = string(*b.Group)
	}
	ka, kb := a.Kind, b.Kind
	if ka == "" {
		ka = "Gateway"
	}
	if kb == "" {
		kb = "Gateway"
	}
	return ga == gb && ka == kb && a.Namespace == b.Namespace && a.Name == b.Name
}

// maxPolicyAncestors is Gateway API's limit on a policy's status.ancestors.
const maxPolicyAncestors = 16

// WritePolicyAncestors sets the policy's status entries of our controller to desired, leaving
// the entries of other controllers untouched; ours are cut so that all fit Gateway API's limit.
func (w *StatusWriter) WritePolicyAncestors(ctx context.Context, obj client.Object, desired []gwapiv1.PolicyAncestorStatus) (bool, error) {
	return w.Update(ctx, obj, func() bool {
		st := translate.PolicyStatusOf(obj)
		if st == nil {
			return false
		}
		foreign := 0
		for _, a := range st.Ancestors {
			if string(a.ControllerName) != translate.ControllerName {
				foreign++
			}
		}
		if room := maxPolicyAncestors - foreign; len(desired) > room {
			desired = desired[:max(room, 0)]
		}
		next := mergeParents(st.Ancestors, desired,
			func(e gwapiv1.PolicyAncestorStatus) bool { return string(e.ControllerName) == translate.ControllerName },
			func(a, b gwapiv1.PolicyAncestorStatus) bool { return reflect.DeepEqual(a.AncestorRef, b.AncestorRef) },
			func(e *gwapiv1.PolicyAncestorStatus) *[]metav1.Condition { return &e.Conditions }, w.now())
		if len(next) == len(st.Ancestors) && (len(next) == 0 || equality.Semantic.DeepEqual(next, st.Ancestors)) {
			return false
		}
		if next == nil {
			next = []gwapiv1.PolicyAncestorStatus{}
		}
		st.Ancestors = next
		return true
	})
}
