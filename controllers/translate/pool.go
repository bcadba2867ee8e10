package translate

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// PoolResult is what one InferencePool translates to.
type PoolResult struct {
	// Objects are the objects generated for the pool. Empty when no route on our served
	// Gateways references it: then everything generated for it is pruned.
	Objects []client.Object
	// Parents are the desired status entries of the pool, one per Gateway of ours that has a
	// route referencing the pool, sorted by Gateway.
	Parents []giev1.ParentStatus
	// FailOpenActive is true while the pool's EPP (failure mode FailOpen) has no ready endpoint
	// and the pool's rules are served without it.
	FailOpenActive bool
	// Pods is what the EndpointSlices of the pool's shadow Service say of its pods, while the
	// pool is served (PodsUnknown otherwise): the reconciler reports each change (NoReadyPods,
	// ReadyPodsFound).
	Pods PodReadiness
}

// poolUse is one route rule that sends traffic to a pool.
type poolUse struct {
	route    poolRoute
	ruleName string
	// primary is false when the rule names an earlier pool (first): its EPP serves the rule.
	primary bool
	first   types.NamespacedName
	// class is the GatewayClass whose settings apply (the route's first served parent's).
	class    string
	settings Settings
}

// ForPool renders the objects generated for pool and its status entries.
func ForPool(s *Snapshot, pool *giev1.InferencePool) PoolResult {
	nn := types.NamespacedName{Namespace: pool.Namespace, Name: pool.Name}
	routes := s.poolRoutesUsing(nn)
	uses := poolUses(s, routes, nn)
	epp := resolveEndpointPicker(s, pool)

	var res PoolResult
	if len(uses) > 0 && len(pool.Spec.TargetPorts) > 0 {
		res.Objects = append(res.Objects, ShadowService(pool))
		if epp.ref != nil {
			res.FailOpenActive = epp.failOpen() && (epp.service == nil || !epp.ready)
		}
		// What the policies reference (the EPP's Backend or BackendTLSPolicy, the grants that
		// let policies of other namespaces reach them) comes before the policies, as the
		// operator applies them in this order: Envoy Gateway, seeing an EnvoyExtensionPolicy
		// whose Backend it has not yet seen, rejects it ("backend not found") until its next
		// translation, which at scale comes seconds later; meanwhile the pool's status says so,
		// and a Backend still unjudged after backendGrace reads as Envoy Gateway's Backend API
		// being off (controllers/backendapi.go).
		if epp.ref != nil {
			res.Objects = append(res.Objects, eppConnection(s, pool, uses, epp)...)
		}
		res.Objects = append(res.Objects, referenceGrants(pool, uses, epp)...)
		res.Objects = append(res.Objects, policies(s, pool, uses, epp, res.FailOpenActive)...)
		res.Pods = shadowServicePods(s, pool)
	}
	// Envoy Gateway's verdicts count only on the policies as the operator wants them now.
	rejected := poolRejections(s, res.Objects, epp.ref != nil, epp.ref != nil && !res.FailOpenActive)
	res.Parents = poolParents(s, pool, routes, uses, epp, rejected)
	return res
}

// poolUses lists the rules of routes (served by our Gateways) that reference the pool nn.
func poolUses(s *Snapshot, routes []poolRoute, nn types.NamespacedName) []poolUse {
	var out []poolUse
	for _, route := range routes {
		parents := route.servedParents(s)
		if len(parents) == 0 {
			continue
		}
		gw, settings, _ := s.OurServedGateway(ParentGateway(parents[0], route.namespace()))
		for i := range route.ruleRefs {
			pools := route.rulePools(s, i)
			if !containsNN(pools, nn) {
				continue
			}
			out = append(out, poolUse{route: route, ruleName: route.ruleNames[i], primary: pools[0] == nn, first: pools[0],
				class: string(gw.Spec.GatewayClassName), settings: settings})
		}
	}
	return out
}

// poolParents computes the pool's status entries: one per Gateway of ours with a route that
// references the pool.
func poolParents(s *Snapshot, pool *giev1.InferencePool, routes []poolRoute, uses []poolUse, epp endpointPicker, rejected map[types.NamespacedName][]policyRejection) []giev1.ParentStatus {
	type verdict struct {
		accepted bool
		// rejected: a route's verdict for this Gateway is Accepted=False; else a route not
		// accepted is still waiting for one.
		rejected bool
		routes   []poolRoute
		// unfit are the routes of a kind the pool cannot serve (poolFitsKind).
		unfit []poolRoute
	}
	byGateway := map[types.NamespacedName]*verdict{}
	for _, route := range routes {
		parents := route.statusParents(s)
		for _, i := range s.ourParentIndexes(route.namespace(), route.parentRefs) {
			ref := route.parentRefs[i]
			gw := ParentGateway(ref, route.namespace())
			v := byGateway[gw]
			if v == nil {
				v = &verdict{}
				byGateway[gw] = v
			}
			if !poolFitsKind(pool, route.kind) {
				v.unfit = append(v.unfit, route)
				continue
			}
			v.routes = append(v.routes, route)
			if st := findParentStatus(parents, ref, route.namespace()); st != nil {
				if c := findCondition(st.Conditions, string(gwapiv1.RouteConditionAccepted)); c != nil {
					v.accepted = v.accepted || c.Status == metav1.ConditionTrue
					v.rejected = v.rejected || c.Status == metav1.ConditionFalse
				}
			}
		}
	}
	var notes []string
	for _, u := range uses {
		if !u.primary {
			notes = append(notes, fmt.Sprintf("rule %q of %s also sends traffic to InferencePool %s, whose endpoint picker serves the rule: this pool's share of it is load-balanced over this pool's endpoints by the fallback policy, without this pool's endpoint picker", u.ruleName, u.route, u.first))
		}
	}

	keys := make([]types.NamespacedName, 0, len(byGateway))
	for k := range byGateway {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	out := make([]giev1.ParentStatus, 0, len(keys))
	for _, gw := range keys {
		v := byGateway[gw]
		var accepted metav1.Condition
		var unfit string
		if len(v.unfit) > 0 {
			unfit = fmt.Sprintf("%s cannot use this pool: its appProtocol is %q, and a GRPCRoute needs model servers that speak gRPC (appProtocol %s)",
				routesPhrase(v.unfit), appProtocolOf(pool), AppProtocolH2C)
		}
		switch {
		case len(v.routes) == 0:
			accepted = condition(giev1.InferencePoolConditionAccepted, metav1.ConditionFalse, giev1.InferencePoolReasonNotSupportedByParent, unfit, pool.Generation)
		case v.accepted:
			msg := "Accepted by the Gateway through " + routesPhrase(v.routes)
			if epp.ref == nil {
				msg += "; no endpointPickerRef: requests are load-balanced over the pool's endpoints"
			}
			if len(notes) > 0 {
				msg += "; " + strings.Join(notes, "; ")
			}
			if unfit != "" {
				msg += "; " + unfit
			}
			accepted = condition(giev1.InferencePoolConditionAccepted, metav1.ConditionTrue, giev1.InferencePoolReasonAccepted, msg, pool.Generation)
		case v.rejected:
			accepted = condition(giev1.InferencePoolConditionAccepted, metav1.ConditionFalse, giev1.InferencePoolReasonHTTPRouteNotAccepted,
				"No route referencing this pool is accepted by the Gateway: "+routesPhrase(v.routes), pool.Generation)
		default:
			// No route refused, none judged yet: GIE's Unknown/Pending, not a refusal.
			accepted = condition(giev1.InferencePoolConditionAccepted, metav1.ConditionUnknown, PoolReasonPending,
				"Waiting for Envoy Gateway to accept "+routesPhrase(v.routes), pool.Generation)
		}
		group, kind, ns := giev1.Group(gwapiv1.GroupName), giev1.Kind("Gateway"), giev1.Namespace(gw.Namespace)
		out = append(out, giev1.ParentStatus{
			ParentRef:      giev1.ParentReference{Group: &group, Kind: kind, Namespace: ns, Name: giev1.ObjectName(gw.Name)},
			ControllerName: giev1.ControllerName(ControllerName),
			Conditions:     []metav1.Condition{accepted, resolvedRefs(pool, epp, rejected[gw])},
		})
	}
	return out
}
