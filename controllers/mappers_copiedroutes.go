package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// How the pool controller finds the pools of the routes of the kinds served by copy whose rules
// reach pools (GRPCRoute), when a Gateway, class, parameters or policy change may concern them:
// such routes are few, so they are listed whole.

// poolsOfCopiedRoutes maps to the pools of the user's routes of the kinds served by copy whose
// rules reach pools (GRPCRoute) that match accepts, among the kinds whose indexes are set up.
func poolsOfCopiedRoutes(ctx context.Context, c client.Reader, prereqs *prerequisites, match func(*translate.CopiedRouteKind, client.Object) bool) []reconcile.Request {
	var out []reconcile.Request
	for _, k := range translate.CopiedRouteKinds {
		if !k.ReachesPools() || !prereqs.isIndexed(copiedRouteAPIs[k.Kind]) {
			continue
		}
		list := k.NewList()
		if err := c.List(ctx, list, noDeepCopy); err != nil {
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
