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

// PoolRefs lists the InferencePools an HTTPRoute's rules name, in rule order, without
// duplicates. Cross-namespace refs are listed whether or not a ReferenceGrant allows them.
func PoolRefs(route *gwapiv1.HTTPRoute) []types.NamespacedName {
	var out []types.NamespacedName
	for _, rule := range route.Spec.Rules {
		for _, br := range rule.BackendRefs {
			out = addPoolRef(out, br.BackendObjectReference, route.Namespace)
		}
	}
	return out
}

// addPoolRef appends to out the pool ref (a backendRef of a route in routeNamespace) names,
// unless it names no pool or out has it.
func addPoolRef(out []types.NamespacedName, ref gwapiv1.BackendObjectReference, routeNamespace string) []types.NamespacedName {
	if !IsPoolRef(ref) {
		return out
	}
	nn := types.NamespacedName{Namespace: RefNamespace(ref, routeNamespace), Name: string(ref.Name)}
	if containsNN(out, nn) {
		return out
	}
	return append(out, nn)
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
