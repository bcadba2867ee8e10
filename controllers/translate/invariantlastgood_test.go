package translate_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// checkLastKnownGood: what is served stays served while its class cannot serve it. For every
// user's Gateway of our class (or of a class that no longer exists) whose generated Gateway the
// snapshot holds, the translation still generates that Gateway; while the class is not usable, on
// the same Envoy Gateway class (never re-pointed). Every generated route of a route with such a
// parent is still generated.
func checkLastKnownGood(t *testing.T, snap *translate.Snapshot, objects []client.Object) {
	t.Helper()
	desired := map[string]client.Object{}
	for _, obj := range objects {
		desired[typedKey(obj)] = obj
	}
	held := map[types.NamespacedName]bool{}
	for i := range snap.Gateways {
		gw := &snap.Gateways[i]
		v := snap.GatewayServing(gw)
		if v.State != translate.Served && v.State != translate.Held {
			continue
		}
		genNN := types.NamespacedName{Namespace: gw.Namespace, Name: translate.GeneratedGatewayName(gw.Name)}
		existing := snap.Gateway(genNN)
		if existing == nil || existing.Labels[translate.LabelManagedBy] != translate.ManagedByValue {
			continue
		}
		want := &gwapiv1.Gateway{}
		want.SetNamespace(genNN.Namespace)
		want.SetName(genNN.Name)
		got, ok := desired[typedKey(want)].(*gwapiv1.Gateway)
		if !ok {
			t.Errorf("Gateway %s/%s is served (%s) and no longer generated: Envoy Gateway would delete its fleet", gw.Namespace, gw.Name, genNN)
			continue
		}
		if v.State == translate.Held {
			held[types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}] = true
			if got.Spec.GatewayClassName != existing.Spec.GatewayClassName {
				t.Errorf("held Gateway %s re-pointed from Envoy Gateway class %q to %q", genNN, existing.Spec.GatewayClassName, got.Spec.GatewayClassName)
			}
		}
	}
	for i := range snap.HTTPRoutes {
		route := &snap.HTTPRoutes[i]
		if route.Labels[translate.LabelManagedBy] == translate.ManagedByValue {
			continue
		}
		onHeld := false
		for _, gw := range translate.ParentGateways(route) {
			onHeld = onHeld || held[gw]
		}
		gen := snap.HTTPRoute(types.NamespacedName{Namespace: route.Namespace, Name: translate.GeneratedRouteName(route.Name)})
		if !onHeld || gen == nil || gen.Labels[translate.LabelManagedBy] != translate.ManagedByValue {
			continue
		}
		if _, ok := desired[typedKey(gen)]; !ok {
			t.Errorf("HTTPRoute %s/%s on a held Gateway: its generated route %s is no longer generated", route.Namespace, route.Name, gen.Name)
		}
	}
}
