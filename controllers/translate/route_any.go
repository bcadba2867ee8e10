package translate

import (
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// anyRoute is what policies read of a user's route of any served kind: HTTPRoute or one of
// CopiedRouteKinds.
type anyRoute struct {
	obj        client.Object
	parentRefs []gwapiv1.ParentReference
	// ruleNames are the names the user gave the rules ("" for an unnamed rule): the sections a
	// policy may target.
	ruleNames []string
}

// userRoute returns the user's route of kind named nn (not a generated one), or false.
func (s *Snapshot) userRoute(kind string, nn types.NamespacedName) (anyRoute, bool) {
	if kind == "HTTPRoute" {
		r := s.HTTPRoute(nn)
		if r == nil || r.Labels[LabelManagedBy] == ManagedByValue {
			return anyRoute{}, false
		}
		names := make([]string, len(r.Spec.Rules))
		for i, rule := range r.Spec.Rules {
			names[i] = ptrString(rule.Name)
		}
		return anyRoute{obj: r, parentRefs: r.Spec.ParentRefs, ruleNames: names}, true
	}
	k := CopiedRouteKindOf(kind)
	if k == nil {
		return anyRoute{}, false
	}
	o := k.find(s, nn)
	if o == nil || o.GetLabels()[LabelManagedBy] == ManagedByValue {
		return anyRoute{}, false
	}
	parents, _ := k.Parts(o)
	return anyRoute{obj: o, parentRefs: *parents, ruleNames: k.RuleNames(o)}, true
}

// served tells whether the route has a parent that is a served Gateway of ours.
func (r anyRoute) served(s *Snapshot) bool {
	return len(s.servedParentRefs(r.obj.GetNamespace(), r.parentRefs)) > 0
}
