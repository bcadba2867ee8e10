package translate

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// A pool is reached from the rules of two route kinds: HTTPRoute (translated, route.go) and
// GRPCRoute (served by copy, route_copied.go, whose pool refs become the same shadow Service
// refs). What a pool generates and reports reads both through poolRoute.

// AppProtocolH2C is the appProtocol of a pool whose model servers speak gRPC: HTTP/2 without
// TLS (GIE's gRPC support). Only such a pool can serve a GRPCRoute rule: Envoy Gateway always
// speaks HTTP/2 to a GRPCRoute's backends.
const AppProtocolH2C = "kubernetes.io/h2c"

// PoolRouteKinds are the route kinds whose rules may send traffic to an InferencePool.
var PoolRouteKinds = []string{"HTTPRoute", "GRPCRoute"}

// poolRoute is a user's route of a kind in PoolRouteKinds.
type poolRoute struct {
	kind       string
	obj        client.Object
	parentRefs []gwapiv1.ParentReference
	// ruleNames are the rules' names in the generated route (ruleNamesOf): the sections the
	// pool's policies target.
	ruleNames []string
	// ruleRefs are each rule's backendRefs, in order.
	ruleRefs [][]gwapiv1.BackendObjectReference
}

func httpPoolRoute(r *gwapiv1.HTTPRoute) poolRoute {
	return newPoolRoute("HTTPRoute", r, r.Spec.ParentRefs, len(r.Spec.Rules), func(i int) (*gwapiv1.SectionName, []gwapiv1.BackendObjectReference) {
		rule := &r.Spec.Rules[i]
		return rule.Name, objectRefs(rule.BackendRefs, func(b *gwapiv1.HTTPBackendRef) gwapiv1.BackendObjectReference { return b.BackendObjectReference })
	})
}

func grpcPoolRoute(r *gwapiv1.GRPCRoute) poolRoute {
	return newPoolRoute("GRPCRoute", r, r.Spec.ParentRefs, len(r.Spec.Rules), func(i int) (*gwapiv1.SectionName, []gwapiv1.BackendObjectReference) {
		rule := &r.Spec.Rules[i]
		return rule.Name, objectRefs(rule.BackendRefs, func(b *gwapiv1.GRPCBackendRef) gwapiv1.BackendObjectReference { return b.BackendObjectReference })
	})
}

// newPoolRoute describes a route of kind with n rules, rule(i) giving rule i's name as written
// and its backendRefs.
func newPoolRoute(kind string, obj client.Object, parents []gwapiv1.ParentReference, n int, rule func(int) (*gwapiv1.SectionName, []gwapiv1.BackendObjectReference)) poolRoute {
	names := make([]*gwapiv1.SectionName, n)
	refs := make([][]gwapiv1.BackendObjectReference, n)
	for i := range n {
		names[i], refs[i] = rule(i)
	}
	return poolRoute{kind: kind, obj: obj, parentRefs: parents, ruleNames: ruleNamesOf(names), ruleRefs: refs}
}

// objectRefs maps a rule's backendRefs (of any route kind) to what they reference.
func objectRefs[T any](items []T, ref func(*T) gwapiv1.BackendObjectReference) []gwapiv1.BackendObjectReference {
	out := make([]gwapiv1.BackendObjectReference, len(items))
	for i := range items {
		out[i] = ref(&items[i])
	}
	return out
}

func (r poolRoute) namespace() string { return r.obj.GetNamespace() }

func (r poolRoute) nn() types.NamespacedName {
	return types.NamespacedName{Namespace: r.obj.GetNamespace(), Name: r.obj.GetName()}
}

// String is "Kind namespace/name".
func (r poolRoute) String() string { return r.kind + " " + r.nn().String() }

// servedParents lists the route's parentRefs that name served Gateways of ours.
func (r poolRoute) servedParents(s *Snapshot) []gwapiv1.ParentReference {
	return s.servedParentRefs(r.namespace(), r.parentRefs)
}

// rulePools lists the usable pools rule i references (existing, permitted, fit for the kind),
// in order.
func (r poolRoute) rulePools(s *Snapshot, i int) []types.NamespacedName {
	var out []types.NamespacedName
	for _, ref := range r.ruleRefs[i] {
		if !IsPoolRef(ref) {
			continue
		}
		nn := types.NamespacedName{Namespace: RefNamespace(ref, r.namespace()), Name: string(ref.Name)}
		if s.usablePool(r.kind, r.namespace(), nn) != nil && !containsNN(out, nn) {
			out = append(out, nn)
		}
	}
	return out
}

// poolRefs lists the pools the route's rules name, without duplicates.
func (r poolRoute) poolRefs() []types.NamespacedName {
	var out []types.NamespacedName
	for _, refs := range r.ruleRefs {
		for _, ref := range refs {
			out = addPoolRef(out, ref, r.namespace())
		}
	}
	return out
}

// multiPoolWarnings are the MultiplePoolsInRule warnings of the route's rules that split
// traffic across several usable pools.
func (r poolRoute) multiPoolWarnings(s *Snapshot) []Event {
	var out []Event
	for i := range r.ruleRefs {
		if pools := r.rulePools(s, i); len(pools) > 1 {
			out = append(out, Event{Type: "Warning", Reason: "MultiplePoolsInRule", Message: multiPoolMessage(r, r.ruleNames[i], pools)})
		}
	}
	return out
}

// statusParents are the route's status entries for our Gateways, as its own translation
// computes them (Envoy Gateway's verdict on the generated route, mirrored).
func (r poolRoute) statusParents(s *Snapshot) []gwapiv1.RouteParentStatus {
	switch o := r.obj.(type) {
	case *gwapiv1.HTTPRoute:
		return RouteParents(s, o, GeneratedRoute(s, o))
	default:
		return ForCopiedRoute(s, CopiedRouteKindOf(r.kind), r.obj).Parents
	}
}

// poolRoute returns the user's route of kind (in PoolRouteKinds) named nn, or false.
func (s *Snapshot) poolRoute(kind string, nn types.NamespacedName) (poolRoute, bool) {
	switch kind {
	case "HTTPRoute":
		if r := s.HTTPRoute(nn); r != nil && r.Labels[LabelManagedBy] != ManagedByValue {
			return httpPoolRoute(r), true
		}
	case "GRPCRoute":
		if r := find(s.GRPCRoutes, nn); r != nil && r.Labels[LabelManagedBy] != ManagedByValue {
			return grpcPoolRoute(r), true
		}
	}
	return poolRoute{}, false
}

// poolRoutes lists the user's routes of PoolRouteKinds on our Gateways: HTTPRoutes, then
// GRPCRoutes, each sorted by namespace and name.
func (s *Snapshot) poolRoutes() []poolRoute {
	var out []poolRoute
	for _, r := range s.routesByName() {
		if r.Labels[LabelManagedBy] != ManagedByValue && s.OnOurGateways(r) {
			out = append(out, httpPoolRoute(r))
		}
	}
	grpc := make([]*gwapiv1.GRPCRoute, 0, len(s.GRPCRoutes))
	for i := range s.GRPCRoutes {
		r := &s.GRPCRoutes[i]
		if r.Labels[LabelManagedBy] != ManagedByValue && len(s.ourParentIndexes(r.Namespace, r.Spec.ParentRefs)) > 0 {
			grpc = append(grpc, r)
		}
	}
	sortByName(grpc)
	for _, r := range grpc {
		out = append(out, grpcPoolRoute(r))
	}
	return out
}

// poolRoutesUsing lists the routes on our Gateways whose rules reference pool with permission.
func (s *Snapshot) poolRoutesUsing(pool types.NamespacedName) []poolRoute {
	var out []poolRoute
	for _, r := range s.poolRoutes() {
		if containsNN(r.poolRefs(), pool) && s.poolRefPermitted(r.kind, r.namespace(), pool) {
			out = append(out, r)
		}
	}
	return out
}

// routesPhrase names routes for a message, grouped by kind in PoolRouteKinds' order:
// "HTTPRoute a/b, a/c and GRPCRoute a/d".
func routesPhrase(routes []poolRoute) string {
	byKind := map[string][]string{}
	for _, r := range routes {
		byKind[r.kind] = append(byKind[r.kind], r.nn().String())
	}
	var parts []string
	for _, k := range PoolRouteKinds {
		if names := byKind[k]; len(names) > 0 {
			sort.Strings(names)
			parts = append(parts, k+" "+strings.Join(names, ", "))
		}
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return fmt.Sprintf("%s and %s", strings.Join(parts[:len(parts)-1], ", "), parts[len(parts)-1])
}

// poolFitsKind tells whether pool can serve rules of a route of kind: a GRPCRoute's rules need
// a pool of h2c model servers.
func poolFitsKind(pool *giev1.InferencePool, kind string) bool {
	return kind != "GRPCRoute" || string(pool.Spec.AppProtocol) == AppProtocolH2C
}

// PoolRefsOf lists the pools the rules of route (of a kind in PoolRouteKinds) name, without
// duplicates, whether or not a ReferenceGrant allows them; nil for other kinds.
func PoolRefsOf(route client.Object) []types.NamespacedName {
	switch r := route.(type) {
	case *gwapiv1.HTTPRoute:
		return PoolRefs(r)
	case *gwapiv1.GRPCRoute:
		return grpcPoolRoute(r).poolRefs()
	}
	return nil
}

// PoolRouteObjects lists the user's routes on our Gateways whose rules reference pool with
// permission: HTTPRoutes, then GRPCRoutes, each sorted by namespace and name.
func (s *Snapshot) PoolRouteObjects(pool types.NamespacedName) []client.Object {
	var out []client.Object
	for _, r := range s.poolRoutesUsing(pool) {
		out = append(out, r.obj)
	}
	return out
}

// UsablePools lists the pools the rules of the user's route (of a kind in PoolRouteKinds) send
// traffic to: existing, permitted and fit for the kind, without duplicates.
func (s *Snapshot) UsablePools(route client.Object) []types.NamespacedName {
	var r poolRoute
	switch o := route.(type) {
	case *gwapiv1.HTTPRoute:
		r = httpPoolRoute(o)
	case *gwapiv1.GRPCRoute:
		r = grpcPoolRoute(o)
	default:
		return nil
	}
	var out []types.NamespacedName
	for i := range r.ruleRefs {
		for _, nn := range r.rulePools(s, i) {
			if !containsNN(out, nn) {
				out = append(out, nn)
			}
		}
	}
	return out
}
