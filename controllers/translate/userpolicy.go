package translate

import (
	"sort"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The Envoy Gateway policies users attach to their Gateways and HTTPRoutes. Envoy Gateway only
// attaches policies to objects of its own classes, so a policy naming a Gateway of ours, or a
// route attached to one, would do nothing: the operator carries it over to the generated objects
// (userpolicy_copy.go), merging it into its own policies where they occupy the same slot
// (pool_policyspecs.go, gateway.go).

// The kinds of Envoy Gateway policies the operator carries over.
const (
	KindSecurityPolicy       = egv1a1.KindSecurityPolicy
	KindBackendTrafficPolicy = egv1a1.KindBackendTrafficPolicy
	KindClientTrafficPolicy  = egv1a1.KindClientTrafficPolicy
	KindEnvoyExtensionPolicy = egv1a1.KindEnvoyExtensionPolicy
)

// PolicyKinds lists the carried-over kinds.
var PolicyKinds = []string{KindSecurityPolicy, KindBackendTrafficPolicy, KindClientTrafficPolicy, KindEnvoyExtensionPolicy}

// UserPolicy is a user's policy of one of the carried-over kinds.
type UserPolicy struct {
	Kind   string
	Object client.Object // *egv1a1.SecurityPolicy, *egv1a1.BackendTrafficPolicy, ...
}

// Targets are the policy's targetRef(s) and targetSelectors.
func (p UserPolicy) Targets() egv1a1.PolicyTargetReferences {
	if refs, _, _ := policyParts(p.Object); refs != nil {
		return *refs
	}
	return egv1a1.PolicyTargetReferences{}
}

// Source is the policy as the source of what the operator generates from it.
func (p UserPolicy) Source() Source {
	return Source{Kind: p.Kind, Namespace: p.Object.GetNamespace(), Name: p.Object.GetName()}
}

// Key is "Kind/namespace/name".
func (p UserPolicy) Key() string { return p.Source().String() }

// UserPolicies lists the user's policies of kind in the snapshot (generated ones left out), in
// Envoy Gateway's order of precedence: the oldest first, then by namespace and name. Where two
// of them target the same object, the first keeps it.
func (s *Snapshot) UserPolicies(kind string) []UserPolicy {
	var out []UserPolicy
	for _, o := range s.policiesOfKind(kind) {
		if o.GetLabels()[LabelManagedBy] != ManagedByValue {
			out = append(out, UserPolicy{Kind: kind, Object: o})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return olderFirst(out[i].Object, out[j].Object) })
	return out
}

// policiesOfKind lists the snapshot's policies of kind, the user's and the generated ones, as
// pointers into the snapshot.
func (s *Snapshot) policiesOfKind(kind string) []client.Object {
	if k := PolicyKindOf(kind); k != nil {
		return k.inSnapshot(s)
	}
	return nil
}

// generatedOfKind lists the snapshot's generated policies of kind.
func (s *Snapshot) generatedOfKind(kind string) []client.Object {
	var out []client.Object
	for _, o := range s.policiesOfKind(kind) {
		if o.GetLabels()[LabelManagedBy] == ManagedByValue {
			out = append(out, o)
		}
	}
	return out
}

// UserPolicy returns the user's policy kind/nn, or false.
func (s *Snapshot) UserPolicy(kind, namespace, name string) (UserPolicy, bool) {
	for _, p := range s.UserPolicies(kind) {
		if p.Object.GetNamespace() == namespace && p.Object.GetName() == name {
			return p, true
		}
	}
	return UserPolicy{}, false
}

// olderFirst orders objects by creation time, then namespace and name.
func olderFirst(a, b client.Object) bool {
	ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	if !ta.Equal(&tb) {
		return ta.Before(&tb)
	}
	if a.GetNamespace() != b.GetNamespace() {
		return a.GetNamespace() < b.GetNamespace()
	}
	return a.GetName() < b.GetName()
}

// generatedPolicy returns the generated object of kind ns/name in the snapshot (with Envoy
// Gateway's status), or nil.
func (s *Snapshot) generatedPolicy(kind, ns, name string) client.Object {
	for _, o := range s.generatedOfKind(kind) {
		if o.GetNamespace() == ns && o.GetName() == name {
			return o
		}
	}
	return nil
}

// PolicyStatusOf points at the status of a policy of a carried-over kind (nil for another
// object).
func PolicyStatusOf(obj client.Object) *gwapiv1.PolicyStatus {
	_, _, status := policyParts(obj)
	return status
}
