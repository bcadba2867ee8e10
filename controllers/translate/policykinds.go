package translate

import (
	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// PolicyKindInfo describes one of the Envoy Gateway policy kinds the operator carries over: how
// to make one and a list of them, where its targets, merge type and status are, and which list of
// a Snapshot holds them. Code that handles every carried-over kind goes through it, so a kind is
// added in one place (policyKindInfos); what differs in meaning between kinds (what a carried copy
// keeps, how the pool's policies merge them) stays with that meaning.
type PolicyKindInfo struct {
	Kind string
	// New returns an empty object, NewList an empty list, of the kind.
	New     func() client.Object
	NewList func() client.ObjectList
	// Items points at the items of a list made by NewList.
	Items func(client.ObjectList) []client.Object
	// parts points at an object's targets, merge type (nil for a kind without one) and status.
	parts func(client.Object) (*egv1a1.PolicyTargetReferences, *egv1a1.MergeType, *gwapiv1.PolicyStatus)
	// is tells whether an object is of the kind.
	is func(client.Object) bool
	// inSnapshot points at the Snapshot's objects of the kind; addTo appends a copy of one.
	inSnapshot func(*Snapshot) []client.Object
	addTo      func(*Snapshot, client.Object)
}

// describePolicyKind builds the PolicyKindInfo of kind from its Go types: T the object, L its
// list, with the list's items, the Snapshot's slice, and the object's parts.
func describePolicyKind[T any, PT interface {
	*T
	client.Object
}, L any, PL interface {
	*L
	client.ObjectList
}](kind string, items func(PL) []T, slice func(*Snapshot) *[]T,
	parts func(PT) (*egv1a1.PolicyTargetReferences, *egv1a1.MergeType, *gwapiv1.PolicyStatus)) *PolicyKindInfo {
	pointers := func(list []T) []client.Object {
		out := make([]client.Object, len(list))
		for i := range list {
			out[i] = PT(&list[i])
		}
		return out
	}
	return &PolicyKindInfo{
		Kind:    kind,
		New:     func() client.Object { return PT(new(T)) },
		NewList: func() client.ObjectList { return PL(new(L)) },
		Items:   func(l client.ObjectList) []client.Object { return pointers(items(l.(PL))) },
		parts: func(o client.Object) (*egv1a1.PolicyTargetReferences, *egv1a1.MergeType, *gwapiv1.PolicyStatus) {
			return parts(o.(PT))
		},
		is:         func(o client.Object) bool { _, ok := o.(PT); return ok },
		inSnapshot: func(s *Snapshot) []client.Object { return pointers(*slice(s)) },
		addTo: func(s *Snapshot, o client.Object) {
			list := slice(s)
			*list = append(*list, *o.(PT))
		},
	}
}

// policyKindInfos are the carried-over kinds, in PolicyKinds' order.
var policyKindInfos = []*PolicyKindInfo{
	describePolicyKind(KindSecurityPolicy,
		func(l *egv1a1.SecurityPolicyList) []egv1a1.SecurityPolicy { return l.Items },
		func(s *Snapshot) *[]egv1a1.SecurityPolicy { return &s.SecurityPolicies },
		func(p *egv1a1.SecurityPolicy) (*egv1a1.PolicyTargetReferences, *egv1a1.MergeType, *gwapiv1.PolicyStatus) {
			return &p.Spec.PolicyTargetReferences, p.Spec.MergeType, &p.Status
		}),
	describePolicyKind(KindBackendTrafficPolicy,
		func(l *egv1a1.BackendTrafficPolicyList) []egv1a1.BackendTrafficPolicy { return l.Items },
		func(s *Snapshot) *[]egv1a1.BackendTrafficPolicy { return &s.BackendTrafficPolicies },
		func(p *egv1a1.BackendTrafficPolicy) (*egv1a1.PolicyTargetReferences, *egv1a1.MergeType, *gwapiv1.PolicyStatus) {
			return &p.Spec.PolicyTargetReferences, p.Spec.MergeType, &p.Status
		}),
	describePolicyKind(KindClientTrafficPolicy,
		func(l *egv1a1.ClientTrafficPolicyList) []egv1a1.ClientTrafficPolicy { return l.Items },
		func(s *Snapshot) *[]egv1a1.ClientTrafficPolicy { return &s.ClientTrafficPolicies },
		func(p *egv1a1.ClientTrafficPolicy) (*egv1a1.PolicyTargetReferences, *egv1a1.MergeType, *gwapiv1.PolicyStatus) {
			return &p.Spec.PolicyTargetReferences, nil, &p.Status // ClientTrafficPolicies do not merge
		}),
	describePolicyKind(KindEnvoyExtensionPolicy,
		func(l *egv1a1.EnvoyExtensionPolicyList) []egv1a1.EnvoyExtensionPolicy { return l.Items },
		func(s *Snapshot) *[]egv1a1.EnvoyExtensionPolicy { return &s.EnvoyExtensionPolicies },
		func(p *egv1a1.EnvoyExtensionPolicy) (*egv1a1.PolicyTargetReferences, *egv1a1.MergeType, *gwapiv1.PolicyStatus) {
			return &p.Spec.PolicyTargetReferences, p.Spec.MergeType, &p.Status
		}),
}

// PolicyKindOf describes the carried-over kind (nil for another).
func PolicyKindOf(kind string) *PolicyKindInfo {
	for _, k := range policyKindInfos {
		if k.Kind == kind {
			return k
		}
	}
	return nil
}

// policyKindOfObject describes the kind of obj (nil when it is not a carried-over policy).
func policyKindOfObject(obj client.Object) *PolicyKindInfo {
	for _, k := range policyKindInfos {
		if k.is(obj) {
			return k
		}
	}
	return nil
}

// AddPolicy appends a copy of obj, a policy of a carried-over kind, to the Snapshot's list of its
// kind (and ignores any other object).
func (s *Snapshot) AddPolicy(obj client.Object) {
	if k := policyKindOfObject(obj); k != nil {
		k.addTo(s, obj)
	}
}

// policyParts points at the targets, merge type and status of a policy of a carried-over kind
// (nil, nil, nil for another object).
func policyParts(obj client.Object) (*egv1a1.PolicyTargetReferences, *egv1a1.MergeType, *gwapiv1.PolicyStatus) {
	if k := policyKindOfObject(obj); k != nil {
		return k.parts(obj)
	}
	return nil, nil, nil
}
