package translate

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Envoy Gateway judges the BackendTrafficPolicies and EnvoyExtensionPolicies generated for a
// pool, per ancestor: the generated Gateways of the rules they target. A policy it rejects is
// not applied, and every rule it targets becomes a direct 500 (Envoy Gateway v1.9.1,
// internal/gatewayapi: applyTrafficFeatureToRoute for a BackendTrafficPolicy,
// translateEnvoyExtensionPolicyForRoute for an EnvoyExtensionPolicy whose failing extension
// is not fail-open), while the route stays Accepted and ResolvedRefs. Most often what it
// rejects is a user's policy the operator carries into the pool's (an ext_proc to a Service
// without ready endpoints, a ConfigMap that does not exist): the pool's status entry for the
// user's Gateway says which policy, and quotes Envoy Gateway.

// policyRejection is Envoy Gateway's refusal of one policy generated for a pool, as the
// ancestor that is one user Gateway's generated Gateway reports it.
type policyRejection struct {
	kind      string // KindEnvoyExtensionPolicy or KindBackendTrafficPolicy
	namespace string
	name      string
	carries   string // the user's policies it carries (AnnotationCarries), or ""
	picker    bool   // it calls the pool's endpoint picker (an EnvoyExtensionPolicy) or follows it (a BackendTrafficPolicy's endpoint override)
	message   string // Envoy Gateway's
}

// poolRejections maps each user Gateway to Envoy Gateway's refusals, for its generated
// Gateway, of the policies in desired (the pool's generated objects; follows tells whether its
// BackendTrafficPolicies follow an endpoint picker, calls whether its EnvoyExtensionPolicies
// call it). A verdict counts only on the policy as the operator wants it now (isCurrent) and
// about its current generation: a stale one speaks of a spec that is gone.
func poolRejections(s *Snapshot, desired []client.Object, follows, calls bool) map[types.NamespacedName][]policyRejection {
	out := map[types.NamespacedName][]policyRejection{}
	for _, d := range desired {
		k := policyKindOfObject(d)
		if k == nil || (k.Kind != KindBackendTrafficPolicy && k.Kind != KindEnvoyExtensionPolicy) {
			continue
		}
		gen := s.generatedPolicy(k.Kind, d.GetNamespace(), d.GetName())
		if gen == nil || !isCurrent(gen, d) {
			continue
		}
		// One verdict per user Gateway: Envoy Gateway may list its generated Gateway once per
		// listener (sectionName); the first by sectionName speaks for it, whatever the order.
		type verdict struct {
			section string
			message string
		}
		byGateway := map[types.NamespacedName]verdict{}
		for _, anc := range PolicyStatusOf(gen).Ancestors {
			if string(anc.ControllerName) == ControllerName {
				continue
			}
			key, ok := s.userAncestor(anc.AncestorRef, gen.GetNamespace())
			if !ok {
				continue
			}
			acc := findCondition(anc.Conditions, string(gwapiv1.PolicyConditionAccepted))
			if acc == nil || acc.Status != metav1.ConditionFalse || acc.ObservedGeneration < gen.GetGeneration() {
				continue
			}
			if v, seen := byGateway[key.gateway]; !seen || key.section < v.section {
				byGateway[key.gateway] = verdict{section: key.section, message: acc.Message}
			}
		}
		picker := follows
		if k.Kind == KindEnvoyExtensionPolicy {
			picker = calls
		}
		for gw, v := range byGateway {
			out[gw] = append(out[gw], policyRejection{kind: k.Kind, namespace: gen.GetNamespace(), name: gen.GetName(),
				carries: d.GetAnnotations()[AnnotationCarries], picker: picker, message: v.message})
		}
	}
	for _, rs := range out {
		sort.Slice(rs, func(i, j int) bool {
			// Extension policies first: they are what InvalidExtensionRef is about.
			if rs[i].kind != rs[j].kind {
				return rs[i].kind == KindEnvoyExtensionPolicy
			}
			return rs[i].namespace+"/"+rs[i].name < rs[j].namespace+"/"+rs[j].name
		})
	}
	return out
}

// describe is the rejection as the pool's condition message says it.
func (r policyRejection) describe() string {
	var what []string
	switch {
	case r.kind == KindEnvoyExtensionPolicy && r.picker:
		what = append(what, "the endpoint picker's ext_proc")
	case r.kind == KindBackendTrafficPolicy && r.picker:
		what = append(what, "the endpoint override that follows the endpoint picker, the fallback load balancing, retries")
	case r.kind == KindBackendTrafficPolicy:
		what = append(what, "the pool's load balancing, retries")
	}
	if r.carries != "" {
		var carried []string
		for _, c := range strings.Split(r.carries, "+") {
			kind, nn, _ := strings.Cut(c, "/")
			carried = append(carried, kind+" "+nn)
		}
		what = append(what, "carrying your "+strings.Join(carried, ", "))
	}
	return fmt.Sprintf("Envoy Gateway rejected %s %s/%s, generated for this pool's rules (%s): \"%s\"; those rules answer 500 until it is accepted",
		r.kind, r.namespace, r.name, strings.Join(what, "; "), r.message)
}

// resolvedRefs is the pool's ResolvedRefs condition for one Gateway: False when its
// endpointPickerRef does not resolve, or when Envoy Gateway rejected, for that Gateway, a
// policy generated for the pool.
//
// Both rejections take GIE's InvalidExtensionRef, the one reason GIE v1.6 defines for
// ResolvedRefs=False. For the EnvoyExtensionPolicy it is exact: that policy is the call to the
// pool's extension, the endpoint picker, and refused it cannot be called. The
// BackendTrafficPolicy holds the other half of the picker's protocol, the endpoint override
// that follows its x-gateway-destination-endpoint (with the fallback load balancing and
// retries): refused, the picker's choices cannot be applied. Accepted is not the condition for
// either: GIE's reasons for Accepted=False (NotSupportedByParent, HTTPRouteNotAccepted,
// EndpointPickerRefMissing) would send the user to the wrong object, and a refusal may hit some
// of the pool's rules while the others are served (one policy per group of rules,
// pool_policies.go), which is what Gateway API says with ResolvedRefs=False beside
// Accepted=True. A pool without an endpointPickerRef gets the same reason; its message says
// what was refused.
func resolvedRefs(pool *giev1.InferencePool, epp endpointPicker, rejected []policyRejection) metav1.Condition {
	var problems []string
	if epp.problem != "" {
		problems = append(problems, epp.problem)
	}
	for _, r := range rejected {
		if epp.problem != "" && r.kind == KindEnvoyExtensionPolicy && r.picker {
			// Its ext_proc points at a Service that cannot exist (eppBackendRef): Envoy
			// Gateway's refusal is the consequence of the problem above, not news.
			continue
		}
		problems = append(problems, r.describe())
	}
	if len(problems) > 0 {
		return condition(giev1.InferencePoolConditionResolvedRefs, metav1.ConditionFalse, giev1.InferencePoolReasonInvalidExtensionRef, strings.Join(problems, "; "), pool.Generation)
	}
	return condition(giev1.InferencePoolConditionResolvedRefs, metav1.ConditionTrue, giev1.InferencePoolReasonResolvedRefs, "All references resolved", pool.Generation)
}
