package translate_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// A route of a kind the operator does not serve gets one refusal per parentRef to a Gateway of
// ours (user Gateways only), with its generation, and nothing for other parents.
func TestUnservedRouteParents(t *testing.T) {
	gw := func(ns, name, class string, generated bool) gwapiv1.Gateway {
		g := gwapiv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: gwapiv1.GatewaySpec{GatewayClassName: gwapiv1.ObjectName(class)}}
		if generated {
			g.Labels = map[string]string{translate.LabelManagedBy: translate.ManagedByValue}
		}
		return g
	}
	s := &translate.Snapshot{
		GatewayClasses: []gwapiv1.GatewayClass{
			{ObjectMeta: metav1.ObjectMeta{Name: "inference"}, Spec: gwapiv1.GatewayClassSpec{ControllerName: translate.ControllerName}},
			{ObjectMeta: metav1.ObjectMeta{Name: "eg"}, Spec: gwapiv1.GatewayClassSpec{ControllerName: translate.EnvoyGatewayControllerName}},
		},
		Gateways: []gwapiv1.Gateway{gw("apps", "ours", "inference", false), gw("infra", "shared", "inference", false), gw("apps", "theirs", "eg", false), gw("apps", "ours-eg", "eg", true)},
	}
	infra := gwapiv1.Namespace("infra")
	refs := []gwapiv1.ParentReference{
		{Name: "ours"}, {Name: "shared", Namespace: &infra}, {Name: "theirs"}, {Name: "ours-eg"}, {Name: "missing"},
		{Name: "svc", Kind: ptrKind("Service"), Group: ptrGroup("")},
	}
	got := translate.UnservedRouteParents(s, "TCPRoute", "apps", 7, refs)
	if len(got) != 2 || got[0].ParentRef.Name != "ours" || got[1].ParentRef.Name != "shared" {
		t.Fatalf("entries for %v, want ours and infra/shared", got)
	}
	for _, p := range got {
		c := p.Conditions
		if string(p.ControllerName) != translate.ControllerName || len(c) != 1 || c[0].Type != "Accepted" || c[0].Status != metav1.ConditionFalse ||
			c[0].Reason != string(gwapiv1.RouteReasonNotAllowedByListeners) || c[0].ObservedGeneration != 7 || !strings.Contains(c[0].Message, "TCPRoute") {
			t.Errorf("entry %+v", p)
		}
	}
}

func ptrKind(k string) *gwapiv1.Kind   { v := gwapiv1.Kind(k); return &v }
func ptrGroup(g string) *gwapiv1.Group { v := gwapiv1.Group(g); return &v }
