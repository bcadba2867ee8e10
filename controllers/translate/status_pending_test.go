package translate

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestParentsPendingOnly(t *testing.T) {
	cond := func(typ string, s metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: s, Reason: reason}
	}
	pending := cond("Accepted", metav1.ConditionUnknown, "Pending")
	resolved := cond("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
	for _, tc := range []struct {
		name    string
		entries [][]metav1.Condition
		want    bool
	}{
		{"no entry: nothing to hold", nil, false},
		{"pending, refs resolved", [][]metav1.Condition{{pending, resolved}}, true},
		{"pending on every Gateway", [][]metav1.Condition{{pending, resolved}, {pending, resolved}}, true},
		{"pending, a reference problem", [][]metav1.Condition{{pending, cond("ResolvedRefs", metav1.ConditionFalse, "BackendNotFound")}}, false},
		{"refused", [][]metav1.Condition{{cond("Accepted", metav1.ConditionFalse, "NotAllowedByListeners"), resolved}}, false},
		{"class not accepted", [][]metav1.Condition{{cond("Accepted", metav1.ConditionFalse, "Pending"), resolved}}, false},
		{"accepted", [][]metav1.Condition{{cond("Accepted", metav1.ConditionTrue, "Accepted"), resolved}}, false},
		{"pending on one Gateway, accepted on another", [][]metav1.Condition{{pending, resolved}, {cond("Accepted", metav1.ConditionTrue, "Accepted"), resolved}}, false},
	} {
		var routes []gwapiv1.RouteParentStatus
		var pools []giev1.ParentStatus
		for _, c := range tc.entries {
			routes = append(routes, gwapiv1.RouteParentStatus{Conditions: c})
			pools = append(pools, giev1.ParentStatus{Conditions: c})
		}
		if got := RouteParentsPendingOnly(routes); got != tc.want {
			t.Errorf("%s: RouteParentsPendingOnly = %v, want %v", tc.name, got, tc.want)
		}
		if got := PoolParentsPendingOnly(pools); got != tc.want {
			t.Errorf("%s: PoolParentsPendingOnly = %v, want %v", tc.name, got, tc.want)
		}
	}
}
