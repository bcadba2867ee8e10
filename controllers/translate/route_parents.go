package translate

import (
	"k8s.io/apimachinery/pkg/types"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Which of a route's parents are the operator's Gateways, and which of those are served: the
// parentRefs the generated route keeps, and the parents its status reports.

// OurGateway tells whether nn is a Gateway of ours: of one of the operator's classes, or held
// after its class went away (gateway_serving.go).
func (s *Snapshot) OurGateway(nn types.NamespacedName) bool {
	g := s.Gateway(nn)
	return g != nil && s.GatewayServing(g).State != NotOurs
}

// OurServedGateway returns the Gateway nn when it is ours and served (its class is usable, or
// it is held with the settings it was last served with: gateway_serving.go), with those settings.
func (s *Snapshot) OurServedGateway(nn types.NamespacedName) (*gwapiv1.Gateway, Settings, bool) {
	g := s.Gateway(nn)
	if g == nil {
		return nil, Settings{}, false
	}
	v := s.GatewayServing(g)
	return g, v.Settings, v.served()
}

// OurParentRefs lists the indexes of a route's parentRefs that name Gateways of ours.
func (s *Snapshot) OurParentRefs(route *gwapiv1.HTTPRoute) []int {
	return s.ourParentIndexes(route.Namespace, route.Spec.ParentRefs)
}

// ourParentIndexes lists the indexes of refs (of a route of any kind in ns) that name Gateways
// of ours.
func (s *Snapshot) ourParentIndexes(ns string, refs []gwapiv1.ParentReference) []int {
	var out []int
	for i, ref := range refs {
		if IsGatewayParentRef(ref) && s.OurGateway(ParentGateway(ref, ns)) {
			out = append(out, i)
		}
	}
	return out
}

// OnOurGateways tells whether a route has at least one parentRef to a Gateway of ours.
func (s *Snapshot) OnOurGateways(route *gwapiv1.HTTPRoute) bool {
	return len(s.OurParentRefs(route)) > 0
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

// servedParents lists the parentRefs of route (as written) that name Gateways of ours whose
// class is usable: those become parentRefs of the generated route.
func servedParents(s *Snapshot, route *gwapiv1.HTTPRoute) []gwapiv1.ParentReference {
	return s.servedParentRefs(route.Namespace, route.Spec.ParentRefs)
}

// servedParentRefs is servedParents for the parentRefs of a route of any kind in ns.
func (s *Snapshot) servedParentRefs(ns string, refs []gwapiv1.ParentReference) []gwapiv1.ParentReference {
	var out []gwapiv1.ParentReference
	for _, i := range s.ourParentIndexes(ns, refs) {
		ref := refs[i]
		if _, _, ok := s.OurServedGateway(ParentGateway(ref, ns)); ok {
			out = append(out, ref)
		}
	}
	return out
}

// generatedParentRef is the parentRef of the generated route that stands for ref.
func generatedParentRef(ref gwapiv1.ParentReference) gwapiv1.ParentReference {
	out := *ref.DeepCopy()
	out.Name = gwapiv1.ObjectName(GeneratedGatewayName(string(ref.Name)))
	return out
}

// findParentStatus finds the status entry for parentRef ref (of a route in routeNamespace).
func findParentStatus(parents []gwapiv1.RouteParentStatus, ref gwapiv1.ParentReference, routeNamespace string) *gwapiv1.RouteParentStatus {
	for i := range parents {
		if ParentRefEqual(parents[i].ParentRef, ref, routeNamespace) {
			return &parents[i]
		}
	}
	return nil
}

// ParentRefEqual compares two parentRefs of a route in routeNamespace, defaults applied.
func ParentRefEqual(a, b gwapiv1.ParentReference, routeNamespace string) bool {
	if !IsGatewayParentRef(a) || !IsGatewayParentRef(b) {
		return false
	}
	if ParentGateway(a, routeNamespace) != ParentGateway(b, routeNamespace) {
		return false
	}
	if ptrString(a.SectionName) != ptrString(b.SectionName) {
		return false
	}
	return ptrPort(a.Port) == ptrPort(b.Port)
}
