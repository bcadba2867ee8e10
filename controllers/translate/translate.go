package translate

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Result is the translation of a whole snapshot: what every reconciler would produce. The
// reconcilers call the per-source functions; golden tests and the docs use this view.
type Result struct {
	Objects              []client.Object
	GatewayClassStatuses map[string]metav1.Condition
	GatewayStatuses      map[types.NamespacedName]gwapiv1.GatewayStatus
	RouteParents         map[types.NamespacedName][]gwapiv1.RouteParentStatus
	// CopiedRouteParents are the status entries of the routes served by copy, by
	// "Kind/namespace/name".
	CopiedRouteParents map[string][]gwapiv1.RouteParentStatus
	PoolParents        map[types.NamespacedName][]giev1.ParentStatus
	FailOpenActive     map[types.NamespacedName]bool
	// NoReadyPods are the served pools whose shadow Service's EndpointSlices list no ready
	// endpoint (PodsNotReady).
	NoReadyPods map[types.NamespacedName]bool
	// PolicyAncestors are the status entries of the user's policies, by "Kind/namespace/name".
	PolicyAncestors map[string][]gwapiv1.PolicyAncestorStatus
	Events          []ObjectEvent
}

// ObjectEvent is an Event for the user's object Kind/Namespace/Name.
type ObjectEvent struct {
	Object Source `json:"object"`
	Event  `json:",inline"`
}

// All translates every source in s.
func All(s *Snapshot) Result {
	res := Result{
		GatewayClassStatuses: map[string]metav1.Condition{},
		GatewayStatuses:      map[types.NamespacedName]gwapiv1.GatewayStatus{},
		RouteParents:         map[types.NamespacedName][]gwapiv1.RouteParentStatus{},
		CopiedRouteParents:   map[string][]gwapiv1.RouteParentStatus{},
		PoolParents:          map[types.NamespacedName][]giev1.ParentStatus{},
		FailOpenActive:       map[types.NamespacedName]bool{},
		NoReadyPods:          map[types.NamespacedName]bool{},
		PolicyAncestors:      map[string][]gwapiv1.PolicyAncestorStatus{},
	}
	for i := range s.GatewayClasses {
		c := &s.GatewayClasses[i]
		if string(c.Spec.ControllerName) == ControllerName {
			res.GatewayClassStatuses[c.Name] = GatewayClassAccepted(s, c)
		}
	}
	// The generated Gateways and routes are never sources, as for the reconcilers (their
	// watches pass only the user's objects), whatever class or parents they name.
	for i := range s.Gateways {
		gw := &s.Gateways[i]
		if s.GatewayServing(gw).State == NotOurs {
			continue
		}
		r := ForGateway(s, gw)
		res.Objects = append(res.Objects, r.Objects...)
		res.GatewayStatuses[types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}] = r.Status
	}
	if s.missing(MissingEnvoyGateway) || s.missing(MissingInferencePool) {
		// The route, pool and policy reconcilers only run once Envoy Gateway's and GIE's CRDs
		// are served: nothing of theirs is generated or reported before.
		return res
	}
	for i := range s.HTTPRoutes {
		route := &s.HTTPRoutes[i]
		if !s.OnOurGateways(route) || route.Labels[LabelManagedBy] == ManagedByValue {
			continue
		}
		r := ForRoute(s, route)
		res.Objects = append(res.Objects, r.Objects...)
		res.RouteParents[types.NamespacedName{Namespace: route.Namespace, Name: route.Name}] = r.Parents
		for _, e := range r.Events {
			res.Events = append(res.Events, ObjectEvent{Object: routeSource(route), Event: e})
		}
	}
	for _, k := range CopiedRouteKinds {
		for _, route := range k.inSnapshot(s) {
			parents, _ := k.Parts(route)
			if route.GetLabels()[LabelManagedBy] == ManagedByValue || len(s.ourParentIndexes(route.GetNamespace(), *parents)) == 0 {
				continue
			}
			r := ForCopiedRoute(s, k, route)
			res.Objects = append(res.Objects, r.Objects...)
			res.CopiedRouteParents[k.Kind+"/"+route.GetNamespace()+"/"+route.GetName()] = r.Parents
			for _, e := range r.Events {
				res.Events = append(res.Events, ObjectEvent{Object: Source{Kind: k.Kind, Namespace: route.GetNamespace(), Name: route.GetName()}, Event: e})
			}
		}
	}
	for i := range s.Pools {
		pool := &s.Pools[i]
		r := ForPool(s, pool)
		nn := types.NamespacedName{Namespace: pool.Namespace, Name: pool.Name}
		res.Objects = append(res.Objects, r.Objects...)
		if len(r.Parents) > 0 {
			res.PoolParents[nn] = r.Parents
		}
		if r.FailOpenActive {
			res.FailOpenActive[nn] = true
		}
		if r.Pods == PodsNotReady {
			res.NoReadyPods[nn] = true
		}
	}
	for _, kind := range PolicyKinds {
		for _, p := range s.UserPolicies(kind) {
			if !s.PolicyReachesOurs(p) {
				continue
			}
			r := ForUserPolicy(s, p)
			res.Objects = append(res.Objects, r.Objects...)
			res.PolicyAncestors[p.Key()] = r.Ancestors
		}
	}
	return res
}
