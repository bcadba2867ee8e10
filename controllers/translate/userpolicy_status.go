package translate

import (
	"fmt"
	"sort"
	"strings"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// A user's policy gets one status entry (ancestor) of our controller per Gateway of ours it
// reaches (with the listener, when it targets one or the route attaches to one), as Envoy
// Gateway would write them had the policy attached to its own objects. Its conditions are
// Envoy Gateway's verdicts on the generated policies that carry the user's settings (the copy,
// and the operator's pool and Gateway policies that hold the rest; userpolicy_verdicts.go), and the
// operator's own: Conflicted or TargetNotFound targets, settings it does not carry (Refused),
// and Overridden computed between the user's policies (Envoy Gateway's own Overridden would also
// count the operator's policies, which carry the user's settings rather than override them).

// PolicyConditionRefused is True on an ancestor where some settings of the policy are not
// applied; the message says which, where, and why.
const PolicyConditionRefused = "Refused"

// PolicyReasonNotCarried is the reason of PolicyConditionRefused.
const PolicyReasonNotCarried = "NotCarried"

// ancestorKey is a Gateway of ours and a listener ("" for the whole Gateway).
type ancestorKey struct {
	gateway types.NamespacedName
	section string
}

// ancestorConditions accumulates the conditions of one ancestor.
type ancestorConditions struct {
	accepted *metav1.Condition // ours (Conflicted, TargetNotFound) or Envoy Gateway's False
	verdicts int               // carriers whose verdict on this ancestor was seen
	others   map[string]metav1.Condition
	refused  []string
	override []string
}

// policyAncestors computes p's status entries. copied are the targets of its copy (desired in
// generated[0] when there is one).
func policyAncestors(s *Snapshot, p UserPolicy, copied []PolicyTarget, generated []client.Object) []gwapiv1.PolicyAncestorStatus {
	a := s.attachmentsOf(p.Kind)
	key := p.Key()
	byKey := map[ancestorKey]*ancestorConditions{}
	get := func(k ancestorKey) *ancestorConditions {
		c := byKey[k]
		if c == nil {
			c = &ancestorConditions{others: map[string]metav1.Condition{}}
			byKey[k] = c
		}
		return c
	}
	for _, t := range a.won[key] {
		for _, k := range s.ancestorsOf(t) {
			get(k)
		}
	}
	for _, l := range a.lost[key] {
		for _, k := range s.ancestorsOf(l.target) {
			c := get(k)
			c.accepted = &metav1.Condition{Type: string(gwapiv1.PolicyConditionAccepted), Status: metav1.ConditionFalse, Reason: string(gwapiv1.PolicyReasonConflicted),
				Message: fmt.Sprintf("Unable to target %s, another %s (%s/%s) has already attached to it", l.target, p.Kind, l.winner.Object.GetNamespace(), l.winner.Object.GetName())}
		}
	}
	for _, pr := range a.problems[key] {
		for _, k := range s.ancestorsOf(pr.target.whole()) {
			k.section = ""
			if pr.target.Kind == "Gateway" {
				k.section = pr.target.Section
			}
			c := get(k)
			c.accepted = &metav1.Condition{Type: string(gwapiv1.PolicyConditionAccepted), Status: metav1.ConditionFalse, Reason: string(pr.reason), Message: pr.message}
		}
	}
	s.mirrorVerdicts(p, copied, generated, byKey)
	s.addRefusals(p, byKey)
	s.addOverrides(p, byKey)

	keys := make([]ancestorKey, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].gateway != keys[j].gateway {
			return keys[i].gateway.String() < keys[j].gateway.String()
		}
		return keys[i].section < keys[j].section
	})
	gen := p.Object.GetGeneration()
	out := make([]gwapiv1.PolicyAncestorStatus, 0, len(keys))
	for _, k := range keys {
		c := byKey[k]
		accepted := condition(gwapiv1.PolicyConditionAccepted, metav1.ConditionTrue, gwapiv1.PolicyReasonAccepted, "Policy has been accepted", gen)
		switch {
		case c.accepted != nil:
			accepted = *c.accepted
			accepted.ObservedGeneration, accepted.LastTransitionTime = gen, metav1.Time{}
		case c.verdicts == 0:
			accepted = condition(gwapiv1.PolicyConditionAccepted, metav1.ConditionUnknown, "Pending",
				"Waiting for Envoy Gateway to accept the generated policies that carry this one", gen)
		}
		conds := []metav1.Condition{accepted}
		others := make([]string, 0, len(c.others))
		for t := range c.others {
			others = append(others, t)
		}
		sort.Strings(others)
		for _, t := range others {
			o := c.others[t]
			o.ObservedGeneration, o.LastTransitionTime = gen, metav1.Time{}
			conds = append(conds, o)
		}
		if len(c.override) > 0 {
			conds = append(conds, condition(egv1a1.PolicyConditionOverridden, metav1.ConditionTrue, egv1a1.PolicyReasonOverridden,
				fmt.Sprintf("This policy is being overridden by other %s for %s", strings.TrimSuffix(p.Kind, "y")+"ies", strings.Join(dedupe(c.override), ", ")), gen))
		}
		if len(c.refused) > 0 {
			conds = append(conds, condition(PolicyConditionRefused, metav1.ConditionTrue, PolicyReasonNotCarried, strings.Join(dedupe(c.refused), "; "), gen))
		}
		ref := gwapiv1.ParentReference{
			Group: ptrTo(gwapiv1.Group(gwapiv1.GroupName)), Kind: ptrTo(gwapiv1.Kind("Gateway")),
			Namespace: ptrTo(gwapiv1.Namespace(k.gateway.Namespace)), Name: gwapiv1.ObjectName(k.gateway.Name),
		}
		if k.section != "" {
			ref.SectionName = ptrTo(gwapiv1.SectionName(k.section))
		}
		out = append(out, gwapiv1.PolicyAncestorStatus{AncestorRef: ref, ControllerName: ControllerName, Conditions: conds})
	}
	return truncateAncestors(out, gen)
}

// maxPolicyAncestors is Gateway API's limit on the ancestors of a policy's status.
const maxPolicyAncestors = 16

// truncateAncestors keeps the ancestors Gateway API allows (a longer status is refused), as Envoy
// Gateway does for the policies it judges: the ones not accepted first, then those with settings
// overridden or refused, then the others, each in Gateway order; the last kept one says
// Aggregated.
func truncateAncestors(ancestors []gwapiv1.PolicyAncestorStatus, gen int64) []gwapiv1.PolicyAncestorStatus {
	if len(ancestors) <= maxPolicyAncestors {
		return ancestors
	}
	rank := func(a gwapiv1.PolicyAncestorStatus) int {
		switch {
		case meta.IsStatusConditionFalse(a.Conditions, string(gwapiv1.PolicyConditionAccepted)):
			return 0
		case meta.IsStatusConditionTrue(a.Conditions, string(egv1a1.PolicyConditionOverridden)),
			meta.IsStatusConditionTrue(a.Conditions, PolicyConditionRefused):
			return 1
		}
		return 2
	}
	sort.SliceStable(ancestors, func(i, j int) bool { return rank(ancestors[i]) < rank(ancestors[j]) })
	ancestors = ancestors[:maxPolicyAncestors]
	last := &ancestors[maxPolicyAncestors-1]
	aggregated := condition(egv1a1.PolicyConditionAggregated, metav1.ConditionTrue, egv1a1.PolicyReasonAggregated,
		fmt.Sprintf("Ancestors have been truncated because the number of policy ancestors exceeds %d.", maxPolicyAncestors), gen)
	if c := findCondition(last.Conditions, aggregated.Type); c != nil {
		*c = aggregated // Envoy Gateway's, mirrored from the copy's status
	} else {
		last.Conditions = append(last.Conditions, aggregated)
	}
	return ancestors
}

// ancestorsOf lists the ancestors a target reports under: a Gateway (and listener) itself; for
// a route, each served parentRef's Gateway with its sectionName.
func (s *Snapshot) ancestorsOf(t PolicyTarget) []ancestorKey {
	if t.Kind == "Gateway" {
		return []ancestorKey{{gateway: t.NN, section: t.Section}}
	}
	route, ok := s.userRoute(t.Kind, t.NN)
	if !ok {
		return nil
	}
	var out []ancestorKey
	for _, ref := range s.servedParentRefs(t.NN.Namespace, route.parentRefs) {
		k := ancestorKey{gateway: ParentGateway(ref, t.NN.Namespace)}
		if ref.SectionName != nil {
			k.section = string(*ref.SectionName)
		}
		if !contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// addRefusals adds, for a BackendTrafficPolicy or EnvoyExtensionPolicy, what the operator's pool
// policies do not carry of it, under the Gateways of the rules concerned.
func (s *Snapshot) addRefusals(p UserPolicy, byKey map[ancestorKey]*ancestorConditions) {
	if p.Kind != KindBackendTrafficPolicy && p.Kind != KindEnvoyExtensionPolicy {
		return
	}
	for _, route := range s.poolRoutes() {
		parents := route.servedParents(s)
		if len(parents) == 0 {
			continue
		}
		_, settings, _ := s.OurServedGateway(ParentGateway(parents[0], route.namespace()))
		for j, name := range route.ruleNames {
			pools := route.rulePools(s, j)
			if len(pools) == 0 {
				continue
			}
			hasEPP := s.Pool(pools[0]).Spec.EndpointPickerRef != nil
			for _, r := range s.poolRuleRefusals(p.Kind, route, name, settings, hasEPP) {
				if r.policy.Key() != p.Key() {
					continue
				}
				msg := fmt.Sprintf("%s (rule %q of %s)", r.message, name, route)
				for _, k := range s.ancestorsOf(PolicyTarget{Kind: route.kind, NN: route.nn()}) {
					if c := byKey[k]; c != nil {
						c.refused = append(c.refused, msg)
					} else if c := byKey[ancestorKey{gateway: k.gateway}]; c != nil {
						c.refused = append(c.refused, msg)
					}
				}
			}
		}
	}
}

// addOverrides adds Overridden where a more specific user policy of p's kind holds part of
// what p targets and does not merge with it: a rule of a route p holds, a route attached to a
// Gateway p holds, or (ClientTrafficPolicy) a listener of a Gateway p holds.
func (s *Snapshot) addOverrides(p UserPolicy, byKey map[ancestorKey]*ancestorConditions) {
	a := s.attachmentsOf(p.Kind)
	for _, t := range a.won[p.Key()] {
		if t.Section != "" {
			continue
		}
		switch t.Kind {
		case "HTTPRoute":
			route := s.HTTPRoute(t.NN)
			for _, rule := range route.Spec.Rules {
				if rule.Name == nil {
					continue
				}
				h, ok := a.holder[PolicyTarget{Kind: "HTTPRoute", NN: t.NN, Section: string(*rule.Name)}]
				if !ok || h.Key() == p.Key() {
					continue
				}
				for _, k := range s.ancestorsOf(t) {
					byKey[k].override = append(byKey[k].override, fmt.Sprintf("rule %q of HTTPRoute %s", *rule.Name, t.NN))
				}
			}
		case "Gateway":
			for _, l := range s.Gateway(t.NN).Spec.Listeners {
				if h, ok := a.holder[PolicyTarget{Kind: "Gateway", NN: t.NN, Section: string(l.Name)}]; ok && h.Key() != p.Key() {
					byKey[ancestorKey{gateway: t.NN}].override = append(byKey[ancestorKey{gateway: t.NN}].override, fmt.Sprintf("listener %q", l.Name))
				}
			}
			if p.Kind == KindClientTrafficPolicy {
				continue
			}
			for _, route := range s.routesByName() {
				if route.Labels[LabelManagedBy] == ManagedByValue || !attachesTo(route, t.NN) {
					continue
				}
				rn := types.NamespacedName{Namespace: route.Namespace, Name: route.Name}
				if h, ok := a.holder[PolicyTarget{Kind: "HTTPRoute", NN: rn}]; ok && mergeTypeOf(h) == nil {
					byKey[ancestorKey{gateway: t.NN}].override = append(byKey[ancestorKey{gateway: t.NN}].override, "HTTPRoute "+rn.String())
				}
			}
		}
	}
}

// attachesTo tells whether route has a parentRef to the Gateway gw.
func attachesTo(route *gwapiv1.HTTPRoute, gw types.NamespacedName) bool {
	for _, ref := range route.Spec.ParentRefs {
		if IsGatewayParentRef(ref) && ParentGateway(ref, route.Namespace) == gw {
			return true
		}
	}
	return false
}

func dedupe(list []string) []string {
	var out []string
	for _, s := range list {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
