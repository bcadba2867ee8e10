package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// How the pool controller follows the routes of the kinds served by copy whose rules reach
// pools (GRPCRoute): they are watched once their CRD is served, and listed whole (they are few)
// when a Gateway, class, parameters or policy change may concern them.

// watchPoolRoutes adds the watch on the routes of kind k (served by copy, its rules reaching
// pools: GRPCRoute), once its CRD is served: the user's map to the pools they reference, the
// generated copies (whose Envoy Gateway status decides the pools' Accepted) to their source's.
func (r *InferencePoolReconciler) watchPoolRoutes(c controller.Controller, cache cache.Cache, k *translate.CopiedRouteKind) error {
	return c.Watch(source.Kind[client.Object](cache, k.New(), handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		if src := sourceOf(k.Kind)(ctx, o); len(src) == 1 {
			user := k.New()
			if err := r.Client.Get(ctx, src[0].NamespacedName, user); err != nil {
				return nil
			}
			o = user
		}
		return requests(translate.PoolRefsOf(o)...)
	}), inputChanged))
}

// poolsOfCopiedRoutes maps to the pools of the user's routes of the kinds served by copy whose
// rules reach pools (GRPCRoute) that match accepts. Such routes are few: they are listed whole,
// as the copied route controller does.
func (r *InferencePoolReconciler) poolsOfCopiedRoutes(ctx context.Context, match func(*translate.CopiedRouteKind, client.Object) bool) []reconcile.Request {
	var out []reconcile.Request
	for _, k := range translate.CopiedRouteKinds {
		if !k.ReachesPools() || !r.Options.prereqs.isIndexed(copiedRouteAPIs[k.Kind]) {
			continue
		}
		list := k.NewList()
		if err := r.Client.List(ctx, list, noDeepCopy); err != nil {
			continue
		}
		items, _ := meta.ExtractList(list)
		for _, it := range items {
			if o := it.(client.Object); o.GetLabels()[translate.LabelManagedBy] != translate.ManagedByValue && match(k, o) {
				out = append(out, requests(translate.PoolRefsOf(o)...)...)
			}
		}
	}
	return out
}

// namesGateway tells whether a route of kind k has a Gateway parentRef that accept accepts.
func namesGateway(k *translate.CopiedRouteKind, route client.Object, accept func(types.NamespacedName) bool) bool {
	parents, _ := k.Parts(route)
	for _, ref := range *parents {
		if translate.IsGatewayParentRef(ref) && accept(translate.ParentGateway(ref, route.GetNamespace())) {
			return true
		}
	}
	return false
}

// onAnyGateway matches the routes with a Gateway parent: which Gateways a class serves is the
// Gateway controller's to tell.
func onAnyGateway(k *translate.CopiedRouteKind, route client.Object) bool {
	return namesGateway(k, route, func(types.NamespacedName) bool { return true })
}
