package translate

import (
	"fmt"
	"sort"
	"strings"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Envoy Gateway judges the generated policies that carry a user's policy (its copy, and the
// operator's pool and Gateway policies holding the rest of its settings) and writes its verdicts
// on their ancestors, the generated Gateways. A user's policy mirrors them onto its own
// ancestors, the user's Gateways those stand for (userpolicy_status.go builds the entries).

// mirrorVerdicts adds Envoy Gateway's verdicts on the generated policies that carry p: its copy
// (when it is the one desired now) and the operator's policies annotated as carrying it.
func (s *Snapshot) mirrorVerdicts(p UserPolicy, copied []PolicyTarget, generated []client.Object, byKey map[ancestorKey]*ancestorConditions) {
	if len(copied) > 0 {
		if c := s.generatedPolicy(p.Kind, p.Object.GetNamespace(), CarriedPolicyName(p.Object.GetName())); c != nil && isCurrent(c, generated[0]) {
			s.mirrorVerdict(p, c, true, byKey)
		}
	}
	for _, c := range s.policiesCarrying(p) {
		s.mirrorVerdict(p, c, false, byKey)
	}
}

// mirrorVerdict adds Envoy Gateway's verdict on carrier c, per ancestor: its Accepted (when
// about c's current generation) and, for p's copy, its other conditions (Merged, warnings)
// except Overridden, which addOverrides computes.
func (s *Snapshot) mirrorVerdict(p UserPolicy, c client.Object, isCopy bool, byKey map[ancestorKey]*ancestorConditions) {
	st := PolicyStatusOf(c)
	if st == nil {
		return
	}
	for _, anc := range st.Ancestors {
		if string(anc.ControllerName) == ControllerName {
			continue
		}
		k, ok := s.userAncestor(anc.AncestorRef, c.GetNamespace())
		if !ok || byKey[k] == nil {
			continue
		}
		acc := findCondition(anc.Conditions, string(gwapiv1.PolicyConditionAccepted))
		if acc == nil || acc.ObservedGeneration < c.GetGeneration() {
			continue
		}
		entry := byKey[k]
		entry.verdicts++
		if acc.Status != metav1.ConditionTrue && entry.accepted == nil {
			a := *acc
			if !isCopy {
				a.Message = limitMessage(fmt.Sprintf("%s %s/%s (carrying this policy onto rules that use an InferencePool): %s", p.Kind, c.GetNamespace(), c.GetName(), a.Message))
			}
			entry.accepted = &a
		}
		if !isCopy {
			continue
		}
		for _, cond := range anc.Conditions {
			if cond.Type != string(gwapiv1.PolicyConditionAccepted) && cond.Type != string(egv1a1.PolicyConditionOverridden) {
				entry.others[cond.Type] = cond
			}
		}
	}
}

// policiesCarrying lists the operator's generated policies of p's kind that carry p.
func (s *Snapshot) policiesCarrying(p UserPolicy) []client.Object {
	var out []client.Object
	key := p.Key()
	for _, o := range s.generatedOfKind(p.Kind) {
		for _, k := range strings.Split(o.GetAnnotations()[AnnotationCarries], "+") {
			if k == key {
				out = append(out, o)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].GetNamespace()+"/"+out[i].GetName() < out[j].GetNamespace()+"/"+out[j].GetName()
	})
	return out
}

// userAncestor maps an ancestorRef to a generated Gateway (as Envoy Gateway writes it) to the
// user's Gateway it stands for.
func (s *Snapshot) userAncestor(ref gwapiv1.ParentReference, policyNS string) (ancestorKey, bool) {
	ns := policyNS
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	for i := range s.Gateways {
		g := &s.Gateways[i]
		if g.Namespace == ns && g.Labels[LabelManagedBy] != ManagedByValue && GeneratedGatewayName(g.Name) == string(ref.Name) {
			k := ancestorKey{gateway: types.NamespacedName{Namespace: ns, Name: g.Name}}
			if ref.SectionName != nil {
				k.section = string(*ref.SectionName)
			}
			return k, true
		}
	}
	return ancestorKey{}, false
}
