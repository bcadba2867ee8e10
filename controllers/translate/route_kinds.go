package translate

import (
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// CopiedRouteKind is a route kind Envoy Gateway serves that the operator serves by a copy on the
// generated Gateway (route_copied.go): GRPCRoute, TLSRoute, TCPRoute and UDPRoute, in the
// gateway.networking.k8s.io/v1 version Envoy Gateway v1.9.1 reads. HTTPRoutes have their own
// translation (route.go); of these kinds, GRPCRoute rules reach InferencePools too
// (ReachesPools).
type CopiedRouteKind struct {
	// SnapshotKind names the kind, makes its objects and lists, and holds them in a Snapshot:
	// the user's and the generated copies.
	*SnapshotKind
	// Parts points at an object's parentRefs and its status.
	Parts func(client.Object) (*[]gwapiv1.ParentReference, *gwapiv1.RouteStatus)
	// BackendRefs points at the backendRefs of every rule of an object, in order.
	BackendRefs func(client.Object) []*gwapiv1.BackendRef
	// RuleNames lists the names the user gave the object's rules ("" for an unnamed rule).
	RuleNames func(client.Object) []string
}

// copiedKind builds the CopiedRouteKind of kind from its Go types (T the route, L its list), its
// parts, its rules' backendRefs and names, and the Snapshot's slice.
func copiedKind[T any, PT interface {
	*T
	client.Object
}, L any, PL interface {
	*L
	client.ObjectList
}](kind string, items func(PL) []T, slice func(*Snapshot) *[]T,
	parts func(PT) (*[]gwapiv1.ParentReference, *gwapiv1.RouteStatus),
	rules func(PT) (names []*gwapiv1.SectionName, refs [][]*gwapiv1.BackendRef)) *CopiedRouteKind {
	return &CopiedRouteKind{
		SnapshotKind: describeKind[T, PT, L, PL](kind, items, slice),
		Parts:        func(o client.Object) (*[]gwapiv1.ParentReference, *gwapiv1.RouteStatus) { return parts(o.(PT)) },
		BackendRefs: func(o client.Object) []*gwapiv1.BackendRef {
			_, refs := rules(o.(PT))
			var out []*gwapiv1.BackendRef
			for _, r := range refs {
				out = append(out, r...)
			}
			return out
		},
		RuleNames: func(o client.Object) []string {
			names, _ := rules(o.(PT))
			out := make([]string, len(names))
			for i, n := range names {
				out[i] = ptrString(n)
			}
			return out
		},
	}
}

// CopiedRouteKinds are the route kinds served by copy, in the order of the Snapshot's fields.
var CopiedRouteKinds = []*CopiedRouteKind{
	copiedKind("GRPCRoute", func(l *gwapiv1.GRPCRouteList) []gwapiv1.GRPCRoute { return l.Items },
		func(s *Snapshot) *[]gwapiv1.GRPCRoute { return &s.GRPCRoutes },
		func(r *gwapiv1.GRPCRoute) (*[]gwapiv1.ParentReference, *gwapiv1.RouteStatus) {
			return &r.Spec.ParentRefs, &r.Status.RouteStatus
		},
		func(r *gwapiv1.GRPCRoute) ([]*gwapiv1.SectionName, [][]*gwapiv1.BackendRef) {
			names, refs := make([]*gwapiv1.SectionName, len(r.Spec.Rules)), make([][]*gwapiv1.BackendRef, len(r.Spec.Rules))
			for i := range r.Spec.Rules {
				rule := &r.Spec.Rules[i]
				names[i] = rule.Name
				for j := range rule.BackendRefs {
					refs[i] = append(refs[i], &rule.BackendRefs[j].BackendRef)
				}
			}
			return names, refs
		}),
	copiedKind("TLSRoute", func(l *gwapiv1.TLSRouteList) []gwapiv1.TLSRoute { return l.Items },
		func(s *Snapshot) *[]gwapiv1.TLSRoute { return &s.TLSRoutes },
		func(r *gwapiv1.TLSRoute) (*[]gwapiv1.ParentReference, *gwapiv1.RouteStatus) {
			return &r.Spec.ParentRefs, &r.Status.RouteStatus
		},
		func(r *gwapiv1.TLSRoute) ([]*gwapiv1.SectionName, [][]*gwapiv1.BackendRef) {
			names, refs := make([]*gwapiv1.SectionName, len(r.Spec.Rules)), make([][]*gwapiv1.BackendRef, len(r.Spec.Rules))
			for i := range r.Spec.Rules {
				names[i], refs[i] = r.Spec.Rules[i].Name, pointers(r.Spec.Rules[i].BackendRefs)
			}
			return names, refs
		}),
	copiedKind("TCPRoute", func(l *gwapiv1.TCPRouteList) []gwapiv1.TCPRoute { return l.Items },
		func(s *Snapshot) *[]gwapiv1.TCPRoute { return &s.TCPRoutes },
		func(r *gwapiv1.TCPRoute) (*[]gwapiv1.ParentReference, *gwapiv1.RouteStatus) {
			return &r.Spec.ParentRefs, &r.Status.RouteStatus
		},
		func(r *gwapiv1.TCPRoute) ([]*gwapiv1.SectionName, [][]*gwapiv1.BackendRef) {
			names, refs := make([]*gwapiv1.SectionName, len(r.Spec.Rules)), make([][]*gwapiv1.BackendRef, len(r.Spec.Rules))
			for i := range r.Spec.Rules {
				names[i], refs[i] = r.Spec.Rules[i].Name, pointers(r.Spec.Rules[i].BackendRefs)
			}
			return names, refs
		}),
	copiedKind("UDPRoute", func(l *gwapiv1.UDPRouteList) []gwapiv1.UDPRoute { return l.Items },
		func(s *Snapshot) *[]gwapiv1.UDPRoute { return &s.UDPRoutes },
		func(r *gwapiv1.UDPRoute) (*[]gwapiv1.ParentReference, *gwapiv1.RouteStatus) {
			return &r.Spec.ParentRefs, &r.Status.RouteStatus
		},
		func(r *gwapiv1.UDPRoute) ([]*gwapiv1.SectionName, [][]*gwapiv1.BackendRef) {
			names, refs := make([]*gwapiv1.SectionName, len(r.Spec.Rules)), make([][]*gwapiv1.BackendRef, len(r.Spec.Rules))
			for i := range r.Spec.Rules {
				names[i], refs[i] = r.Spec.Rules[i].Name, pointers(r.Spec.Rules[i].BackendRefs)
			}
			return names, refs
		}),
}

// ReachesPools tells whether rules of the kind may send traffic to InferencePools (PoolRouteKinds).
func (k *CopiedRouteKind) ReachesPools() bool { return slices.Contains(PoolRouteKinds, k.Kind) }

// CopiedRouteKindOf returns the CopiedRouteKind named kind, or nil.
func CopiedRouteKindOf(kind string) *CopiedRouteKind {
	for _, k := range CopiedRouteKinds {
		if k.Kind == kind {
			return k
		}
	}
	return nil
}

// ServedRouteKinds are every route kind the operator serves on its Gateways.
func ServedRouteKinds() []string {
	out := []string{"HTTPRoute"}
	for _, k := range CopiedRouteKinds {
		out = append(out, k.Kind)
	}
	return out
}

// pointers points at each item of items.
func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
