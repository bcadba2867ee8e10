package translate_test

import (
	"fmt"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// A pool used by more rules than one policy holds gets several policies, each with at most
// MaxTargetRefsPerPolicy targets, together targeting every rule exactly once.
func TestPoliciesSplitPastMaxTargets(t *testing.T) {
	const rules = translate.MaxTargetRefsPerPolicy + 6
	group, kind := gwapiv1.Group(translate.InferenceGroup), gwapiv1.Kind(translate.InferencePoolKind)
	route := gwapiv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"},
		Spec:       gwapiv1.HTTPRouteSpec{CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: "gw"}}}},
	}
	for i := 0; i < rules; i++ {
		route.Spec.Rules = append(route.Spec.Rules, gwapiv1.HTTPRouteRule{BackendRefs: []gwapiv1.HTTPBackendRef{{BackendRef: gwapiv1.BackendRef{
			BackendObjectReference: gwapiv1.BackendObjectReference{Group: &group, Kind: &kind, Name: "pool"},
		}}}})
	}
	pool := giev1.InferencePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pool"},
		Spec: giev1.InferencePoolSpec{
			Selector:          giev1.LabelSelector{MatchLabels: map[giev1.LabelKey]giev1.LabelValue{"app": "x"}},
			TargetPorts:       []giev1.Port{{Number: 8000}},
			EndpointPickerRef: &giev1.EndpointPickerRef{Name: "epp", Port: &giev1.Port{Number: 9002}},
		},
	}
	snap := &translate.Snapshot{
		DefaultEnvoyGatewayClass: "eg",
		GatewayClasses: []gwapiv1.GatewayClass{{ObjectMeta: metav1.ObjectMeta{Name: "c"},
			Spec: gwapiv1.GatewayClassSpec{ControllerName: translate.ControllerName}}, egClass("eg", true)},
		Gateways:   []gwapiv1.Gateway{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gw"}, Spec: gwapiv1.GatewaySpec{GatewayClassName: "c"}}},
		HTTPRoutes: []gwapiv1.HTTPRoute{route},
		Pools:      []giev1.InferencePool{pool},
	}
	res := translate.ForPool(snap, &snap.Pools[0])

	var btps, eeps []string
	seen := map[string]int{}
	for _, obj := range res.Objects {
		switch o := obj.(type) {
		case *egv1a1.BackendTrafficPolicy:
			btps = append(btps, o.Name)
			if len(o.Spec.TargetRefs) > translate.MaxTargetRefsPerPolicy {
				t.Errorf("%s has %d targets", o.Name, len(o.Spec.TargetRefs))
			}
			for _, tr := range o.Spec.TargetRefs {
				seen[string(*tr.SectionName)]++
			}
		case *egv1a1.EnvoyExtensionPolicy:
			eeps = append(eeps, o.Name)
		}
	}
	if len(btps) != 2 || len(eeps) != 2 || btps[0] == btps[1] || eeps[0] == eeps[1] {
		t.Fatalf("policies: BackendTrafficPolicies %v, EnvoyExtensionPolicies %v; want two distinct of each", btps, eeps)
	}
	if len(seen) != rules {
		t.Fatalf("%d rules targeted, want %d", len(seen), rules)
	}
	for i := 0; i < rules; i++ {
		if n := seen[fmt.Sprintf("rule-%d", i)]; n != 1 {
			t.Errorf("rule-%d targeted %d times", i, n)
		}
	}
}
