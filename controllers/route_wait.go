package controllers

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// firstApplyWait bounds how long a route's first generated route waits for its pools' shadow
// Services (waitForShadowServices).
const firstApplyWait = time.Minute

// waitForShadowServices says how long the first generated route of route (an HTTPRoute or a
// GRPCRoute) should wait still (0: not at all). It waits while none exists yet, the user's route is younger than
// firstApplyWait, and a pool its rules send traffic to has no shadow Service yet: the pool
// controller writes five objects a pool and lags behind the route controller at scale. Applied
// before its Services, a generated route gets a verdict from Envoy Gateway that its backend is
// missing, then another once they are there: two status writes by Envoy Gateway and two mirrors
// by the operator onto the user's route, on an API server that is the bottleneck then
// (docs/performance.md). Past firstApplyWait the route goes ahead, so that its other rules are
// served whatever keeps a pool's Service away.
func waitForShadowServices(ctx context.Context, c client.Reader, snap *translate.Snapshot, route client.Object, generatedExists bool, now time.Time) (time.Duration, error) {
	left := firstApplyWait - now.Sub(route.GetCreationTimestamp().Time)
	if left <= 0 || generatedExists {
		return 0, nil
	}
	for _, pool := range snap.UsablePools(route) {
		key := types.NamespacedName{Namespace: pool.Namespace, Name: translate.ShadowServiceName(pool.Name)}
		if err := c.Get(ctx, key, &corev1.Service{}); err != nil {
			if client.IgnoreNotFound(err) != nil {
				return 0, err
			}
			return left, nil
		}
	}
	return 0, nil
}

// shadowServiceCreated passes the creation of the Services generated for pools: the routes
// waiting for them (waitForShadowServices) go ahead then.
var shadowServiceCreated = predicate.Funcs{
	CreateFunc: func(e event.CreateEvent) bool {
		return e.Object.GetLabels()[translate.LabelSourceKind] == translate.InferencePoolKind
	},
	UpdateFunc:  func(event.UpdateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// routesOfShadowService maps a pool's new shadow Service, through routesOfPool, to the routes
// that may wait for it.
func routesOfShadowService(routesOfPool handler.MapFunc) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var out []reconcile.Request
		for _, pool := range sourceOf(translate.InferencePoolKind)(ctx, o) {
			out = append(out, routesOfPool(ctx, &giev1.InferencePool{ObjectMeta: metav1.ObjectMeta{Namespace: pool.Namespace, Name: pool.Name}})...)
		}
		return out
	}
}

// sooner is the shorter of two requeue delays, 0 meaning none.
func sooner(a, b time.Duration) time.Duration {
	if a == 0 || (b > 0 && b < a) {
		return b
	}
	return a
}
