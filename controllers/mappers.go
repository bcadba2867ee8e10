package controllers

import (
	"context"
	"maps"
	"strings"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// The functions here map a watched object to the sources whose output it changes. They read
// only the cache, through the field indexes.

// noDeepCopy is the list option of the mappers' lookups: they read names and references of what
// they list, so the items can be the cache's own objects rather than deep copies. One Gateway
// or GatewayClass event maps to every route attached to it, in several controllers: deep copies
// of thousands of routes per event were the highest peaks of the heap at 3000 pools
// (docs/performance.md). What a lookup returns with it must never be changed.
var noDeepCopy = client.UnsafeDisableDeepCopy

// notGenerated passes the user's objects and drops the operator's own (which reach their
// source's reconcile through sourceOf instead).
var notGenerated = predicate.NewPredicateFuncs(func(o client.Object) bool {
	return o.GetLabels()[translate.LabelManagedBy] != translate.ManagedByValue
})

// inputChanged drops the update of a user's object that changes only its status (or other
// metadata the translation does not read) and passes every other event. Translation reads the
// status of generated objects (Envoy Gateway's verdicts) and of Envoy Gateway's GatewayClasses,
// never the status of a user's route, Gateway, pool or policy, which the operator writes itself:
// without this, each status the operator writes on a route would reconcile the route's pools and
// policies again, and each pool status the routes. It goes on the watches one controller keeps
// of another's objects; a controller's own For watch sees every update, so a status someone else
// changes is put back.
var inputChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	o, n := e.ObjectOld, e.ObjectNew
	if o == nil || n == nil || n.GetLabels()[translate.LabelManagedBy] == translate.ManagedByValue {
		return true
	}
	return o.GetResourceVersion() == n.GetResourceVersion() || // a resync
		o.GetGeneration() != n.GetGeneration() ||
		!maps.Equal(o.GetLabels(), n.GetLabels()) ||
		!maps.Equal(o.GetAnnotations(), n.GetAnnotations()) ||
		!o.GetDeletionTimestamp().Equal(n.GetDeletionTimestamp())
}}

// sourceOf maps a generated object to the user's object of kind it was generated from (its
// source annotation), so drift, deletion and EG status changes reach that object's reconcile.
func sourceOf(kind string) handler.MapFunc {
	return func(_ context.Context, o client.Object) []reconcile.Request {
		if o.GetLabels()[translate.LabelManagedBy] != translate.ManagedByValue {
			return nil
		}
		parts := strings.SplitN(o.GetAnnotations()[translate.AnnotationSource], "/", 3)
		if len(parts) != 3 || parts[0] != kind {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: parts[1], Name: parts[2]}}}
	}
}

func requests(nns ...types.NamespacedName) []reconcile.Request {
	out := make([]reconcile.Request, len(nns))
	for i, nn := range nns {
		out[i] = reconcile.Request{NamespacedName: nn}
	}
	return out
}

// gatewaysOfClass lists the Gateways of class.
func gatewaysOfClass(ctx context.Context, c client.Reader, class string) []reconcile.Request {
	gateways := &gwapiv1.GatewayList{}
	if err := c.List(ctx, gateways, client.MatchingFields{indexGatewayClass: class}, noDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "listing gateways of class", "class", class)
		return nil
	}
	out := make([]reconcile.Request, len(gateways.Items))
	for i := range gateways.Items {
		out[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&gateways.Items[i])}
	}
	return out
}

// classesOfParameters lists the names of the GatewayClasses referencing parameters name.
func classesOfParameters(ctx context.Context, c client.Reader, name string) []string {
	classes := &gwapiv1.GatewayClassList{}
	if err := c.List(ctx, classes, client.MatchingFields{indexClassParameters: name}, noDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "listing classes of parameters", "parameters", name)
		return nil
	}
	out := make([]string, len(classes.Items))
	for i := range classes.Items {
		out[i] = classes.Items[i].Name
	}
	return out
}

// routesOfGateway lists the HTTPRoutes whose parentRefs name the Gateway gw. They are the
// cache's own (noDeepCopy): read them, never change them.
func routesOfGateway(ctx context.Context, c client.Reader, gw types.NamespacedName) []gwapiv1.HTTPRoute {
	routes := &gwapiv1.HTTPRouteList{}
	if err := c.List(ctx, routes, client.MatchingFields{indexRouteGateways: gw.String()}, noDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "listing routes of gateway", "gateway", gw)
		return nil
	}
	return routes.Items
}

// routesOfClass lists the HTTPRoutes attached to Gateways of class.
func routesOfClass(ctx context.Context, c client.Reader, class string) []gwapiv1.HTTPRoute {
	var out []gwapiv1.HTTPRoute
	for _, gw := range gatewaysOfClass(ctx, c, class) {
		out = append(out, routesOfGateway(ctx, c, gw.NamespacedName)...)
	}
	return out
}

// routesOfParameters lists the HTTPRoutes attached to Gateways of classes using parameters name.
func routesOfParameters(ctx context.Context, c client.Reader, name string) []gwapiv1.HTTPRoute {
	var out []gwapiv1.HTTPRoute
	for _, class := range classesOfParameters(ctx, c, name) {
		out = append(out, routesOfClass(ctx, c, class)...)
	}
	return out
}

// poolsOf lists the pools the routes reference.
func poolsOf(routes []gwapiv1.HTTPRoute) []reconcile.Request {
	var out []reconcile.Request
	for i := range routes {
		out = append(out, requests(translate.PoolRefs(&routes[i])...)...)
	}
	return out
}

// routeRequests lists requests for routes.
func routeRequests(routes []gwapiv1.HTTPRoute) []reconcile.Request {
	out := make([]reconcile.Request, len(routes))
	for i := range routes {
		out[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&routes[i])}
	}
	return out
}

// poolsOfIndex lists the pools whose index field holds value.
func poolsOfIndex(ctx context.Context, c client.Reader, index, value string) []reconcile.Request {
	pools := &giev1.InferencePoolList{}
	if err := c.List(ctx, pools, client.MatchingFields{index: value}, noDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "listing pools", "index", index, "value", value)
		return nil
	}
	out := make([]reconcile.Request, len(pools.Items))
	for i := range pools.Items {
		out[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pools.Items[i])}
	}
	return out
}

// routesOfTarget lists the user's routes a policy target reaches: the route itself, or the
// routes attached to the Gateway.
func routesOfTarget(ctx context.Context, c client.Reader, kind string, nn types.NamespacedName) []gwapiv1.HTTPRoute {
	switch kind {
	case "Gateway":
		return routesOfGateway(ctx, c, nn)
	case "HTTPRoute":
		route := &gwapiv1.HTTPRoute{}
		if err := c.Get(ctx, nn, route); err == nil {
			return []gwapiv1.HTTPRoute{*route}
		}
	}
	return nil
}

// routesOfSelector lists the routes a policy's targetSelector (of a policy in ns) may reach:
// the routes it selects, or those attached to the Gateways it selects (shared with the cache).
func routesOfSelector(ctx context.Context, c client.Reader, ns string, sel egv1a1.TargetSelector) []gwapiv1.HTTPRoute {
	opts, err := selectorListOptions(ns, sel, noDeepCopy)
	if err != nil {
		return nil
	}
	switch sel.Kind {
	case "HTTPRoute":
		list := &gwapiv1.HTTPRouteList{}
		if err := c.List(ctx, list, opts...); err == nil {
			return list.Items
		}
	case "Gateway":
		list := &gwapiv1.GatewayList{}
		if err := c.List(ctx, list, opts...); err != nil {
			return nil
		}
		var out []gwapiv1.HTTPRoute
		for i := range list.Items {
			out = append(out, routesOfGateway(ctx, c, client.ObjectKeyFromObject(&list.Items[i]))...)
		}
		return out
	}
	return nil
}

// selectorListOptions are the options listing what a targetSelector of a policy in ns may
// select: its labels, in ns unless it selects from all namespaces (the translation applies the
// namespace rules and ReferenceGrants). An invalid selector is an error: it selects nothing.
func selectorListOptions(ns string, sel egv1a1.TargetSelector, extra ...client.ListOption) ([]client.ListOption, error) {
	ls, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchLabels: sel.MatchLabels, MatchExpressions: sel.MatchExpressions})
	if err != nil {
		return nil, err
	}
	opts := append([]client.ListOption{client.MatchingLabelsSelector{Selector: ls}}, extra...)
	if sel.Namespaces == nil || sel.Namespaces.From == "" || sel.Namespaces.From == egv1a1.TargetNamespaceFromSame {
		opts = append(opts, client.InNamespace(ns))
	}
	return opts, nil
}

// gatewaysOfPolicy maps a user's ClientTrafficPolicy to the Gateways it may target.
func gatewaysOfPolicy(ctx context.Context, c client.Reader, o client.Object) []reconcile.Request {
	var out []reconcile.Request
	refs := translate.UserPolicy{Object: o}.Targets()
	for _, ref := range refs.GetTargetRefs() {
		if ref.Kind == "Gateway" {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: string(ref.Name)}})
		}
	}
	for _, sel := range refs.TargetSelectors {
		opts, err := selectorListOptions(o.GetNamespace(), sel, noDeepCopy)
		if err != nil || sel.Kind != "Gateway" {
			continue
		}
		list := &gwapiv1.GatewayList{}
		if err := c.List(ctx, list, opts...); err == nil {
			for i := range list.Items {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
			}
		}
	}
	return out
}

// nnOf is the namespace/name of obj.
func nnOf(obj metav1.Object) types.NamespacedName {
	return types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}
}
