package controllers

import (
	"fmt"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// A Gateway of ours gets an EG Gateway (same listeners, EG's class) and a ClientTrafficPolicy
// stripping the destination header; its status is Pending until EG judges the generated
// Gateway, then mirrors EG's verdict with the user's generation.
func TestGatewayGeneratedAndStatusMirrored(t *testing.T) {
	ns := newNamespace(t)
	class := uniqueName(ns, "class")
	mustCreate(t, ourClass(class))
	gw := newGateway(ns, "gw", class)
	mustCreate(t, gw)

	genKey := client.ObjectKey{Namespace: ns, Name: translate.GeneratedGatewayName("gw")}
	gen := waitGenerated(t, &gwapiv1.Gateway{}, genKey)
	if gen.Spec.GatewayClassName != testEnvoyGatewayClass || len(gen.Spec.Listeners) != 1 || gen.Spec.Listeners[0].Port != 80 {
		t.Fatalf("generated Gateway spec %+v", gen.Spec)
	}
	ctp := waitGenerated(t, &egv1a1.ClientTrafficPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.ClientTrafficPolicyName("gw")})
	if ctp.Spec.Headers == nil || ctp.Spec.Headers.EarlyRequestHeaders == nil || len(ctp.Spec.Headers.EarlyRequestHeaders.Remove) != 1 ||
		ctp.Spec.Headers.EarlyRequestHeaders.Remove[0] != translate.DestinationHeader || string(ctp.Spec.TargetRefs[0].Name) != genKey.Name {
		t.Fatalf("ClientTrafficPolicy spec %+v", ctp.Spec)
	}

	eventually(t, func() error {
		if err := get(gw, client.ObjectKeyFromObject(gw)); err != nil {
			return err
		}
		return hasCondition(gw.Status.Conditions, "Accepted", metav1.ConditionUnknown, "Pending")
	})

	egAcceptsGateway(t, ns, "gw")
	eventually(t, func() error {
		if err := get(gw, client.ObjectKeyFromObject(gw)); err != nil {
			return err
		}
		for _, typ := range []string{"Accepted", "Programmed"} {
			if err := hasCondition(gw.Status.Conditions, typ, metav1.ConditionTrue, typ); err != nil {
				return err
			}
			if c := findCond(gw.Status.Conditions, typ); c.ObservedGeneration != gw.Generation {
				return fmt.Errorf("%s observedGeneration %d, want %d", typ, c.ObservedGeneration, gw.Generation)
			}
		}
		if len(gw.Status.Addresses) != 1 || gw.Status.Addresses[0].Value != "10.96.0.42" {
			return fmt.Errorf("addresses %+v", gw.Status.Addresses)
		}
		if len(gw.Status.Listeners) != 1 || gw.Status.Listeners[0].AttachedRoutes != 1 || len(gw.Status.Listeners[0].SupportedKinds) != 1 {
			return fmt.Errorf("listeners %+v", gw.Status.Listeners)
		}
		return nil
	})

	// A spec change makes EG's verdict stale: Pending again until EG judges the new spec.
	mustUpdate(t, gw, func(g *gwapiv1.Gateway) {
		g.Spec.Listeners = append(g.Spec.Listeners, gwapiv1.Listener{Name: "alt", Protocol: gwapiv1.HTTPProtocolType, Port: 8080})
	})
	eventually(t, func() error {
		if err := get(gen, genKey); err != nil {
			return err
		}
		if len(gen.Spec.Listeners) != 2 {
			return fmt.Errorf("generated listeners %d, want 2", len(gen.Spec.Listeners))
		}
		if err := get(gw, client.ObjectKeyFromObject(gw)); err != nil {
			return err
		}
		return hasCondition(gw.Status.Conditions, "Programmed", metav1.ConditionUnknown, "Pending")
	})
	egAcceptsGateway(t, ns, "gw")
	eventually(t, func() error {
		if err := get(gw, client.ObjectKeyFromObject(gw)); err != nil {
			return err
		}
		if len(gw.Status.Listeners) != 2 {
			return fmt.Errorf("listeners %d, want 2", len(gw.Status.Listeners))
		}
		return hasCondition(gw.Status.Conditions, "Programmed", metav1.ConditionTrue, "Programmed")
	})
}

// Parameters choose the EG class and can turn header stripping off; deleting the Gateway
// prunes what was generated.
func TestGatewayParametersAndPruning(t *testing.T) {
	ns := newNamespace(t)
	egInternal := uniqueName(ns, "eg-internal")
	if err := createAcceptedEnvoyGatewayClass(egInternal); err != nil {
		t.Fatal(err)
	}
	params := &v1alpha1.InferenceGatewayParameters{
		ObjectMeta: metav1.ObjectMeta{Name: uniqueName(ns, "params")},
		Spec: v1alpha1.InferenceGatewayParametersSpec{EnvoyGatewayClassName: egInternal, StripClientDestinationHeader: ptrTo(false),
			Retry: &v1alpha1.RetrySettings{NumRetries: ptrTo(int32(0))}}, // nothing for a ClientTrafficPolicy to do
	}
	mustCreate(t, params)
	class := ourClass(uniqueName(ns, "class"))
	class.Spec.ParametersRef = parametersRef(params.Name)
	mustCreate(t, class)
	gw := newGateway(ns, "gw", class.Name)
	mustCreate(t, gw)

	genKey := client.ObjectKey{Namespace: ns, Name: translate.GeneratedGatewayName("gw")}
	eventually(t, func() error {
		gen := &gwapiv1.Gateway{}
		if err := get(gen, genKey); err != nil {
			return err
		}
		if string(gen.Spec.GatewayClassName) != egInternal {
			return fmt.Errorf("class %s", gen.Spec.GatewayClassName)
		}
		return nil
	})
	ctpKey := client.ObjectKey{Namespace: ns, Name: translate.ClientTrafficPolicyName("gw")}
	consistently(t, pollInterval*10, func() error { return absent(&egv1a1.ClientTrafficPolicy{}, ctpKey) })

	// Turning retries on adds the policy, for the listeners' retry buffer only.
	mustUpdate(t, params, func(p *v1alpha1.InferenceGatewayParameters) { p.Spec.Retry = nil })
	waitUntil(t, &egv1a1.ClientTrafficPolicy{}, ctpKey, func(p *egv1a1.ClientTrafficPolicy) error {
		if p.Spec.Connection == nil || p.Spec.Connection.BufferLimit == nil || p.Spec.Connection.BufferLimit.String() != v1alpha1.DefaultRequestBufferLimit || p.Spec.Headers != nil {
			return fmt.Errorf("connection %+v, headers %+v: want the 4Mi buffer only", p.Spec.Connection, p.Spec.Headers)
		}
		return nil
	})

	// Turning stripping on adds the header removal.
	mustUpdate(t, params, func(p *v1alpha1.InferenceGatewayParameters) { p.Spec.StripClientDestinationHeader = ptrTo(true) })
	waitUntil(t, &egv1a1.ClientTrafficPolicy{}, ctpKey, func(p *egv1a1.ClientTrafficPolicy) error {
		if p.Spec.Headers == nil || p.Spec.Headers.EarlyRequestHeaders == nil || len(p.Spec.Headers.EarlyRequestHeaders.Remove) != 1 {
			return fmt.Errorf("headers %+v: want the destination header removed", p.Spec.Headers)
		}
		return nil
	})

	mustDelete(t, gw)
	eventually(t, func() error { return absent(&gwapiv1.Gateway{}, genKey) })
	eventually(t, func() error { return absent(&egv1a1.ClientTrafficPolicy{}, ctpKey) })
}

// A Gateway whose class names missing parameters is Pending and gets nothing generated.
func TestGatewayOfUnacceptedClassIsPending(t *testing.T) {
	ns := newNamespace(t)
	class := ourClass(uniqueName(ns, "class"))
	class.Spec.ParametersRef = parametersRef("does-not-exist")
	mustCreate(t, class)
	gw := newGateway(ns, "gw", class.Name)
	mustCreate(t, gw)
	eventually(t, func() error {
		if err := get(gw, client.ObjectKeyFromObject(gw)); err != nil {
			return err
		}
		return hasCondition(gw.Status.Conditions, "Accepted", metav1.ConditionFalse, "Pending")
	})
	if err := absent(&gwapiv1.Gateway{}, client.ObjectKey{Namespace: ns, Name: translate.GeneratedGatewayName("gw")}); err != nil {
		t.Fatal(err)
	}
}

func findCond(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return &metav1.Condition{}
}
