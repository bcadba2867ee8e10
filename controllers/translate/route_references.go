package translate

import (
	"k8s.io/apimachinery/pkg/types"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
)

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

// IsGatewayParentRef tells whether a parentRef names a Gateway (the default kind).
func IsGatewayParentRef(ref gwapiv1.ParentReference) bool {
	group := gwapiv1.GroupName
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	kind := "Gateway"
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	return group == gwapiv1.GroupName && kind == "Gateway"
}

// ParentGateway is the Gateway a parentRef of a route in routeNamespace names.
func ParentGateway(ref gwapiv1.ParentReference, routeNamespace string) types.NamespacedName {
	ns := routeNamespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	return types.NamespacedName{Namespace: ns, Name: string(ref.Name)}
}

// ParentGateways lists the Gateways a route's parentRefs name, without duplicates.
func ParentGateways(route *gwapiv1.HTTPRoute) []types.NamespacedName {
	var out []types.NamespacedName
	seen := map[types.NamespacedName]bool{}
	for _, ref := range route.Spec.ParentRefs {
		if !IsGatewayParentRef(ref) {
			continue
		}
		nn := ParentGateway(ref, route.Namespace)
		if !seen[nn] {
			seen[nn] = true
			out = append(out, nn)
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
