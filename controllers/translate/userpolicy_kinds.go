package translate

import (
	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// PolicyKindInfo describes one of the Envoy Gateway policy kinds the operator carries over: what
// every SnapshotKind says, and where its targets, merge type and status are. Code that handles
// every carried-over kind goes through it, so a kind is added in one place (policyKindInfos); what
// differs in meaning between kinds (what a carried copy keeps, how the pool's policies merge
// them) stays with that meaning.
type PolicyKindInfo struct {
	*SnapshotKind
	// parts points at an object's targets, merge type (nil for a kind without one) and status.
	parts func(client.Object) (*egv1a1.PolicyTargetReferences, *egv1a1.MergeType, *gwapiv1.PolicyStatus)
}

// describePolicyKind builds the PolicyKindInfo of kind from its Go types (T the object, L its
// list), its list's items, the Snapshot's slice, and the object's parts.
func describePolicyKind[T any, PT interface {
	*T
	client.Object
}, L any, PL interface {
	*L
	client.ObjectList
}](kind string, items func(PL) []T, slice func(*Snapshot) *[]T,
	parts func(PT) (*egv1a1.PolicyTargetReferences, *egv1a1.MergeType, *gwapiv1.PolicyStatus)) *PolicyKindInfo {
	return &PolicyKindInfo{
		SnapshotKind: describeKind[T, PT, L, PL](kind, items, slice),
		parts: func(o client.Object) (*egv1a1.PolicyTargetReferences, *egv1a1.MergeType, *gwapiv1.PolicyStatus) {
			return parts(o.(PT))
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

// carry returns a copy of o, a policy of kind k, with meta for its metadata and no status: the
// start of the operator's copy of a user's policy.
func (k *PolicyKindInfo) carry(o client.Object, meta metav1.ObjectMeta) client.Object {
	c := o.DeepCopyObject().(client.Object)
	*c.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta) = meta
	c.GetObjectKind().SetGroupVersionKind(egv1a1.GroupVersion.WithKind(k.Kind))
	_, _, status := k.parts(c)
	*status = gwapiv1.PolicyStatus{}
	return c
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

// policyParts points at the targets, merge type and status of a policy of a carried-over kind
// (nil, nil, nil for another object).
func policyParts(obj client.Object) (*egv1a1.PolicyTargetReferences, *egv1a1.MergeType, *gwapiv1.PolicyStatus) {
	if k := policyKindOfObject(obj); k != nil {
		return k.parts(obj)
	}
	return nil, nil, nil
}
