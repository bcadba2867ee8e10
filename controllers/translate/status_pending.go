package translate

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// PoolReasonPending is GIE's reason for an InferencePool's Accepted=Unknown: no route that
// references the pool has been judged by Envoy Gateway yet, and none was refused.
const PoolReasonPending = "Pending"

// RouteParentsPendingOnly tells whether parents, a route's status entries as the operator
// computes them, say nothing but that Envoy Gateway has not judged the route yet: every entry
// Accepted=Unknown and no reference problem found by the operator. Such a status may wait for
// the verdict that follows (controllers/first_status.go); any other is news to write at once.
func RouteParentsPendingOnly(parents []gwapiv1.RouteParentStatus) bool {
	if len(parents) == 0 {
		return false
	}
	for _, p := range parents {
		if !pendingOnly(p.Conditions) {
			return false
		}
	}
	return true
}

// PoolParentsPendingOnly is RouteParentsPendingOnly for a pool's status entries.
func PoolParentsPendingOnly(parents []giev1.ParentStatus) bool {
	if len(parents) == 0 {
		return false
	}
	for _, p := range parents {
		if !pendingOnly(p.Conditions) {
			return false
		}
	}
	return true
}

// pendingOnly: Accepted is Unknown and no other condition is False.
func pendingOnly(conditions []metav1.Condition) bool {
	accepted := findCondition(conditions, "Accepted")
	if accepted == nil || accepted.Status != metav1.ConditionUnknown {
		return false
	}
	for _, c := range conditions {
		if c.Status == metav1.ConditionFalse {
			return false
		}
	}
	return true
}
