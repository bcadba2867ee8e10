package translate

import (
	"fmt"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// PolicyTarget is one object a policy attaches to: a Gateway of ours (Section: a listener, or
// "" for the whole Gateway) or an HTTPRoute attached to one (Section: a rule, or "").
type PolicyTarget struct {
	Kind    string // "Gateway" or "HTTPRoute"
	NN      types.NamespacedName
	Section string
}

func (t PolicyTarget) String() string {
	s := t.Kind + " " + t.NN.String()
	if t.Section != "" {
		s += "/" + t.Section
	}
	return s
}

// whole is the target without its section.
func (t PolicyTarget) whole() PolicyTarget { return PolicyTarget{Kind: t.Kind, NN: t.NN} }

// targetProblem is a target of ours that a policy names but cannot attach to.
type targetProblem struct {
	target  PolicyTarget
	reason  gwapiv1.PolicyConditionReason
	message string
}

// policyTargetKinds are the kinds each policy kind may target on our Gateways: a
// ClientTrafficPolicy Gateways, the others Gateways and every route kind the operator serves
// (Envoy Gateway judges whether the kind suits the policy, as on its own classes).
func policyTargetKinds(kind string) []string {
	if kind == KindClientTrafficPolicy {
		return []string{"Gateway"}
	}
	return append([]string{"Gateway"}, ServedRouteKinds()...)
}

// resolveTargets lists the targets of p that are objects of ours, by Envoy Gateway's rules:
// targetRefs name objects of p's namespace; targetSelectors match labels in p's namespace, or in
// the namespaces their `namespaces` field selects, where a ReferenceGrant in the target's
// namespace must allow p's kind from p's namespace. Targets that are not ours are left to their
// own controllers, as Envoy Gateway does. problems are our targets p names but cannot attach to
// (an unknown listener or rule).
func (s *Snapshot) resolveTargets(p UserPolicy) (targets []PolicyTarget, problems []targetProblem) {
	seen := map[PolicyTarget]bool{}
	add := func(t PolicyTarget) {
		if seen[t] || !s.targetIsOurs(t) {
			return
		}
		seen[t] = true
		if msg := s.sectionProblem(t); msg != "" {
			problems = append(problems, targetProblem{target: t, reason: gwapiv1.PolicyReasonTargetNotFound, message: msg})
			return
		}
		targets = append(targets, t)
	}
	ns := p.Object.GetNamespace()
	kinds := policyTargetKinds(p.Kind)
	refs := p.Targets()
	for _, sel := range refs.TargetSelectors {
		if sel.Group != nil && string(*sel.Group) != gwapiv1.GroupName || !contains(kinds, string(sel.Kind)) {
			continue
		}
		for _, obj := range s.selectable(string(sel.Kind)) {
			if !s.selectorNamespaceMatches(sel, ns, obj.GetNamespace()) || !selectorMatches(sel, obj.GetLabels()) {
				continue
			}
			if !ReferencePermitted(s.Grants, egv1a1.GroupName, p.Kind, ns, gwapiv1.GroupName, string(sel.Kind), obj.GetNamespace(), obj.GetName()) {
				continue
			}
			add(PolicyTarget{Kind: string(sel.Kind), NN: types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}})
		}
	}
	for _, ref := range refs.GetTargetRefs() {
		if string(ref.Group) != gwapiv1.GroupName || !contains(kinds, string(ref.Kind)) {
			continue
		}
		t := PolicyTarget{Kind: string(ref.Kind), NN: types.NamespacedName{Namespace: ns, Name: string(ref.Name)}}
		if ref.SectionName != nil {
			t.Section = string(*ref.SectionName)
		}
		add(t)
	}
	return targets, problems
}

// targetIsOurs tells whether t names a Gateway of ours whose class is served, or a route with at
// least one such parent.
func (s *Snapshot) targetIsOurs(t PolicyTarget) bool {
	switch t.Kind {
	case "Gateway":
		g := s.Gateway(t.NN)
		if g == nil || g.Labels[LabelManagedBy] == ManagedByValue {
			return false
		}
		_, _, ok := s.OurServedGateway(t.NN)
		return ok
	default:
		r, ok := s.userRoute(t.Kind, t.NN)
		return ok && r.served(s)
	}
}

// sectionProblem says why t's section does not exist: listener names and the rule names the
// user gave carry over to the generated objects unchanged; unnamed rules cannot be targeted
// (their generated names are the operator's, not the user's).
func (s *Snapshot) sectionProblem(t PolicyTarget) string {
	if t.Section == "" {
		return ""
	}
	switch t.Kind {
	case "Gateway":
		for _, l := range s.Gateway(t.NN).Spec.Listeners {
			if string(l.Name) == t.Section {
				return ""
			}
		}
		return fmt.Sprintf("Gateway %s has no listener %q", t.NN, t.Section)
	default:
		r, _ := s.userRoute(t.Kind, t.NN)
		if contains(r.ruleNames, t.Section) {
			return ""
		}
		return fmt.Sprintf("%s %s has no rule named %q", t.Kind, t.NN, t.Section)
	}
}

// selectable lists the user's objects of kind a selector may match, sorted by namespace and
// name (the copy's targets follow this order; see routesByName).
func (s *Snapshot) selectable(kind string) []client.Object {
	out := s.ObjectsOf(kind)
	sortByName(out)
	return out
}

// selectorNamespaceMatches applies a targetSelector's namespaces field: by default the policy's
// own namespace; All; or the namespaces whose labels match its selector.
func (s *Snapshot) selectorNamespaceMatches(sel egv1a1.TargetSelector, policyNS, targetNS string) bool {
	if sel.Namespaces == nil {
		return targetNS == policyNS
	}
	switch sel.Namespaces.From {
	case "", egv1a1.TargetNamespaceFromSame:
		return targetNS == policyNS
	case egv1a1.TargetNamespaceFromAll:
		return true
	case egv1a1.TargetNamespaceFromSelector:
		if sel.Namespaces.Selector == nil {
			return false
		}
		selector, err := metav1.LabelSelectorAsSelector(sel.Namespaces.Selector)
		if err != nil {
			return false
		}
		for i := range s.Namespaces {
			if s.Namespaces[i].Name == targetNS {
				return selector.Matches(labels.Set(s.Namespaces[i].Labels))
			}
		}
	}
	return false
}

// selectorMatches applies a targetSelector's label selector (an invalid one matches nothing).
func selectorMatches(sel egv1a1.TargetSelector, objLabels map[string]string) bool {
	selector, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchLabels: sel.MatchLabels, MatchExpressions: sel.MatchExpressions})
	if err != nil {
		return false
	}
	return selector.Matches(labels.Set(objLabels))
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
