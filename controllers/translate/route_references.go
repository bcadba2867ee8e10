package translate

import (
	"k8s.io/apimachinery/pkg/types"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
)

// Which pools a route's rules reference, and which of them it may use (the pool exists and a
// ReferenceGrant permits a reference across namespaces): the one "usable pool" rule that
// routes, pools and policies all follow.

// IsPoolRef tells whether a backendRef names an InferencePool.
func IsPoolRef(ref gwapiv1.BackendObjectReference) bool {
	return ref.Group != nil && string(*ref.Group) == InferenceGroup &&
		ref.Kind != nil && string(*ref.Kind) == InferencePoolKind
}

// RefNamespace is the namespace a backendRef of a route in routeNamespace points into.
func RefNamespace(ref gwapiv1.BackendObjectReference, routeNamespace string) string {
	if ref.Namespace != nil && *ref.Namespace != "" {
		return string(*ref.Namespace)
	}
	return routeNamespace
}

// PoolRefs lists the InferencePools a route's rules name, in rule order, without duplicates.
// Cross-namespace refs are listed whether or not a ReferenceGrant allows them.
func PoolRefs(route *gwapiv1.HTTPRoute) []types.NamespacedName {
	var out []types.NamespacedName
	seen := map[types.NamespacedName]bool{}
	for _, rule := range route.Spec.Rules {
		for _, br := range rule.BackendRefs {
			if !IsPoolRef(br.BackendObjectReference) {
				continue
			}
			nn := types.NamespacedName{Namespace: RefNamespace(br.BackendObjectReference, route.Namespace), Name: string(br.Name)}
			if !seen[nn] {
				seen[nn] = true
				out = append(out, nn)
			}
		}
	}
	return out
}

// ReferencePermitted tells whether an object of kind fromKind in fromNamespace may reference
// the object (toGroup, toKind, toName) in toNamespace: always within a namespace, otherwise only
// when a ReferenceGrant in toNamespace allows it.
func ReferencePermitted(grants []gwapiv1beta1.ReferenceGrant, fromGroup, fromKind, fromNamespace, toGroup, toKind, toNamespace, toName string) bool {
	if fromNamespace == toNamespace {
		return true
	}
	for i := range grants {
		g := &grants[i]
		if g.Namespace != toNamespace {
			continue
		}
		fromOK := false
		for _, f := range g.Spec.From {
			if string(f.Group) == fromGroup && string(f.Kind) == fromKind && string(f.Namespace) == fromNamespace {
				fromOK = true
				break
			}
		}
		if !fromOK {
			continue
		}
		for _, t := range g.Spec.To {
			if string(t.Group) == toGroup && string(t.Kind) == toKind && (t.Name == nil || *t.Name == "" || string(*t.Name) == toName) {
				return true
			}
		}
	}
	return false
}

// PoolRefPermitted tells whether route may reference the pool pool (same namespace, or a
// ReferenceGrant in the pool's namespace allows HTTPRoutes of the route's namespace).
func (s *Snapshot) PoolRefPermitted(route *gwapiv1.HTTPRoute, pool types.NamespacedName) bool {
	return s.poolRefPermitted("HTTPRoute", route.Namespace, pool)
}

// poolRefPermitted tells whether a route of kind in ns may reference the pool pool.
func (s *Snapshot) poolRefPermitted(kind, ns string, pool types.NamespacedName) bool {
	return ReferencePermitted(s.Grants, gwapiv1.GroupName, kind, ns,
		InferenceGroup, InferencePoolKind, pool.Namespace, pool.Name)
}

// usablePool returns the pool nn when a route of kind in ns may send traffic to it: it
// exists, has target ports, fits the kind (poolFitsKind), and the route may reference it. A
// reference to any other becomes a Service that cannot exist (design.md §10).
func (s *Snapshot) usablePool(kind, ns string, nn types.NamespacedName) *giev1.InferencePool {
	if p := s.Pool(nn); p != nil && len(p.Spec.TargetPorts) > 0 && poolFitsKind(p, kind) && s.poolRefPermitted(kind, ns, nn) {
		return p
	}
	return nil
}

// RoutesUsingPool lists the HTTPRoutes on our Gateways whose rules reference pool with
// permission, sorted by namespace and name.
func (s *Snapshot) RoutesUsingPool(pool types.NamespacedName) []*gwapiv1.HTTPRoute {
	var out []*gwapiv1.HTTPRoute
	for _, r := range s.poolRoutesUsing(pool) {
		if route, ok := r.obj.(*gwapiv1.HTTPRoute); ok {
			out = append(out, route)
		}
	}
	return out
}

// rulePools lists the usable pools a rule of an HTTPRoute references (existing, permitted), in
// order.
func rulePools(s *Snapshot, route *gwapiv1.HTTPRoute, rule gwapiv1.HTTPRouteRule) []types.NamespacedName {
	var out []types.NamespacedName
	for _, br := range rule.BackendRefs {
		if !IsPoolRef(br.BackendObjectReference) {
			continue
		}
		nn := types.NamespacedName{Namespace: RefNamespace(br.BackendObjectReference, route.Namespace), Name: string(br.Name)}
		if s.usablePool("HTTPRoute", route.Namespace, nn) != nil && !containsNN(out, nn) {
			out = append(out, nn)
		}
	}
	return out
}

func containsNN(list []types.NamespacedName, nn types.NamespacedName) bool {
	for _, x := range list {
		if x == nn {
			return true
		}
	}
	return false
}

// usesPool tells whether a rule has an InferencePool backendRef.
func usesPool(rule *gwapiv1.HTTPRouteRule) bool {
	for _, br := range rule.BackendRefs {
		if IsPoolRef(br.BackendObjectReference) {
			return true
		}
	}
	return false
}
