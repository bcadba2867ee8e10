package controllers

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// envtest runs no Envoy Gateway. These helpers play its part: they write onto the generated
// objects the status EG would, so the tests can check what the operator mirrors.

const egControllerName = "gateway.envoyproxy.io/gatewayclass-controller"

// waitGenerated waits until the generated object key exists and returns it.
func waitGenerated[T client.Object](t *testing.T, obj T, key client.ObjectKey) T {
	t.Helper()
	eventually(t, func() error { return get(obj, key) })
	return obj
}

// waitUntil waits until the object key exists and check accepts it, and returns it.
func waitUntil[T client.Object](t *testing.T, obj T, key client.ObjectKey, check func(T) error) T {
	t.Helper()
	eventually(t, func() error {
		if err := get(obj, key); err != nil {
			return err
		}
		return check(obj)
	})
	return obj
}

// egAcceptsGateway writes an accepted, programmed status with an address on the generated
// Gateway of the user's Gateway name in ns, as EG would.
func egAcceptsGateway(t *testing.T, ns, name string) {
	t.Helper()
	key := client.ObjectKey{Namespace: ns, Name: translate.GeneratedGatewayName(name)}
	gen := waitGenerated(t, &gwapiv1.Gateway{}, key)
	setStatus(t, gen, func(gw *gwapiv1.Gateway) {
		g := gw.Generation
		gw.Status.Addresses = []gwapiv1.GatewayStatusAddress{{Type: ptrTo(gwapiv1.IPAddressType), Value: "10.96.0.42"}}
		gw.Status.Conditions = []metav1.Condition{
			egCondition("Accepted", "True", "Accepted", g),
			egCondition("Programmed", "True", "Programmed", g),
		}
		gw.Status.Listeners = nil
		for _, l := range gw.Spec.Listeners {
			gw.Status.Listeners = append(gw.Status.Listeners, gwapiv1.ListenerStatus{
				Name: l.Name, AttachedRoutes: 1,
				SupportedKinds: []gwapiv1.RouteGroupKind{{Group: ptrTo(gwapiv1.Group(gwapiv1.GroupName)), Kind: "HTTPRoute"}},
				Conditions:     []metav1.Condition{egCondition("Accepted", "True", "Accepted", g), egCondition("Programmed", "True", "Programmed", g)},
			})
		}
	})
}

// egJudgesRoute writes EG's verdict (Accepted status, ResolvedRefs resolved) for every parent
// of the generated route of the user's route name in ns.
func egJudgesRoute(t *testing.T, ns, name string, accepted metav1.ConditionStatus, resolved metav1.ConditionStatus) {
	t.Helper()
	key := client.ObjectKey{Namespace: ns, Name: translate.GeneratedRouteName(name)}
	gen := waitGenerated(t, &gwapiv1.HTTPRoute{}, key)
	setStatus(t, gen, func(r *gwapiv1.HTTPRoute) {
		r.Status.Parents = nil
		for _, p := range r.Spec.ParentRefs {
			acceptedReason, resolvedReason := "Accepted", "ResolvedRefs"
			if accepted != metav1.ConditionTrue {
				acceptedReason = "NotAllowedByListeners"
			}
			if resolved != metav1.ConditionTrue {
				resolvedReason = "BackendNotFound"
			}
			r.Status.Parents = append(r.Status.Parents, gwapiv1.RouteParentStatus{
				ParentRef: p, ControllerName: egControllerName,
				Conditions: []metav1.Condition{
					egCondition("Accepted", accepted, acceptedReason, r.Generation),
					egCondition("ResolvedRefs", resolved, resolvedReason, r.Generation),
				},
			})
		}
	})
}

func egCondition[S ~string](typ string, status S, reason string, generation int64) metav1.Condition {
	return metav1.Condition{Type: typ, Status: metav1.ConditionStatus(status), Reason: reason, Message: "set by the test as Envoy Gateway", ObservedGeneration: generation, LastTransitionTime: metav1.Now()}
}

// setStatus re-reads obj, lets mutate change its status and writes the status subresource.
func setStatus[T client.Object](t *testing.T, obj T, mutate func(T)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate(obj)
		return k8s.Status().Update(context.Background(), obj)
	})
	if err != nil {
		t.Fatalf("writing status of %T %s: %v", obj, client.ObjectKeyFromObject(obj), err)
	}
}

// hasCondition checks conds for typ with status and reason ("" matches any reason).
func hasCondition(conds []metav1.Condition, typ string, status metav1.ConditionStatus, reason string) error {
	c := meta.FindStatusCondition(conds, typ)
	if c == nil {
		return fmt.Errorf("no %s condition in %v", typ, conds)
	}
	if c.Status != status || (reason != "" && c.Reason != reason) {
		return fmt.Errorf("%s is %s/%s (%q), want %s/%s", typ, c.Status, c.Reason, c.Message, status, reason)
	}
	return nil
}

// ourRouteParent returns the route's status entry of our controller for the parent Gateway gw.
func ourRouteParent(route *gwapiv1.HTTPRoute, gw string) (*gwapiv1.RouteParentStatus, error) {
	for i, p := range route.Status.Parents {
		if string(p.ControllerName) == translate.ControllerName && string(p.ParentRef.Name) == gw {
			return &route.Status.Parents[i], nil
		}
	}
	return nil, fmt.Errorf("route %s has no status entry of ours for %s: %+v", route.Name, gw, route.Status.Parents)
}

// ourPoolParent returns the pool's status entry of our controller for the Gateway ns/gw.
func ourPoolParent(pool *giev1.InferencePool, ns, gw string) (*giev1.ParentStatus, error) {
	for i, p := range pool.Status.Parents {
		if string(p.ControllerName) == translate.ControllerName && string(p.ParentRef.Name) == gw && string(p.ParentRef.Namespace) == ns {
			return &pool.Status.Parents[i], nil
		}
	}
	return nil, fmt.Errorf("pool %s has no status entry of ours for %s/%s: %+v", pool.Name, ns, gw, pool.Status.Parents)
}

// waitRouteCondition waits until the route's status entry of ours for Gateway gw has the
// condition typ with status and reason.
func waitRouteCondition(t *testing.T, route *gwapiv1.HTTPRoute, gw, typ string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	eventually(t, func() error {
		if err := get(route, client.ObjectKeyFromObject(route)); err != nil {
			return err
		}
		p, err := ourRouteParent(route, gw)
		if err != nil {
			return err
		}
		return hasCondition(p.Conditions, typ, status, reason)
	})
}

// waitPoolCondition waits until the pool's status entry of ours for Gateway ns/gw has the
// condition typ with status and reason.
func waitPoolCondition(t *testing.T, pool *giev1.InferencePool, ns, gw, typ string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	eventually(t, func() error {
		if err := get(pool, client.ObjectKeyFromObject(pool)); err != nil {
			return err
		}
		p, err := ourPoolParent(pool, ns, gw)
		if err != nil {
			return err
		}
		return hasCondition(p.Conditions, typ, status, reason)
	})
}

func ptrTo[T any](v T) *T { return &v }
