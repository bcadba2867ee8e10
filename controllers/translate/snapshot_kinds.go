package translate

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
)

// SnapshotKind describes one kind a Snapshot holds: how to make an object and a list of it, the
// items of such a list, and the Snapshot's list of the kind. Whatever fills or reads a Snapshot
// kind by kind (the golden decoder, the scale harness, Snapshot.Add) goes through SnapshotKinds,
// so a kind is added in one place.
type SnapshotKind struct {
	Kind string
	// New returns an empty object, NewList an empty list, of the kind.
	New     func() client.Object
	NewList func() client.ObjectList
	// Items points at the items of a list made by NewList.
	Items func(client.ObjectList) []client.Object
	// is tells whether an object is of the kind.
	is func(client.Object) bool
	// inSnapshot points at the Snapshot's objects of the kind; addTo appends a copy of one.
	inSnapshot func(*Snapshot) []client.Object
	addTo      func(*Snapshot, client.Object)
}

// describeKind builds the SnapshotKind of kind from its Go types (T the object, L its list), its
// list's items and the Snapshot's slice.
func describeKind[T any, PT interface {
	*T
	client.Object
}, L any, PL interface {
	*L
	client.ObjectList
}](kind string, items func(PL) []T, slice func(*Snapshot) *[]T) *SnapshotKind {
	pointers := func(list []T) []client.Object {
		out := make([]client.Object, len(list))
		for i := range list {
			out[i] = PT(&list[i])
		}
		return out
	}
	return &SnapshotKind{
		Kind:       kind,
		New:        func() client.Object { return PT(new(T)) },
		NewList:    func() client.ObjectList { return PL(new(L)) },
		Items:      func(l client.ObjectList) []client.Object { return pointers(items(l.(PL))) },
		is:         func(o client.Object) bool { _, ok := o.(PT); return ok },
		inSnapshot: func(s *Snapshot) []client.Object { return pointers(*slice(s)) },
		addTo: func(s *Snapshot, o client.Object) {
			list := slice(s)
			*list = append(*list, *o.(PT))
		},
	}
}

// SnapshotKinds are the kinds a Snapshot holds, in the order of its fields.
var SnapshotKinds = []*SnapshotKind{
	describeKind("GatewayClass", func(l *gwapiv1.GatewayClassList) []gwapiv1.GatewayClass { return l.Items },
		func(s *Snapshot) *[]gwapiv1.GatewayClass { return &s.GatewayClasses }),
	describeKind(v1alpha1.Kind, func(l *v1alpha1.InferenceGatewayParametersList) []v1alpha1.InferenceGatewayParameters { return l.Items },
		func(s *Snapshot) *[]v1alpha1.InferenceGatewayParameters { return &s.Parameters }),
	describeKind("Gateway", func(l *gwapiv1.GatewayList) []gwapiv1.Gateway { return l.Items },
		func(s *Snapshot) *[]gwapiv1.Gateway { return &s.Gateways }),
	describeKind("HTTPRoute", func(l *gwapiv1.HTTPRouteList) []gwapiv1.HTTPRoute { return l.Items },
		func(s *Snapshot) *[]gwapiv1.HTTPRoute { return &s.HTTPRoutes }),
	CopiedRouteKinds[0].SnapshotKind, CopiedRouteKinds[1].SnapshotKind, CopiedRouteKinds[2].SnapshotKind, CopiedRouteKinds[3].SnapshotKind,
	describeKind(InferencePoolKind, func(l *giev1.InferencePoolList) []giev1.InferencePool { return l.Items },
		func(s *Snapshot) *[]giev1.InferencePool { return &s.Pools }),
	describeKind("ReferenceGrant", func(l *gwapiv1beta1.ReferenceGrantList) []gwapiv1beta1.ReferenceGrant { return l.Items },
		func(s *Snapshot) *[]gwapiv1beta1.ReferenceGrant { return &s.Grants }),
	describeKind("Service", func(l *corev1.ServiceList) []corev1.Service { return l.Items },
		func(s *Snapshot) *[]corev1.Service { return &s.Services }),
	describeKind("EndpointSlice", func(l *discoveryv1.EndpointSliceList) []discoveryv1.EndpointSlice { return l.Items },
		func(s *Snapshot) *[]discoveryv1.EndpointSlice { return &s.EndpointSlices }),
	policyKindInfos[0].SnapshotKind, policyKindInfos[1].SnapshotKind, policyKindInfos[2].SnapshotKind, policyKindInfos[3].SnapshotKind,
	describeKind("Namespace", func(l *corev1.NamespaceList) []corev1.Namespace { return l.Items },
		func(s *Snapshot) *[]corev1.Namespace { return &s.Namespaces }),
}

// Add appends a copy of obj to the Snapshot's list of its kind; false when a Snapshot holds no
// such kind.
func (s *Snapshot) Add(obj client.Object) bool {
	for _, k := range SnapshotKinds {
		if k.is(obj) {
			k.addTo(s, obj)
			return true
		}
	}
	return false
}

// ObjectsOf lists the Snapshot's objects of kind (nil for a kind it does not hold).
func (s *Snapshot) ObjectsOf(kind string) []client.Object {
	for _, k := range SnapshotKinds {
		if k.Kind == kind {
			return k.inSnapshot(s)
		}
	}
	return nil
}
