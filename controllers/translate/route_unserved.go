package translate

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// UnservedRouteKinds are the route kinds Envoy Gateway serves and the operator does not yet:
// a route of one of them attached to a Gateway of the operator's class is refused in its own
// status, never silently dropped (the Gateway's listeners do not list the kind either:
// servedKindsOnly).
var UnservedRouteKinds = []string{"GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"}

// UnservedRouteParents are the status entries of the operator for a route of kind (one of
// UnservedRouteKinds) in namespace ns with parentRefs: one per parentRef to a Gateway of the
// operator's class, Accepted=False/NotAllowedByListeners. Parents that are not ours get no
// entry (their controllers judge them).
func UnservedRouteParents(s *Snapshot, kind, ns string, generation int64, parentRefs []gwapiv1.ParentReference) []gwapiv1.RouteParentStatus {
	var out []gwapiv1.RouteParentStatus
	for _, ref := range parentRefs {
		if !IsGatewayParentRef(ref) {
			continue
		}
		nn := ParentGateway(ref, ns)
		gw := s.Gateway(nn)
		if gw == nil || gw.Labels[LabelManagedBy] == ManagedByValue || !s.OurClass(string(gw.Spec.GatewayClassName)) {
			continue
		}
		msg := fmt.Sprintf("inferencepool-operator serves only HTTPRoutes: %s is not served on Gateway %s, whose listeners list HTTPRoute alone; attach it to a Gateway of Envoy Gateway's own class", kind, nn)
		out = append(out, gwapiv1.RouteParentStatus{
			ParentRef:      ref,
			ControllerName: gwapiv1.GatewayController(ControllerName),
			Conditions: []metav1.Condition{
				condition(gwapiv1.RouteConditionAccepted, metav1.ConditionFalse, gwapiv1.RouteReasonNotAllowedByListeners, msg, generation),
			},
		})
	}
	return out
}
