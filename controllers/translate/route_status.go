package translate

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// mirrorInput is what a route's status entries for our Gateways are made of, whatever its kind.
type mirrorInput struct {
	kind       string
	route      client.Object
	parentRefs []gwapiv1.ParentReference
	// verdict is Envoy Gateway's status of the generated route, when it was written from what
	// the operator wants now (isCurrent); nil otherwise. verdictGeneration is its generation.
	verdict           *gwapiv1.RouteStatus
	verdictGeneration int64
	// refReason and refMessages are the operator's own verdict on backendRefs it resolves
	// (InferencePools): they replace Envoy Gateway's ResolvedRefs.
	refReason   gwapiv1.RouteConditionReason
	refMessages []string
}

// refProblem records one backendRef the operator cannot resolve; the first reason wins.
func (in *mirrorInput) refProblem(reason gwapiv1.RouteConditionReason, message string) {
	if in.refReason == "" {
		in.refReason = reason
	}
	in.refMessages = append(in.refMessages, message)
}

// mirroredParents computes a route's status entries for its parentRefs to our Gateways: Accepted
// mirrored from Envoy Gateway's verdict on the generated route for the generated parent,
// Pending while there is none or the Gateway is not served; ResolvedRefs the operator's when it
// found a problem, else Envoy Gateway's.
func mirroredParents(s *Snapshot, in mirrorInput) []gwapiv1.RouteParentStatus {
	ns, generation := in.route.GetNamespace(), in.route.GetGeneration()
	var out []gwapiv1.RouteParentStatus
	for _, i := range s.ourParentIndexes(ns, in.parentRefs) {
		ref := in.parentRefs[i]
		entry := gwapiv1.RouteParentStatus{ParentRef: ref, ControllerName: ControllerName}
		var egEntry *gwapiv1.RouteParentStatus
		gw := ParentGateway(ref, ns)
		_, _, served := s.OurServedGateway(gw)
		if in.verdict != nil && served {
			egEntry = findParentStatus(in.verdict.Parents, generatedParentRef(ref), ns)
		}

		var accepted metav1.Condition
		switch {
		case !served:
			accepted = condition(gwapiv1.RouteConditionAccepted, metav1.ConditionFalse, gwapiv1.RouteReasonPending,
				fmt.Sprintf("Gateway %s is not served: its GatewayClass is not accepted", gw), generation)
		case egEntry != nil && judged(egEntry.Conditions, in.verdictGeneration, string(gwapiv1.RouteConditionAccepted)):
			accepted = *findCondition(egEntry.Conditions, string(gwapiv1.RouteConditionAccepted))
			accepted.ObservedGeneration, accepted.LastTransitionTime = generation, metav1.Time{}
		default:
			accepted = condition(gwapiv1.RouteConditionAccepted, metav1.ConditionUnknown, gwapiv1.RouteReasonPending,
				fmt.Sprintf("Waiting for Envoy Gateway to accept %s %s/%s", in.kind, ns, GeneratedRouteName(in.route.GetName())), generation)
		}

		resolved := condition(gwapiv1.RouteConditionResolvedRefs, metav1.ConditionTrue, gwapiv1.RouteReasonResolvedRefs, "Resolved all the Object references for the Route", generation)
		if in.refReason != "" {
			resolved = condition(gwapiv1.RouteConditionResolvedRefs, metav1.ConditionFalse, in.refReason, strings.Join(in.refMessages, "; "), generation)
		} else if egEntry != nil {
			if c := findCondition(egEntry.Conditions, string(gwapiv1.RouteConditionResolvedRefs)); c != nil {
				resolved = *c
				resolved.ObservedGeneration, resolved.LastTransitionTime = generation, metav1.Time{}
			}
		}
		entry.Conditions = []metav1.Condition{accepted, resolved}
		out = append(out, entry)
	}
	return out
}
