package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// statusWriter writes the status of the user's objects: only the parts the operator owns, only
// when they change, keeping lastTransitionTime unless a condition's status changes, and
// re-reading from the API server on conflict.
type statusWriter struct {
	client client.Client
	// reader reads straight from the API server, for the retry after a conflict.
	reader client.Reader
	now    func() metav1.Time
}

// update runs mutate on obj and writes its status if mutate reports a change. On a conflict it
// re-reads obj from the API server and tries again. It returns whether it wrote.
func (w *statusWriter) update(ctx context.Context, obj client.Object, mutate func() bool) (bool, error) {
	wrote := false
	first := true
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
		wrote = true
		return w.client.Status().Update(ctx, obj)
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

// replaceCondition returns existing with the condition of desired's type replaced in place (or
// appended), keeping its lastTransitionTime when the status is unchanged.
func replaceCondition(existing []metav1.Condition, desired metav1.Condition, now metav1.Time) []metav1.Condition {
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

// writeGatewayStatus replaces the status of one of our Gateways with desired.
func (w *statusWriter) writeGatewayStatus(ctx context.Context, gw *gwapiv1.Gateway, desired gwapiv1.GatewayStatus) (bool, error) {
	return w.update(ctx, gw, func() bool {
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

// writeRouteParents sets the route's status entries of our controller to desired, leaving the
// entries of other controllers untouched.
func (w *statusWriter) writeRouteParents(ctx context.Context, route *gwapiv1.HTTPRoute, desired []gwapiv1.RouteParentStatus) (bool, error) {
	return w.update(ctx, route, func() bool {
		now := w.now()
		var next []gwapiv1.RouteParentStatus
		for _, e := range route.Status.Parents {
			if string(e.ControllerName) != translate.ControllerName {
				next = append(next, e)
			}
		}
		for _, d := range desired {
			var existing []metav1.Condition
			for _, e := range route.Status.Parents {
				if string(e.ControllerName) == translate.ControllerName && translate.ParentRefEqual(e.ParentRef, d.ParentRef, route.Namespace) {
					existing = e.Conditions
				}
			}
			d.Conditions = setConditions(existing, d.Conditions, now)
			next = append(next, d)
		}
		if len(next) == 0 && len(route.Status.Parents) == 0 {
			return false
		}
		if equality.Semantic.DeepEqual(next, route.Status.Parents) {
			return false
		}
		route.Status.Parents = next
		if route.Status.Parents == nil {
			route.Status.Parents = []gwapiv1.RouteParentStatus{}
		}
		return true
	})
}

// writePoolParents sets the pool's status entries of our controller to desired, leaving the
// entries of other controllers untouched (parents is an atomic list: read, modify, write).
func (w *statusWriter) writePoolParents(ctx context.Context, pool *giev1.InferencePool, desired []giev1.ParentStatus) (bool, error) {
	return w.update(ctx, pool, func() bool {
		now := w.now()
		var next []giev1.ParentStatus
		for _, e := range pool.Status.Parents {
			if string(e.ControllerName) != translate.ControllerName {
				next = append(next, e)
			}
		}
		for _, d := range desired {
			var existing []metav1.Condition
			for _, e := range pool.Status.Parents {
				if string(e.ControllerName) == translate.ControllerName && poolParentRefEqual(e.ParentRef, d.ParentRef) {
					existing = e.Conditions
				}
			}
			d.Conditions = setConditions(existing, d.Conditions, now)
			next = append(next, d)
		}
		if len(next) == 0 && len(pool.Status.Parents) == 0 {
			return false
		}
		if equality.Semantic.DeepEqual(next, pool.Status.Parents) {
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
