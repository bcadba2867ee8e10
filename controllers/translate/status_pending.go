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
	return allPendingOnly(parents, func(p gwapiv1.RouteParentStatus) []metav1.Condition { return p.Conditions })
}

// PoolParentsPendingOnly is RouteParentsPendingOnly for a pool's status entries.
func PoolParentsPendingOnly(parents []giev1.ParentStatus) bool {
	return allPendingOnly(parents, func(p giev1.ParentStatus) []metav1.Condition { return p.Conditions })
}

// allPendingOnly: there is an entry, and every entry's conditions are pendingOnly.
func allPendingOnly[P any](parents []P, conditions func(P) []metav1.Condition) bool {
	for _, p := range parents {
		if !pendingOnly(conditions(p)) {
			return false
		}
	}
	return len(parents) > 0
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
