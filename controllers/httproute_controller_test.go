package controllers

import (
	"fmt"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// eppService is a ClusterIP Service for the pool's endpoint picker, as newPool names it.
func eppService(ns, pool string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: translate.DNS1035Name(pool, "epp")},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": pool + "-epp"},
			Ports:    []corev1.ServicePort{{Name: "grpc", Port: 9002, Protocol: corev1.ProtocolTCP}},
		},
	}
}

// The generated route names its rules, refers to the shadow Service on the pool's first target
// port, and the route's and pool's statuses follow EG's verdict on it.
func TestRouteTranslatedAndStatusesFollowEnvoyGateway(t *testing.T) {
	ns := newNamespace(t)
	_, route := servedPoolSetup(t, ns, "llm")
	pool := newPool(ns, "llm", "vllm", 8000, 8001)
	mustCreate(t, pool)
	mustCreate(t, eppService(ns, "llm"))

	genKey := client.ObjectKey{Namespace: ns, Name: translate.GeneratedRouteName(route.Name)}
	gen := &gwapiv1.HTTPRoute{}
	eventually(t, func() error {
		if err := get(gen, genKey); err != nil {
			return err
		}
		rule := gen.Spec.Rules[0]
		if rule.Name == nil || *rule.Name != "rule-0" || string(gen.Spec.ParentRefs[0].Name) != translate.GeneratedGatewayName("gw") {
			return fmt.Errorf("generated route %+v", gen.Spec)
		}
		ref := rule.BackendRefs[0].BackendObjectReference
		if string(ref.Name) != translate.ShadowServiceName("llm") || *ref.Kind != "Service" || ref.Port == nil || *ref.Port != 8000 {
			return fmt.Errorf("generated backendRef %+v", ref)
		}
		return nil
	})

	// Before EG speaks: Pending route and pool.
	waitRouteCondition(t, route, "gw", "Accepted", metav1.ConditionUnknown, "Pending")
	waitPoolCondition(t, pool, ns, "gw", "Accepted", metav1.ConditionUnknown, translate.PoolReasonPending)

	egJudgesRoute(t, ns, route.Name, metav1.ConditionTrue, metav1.ConditionTrue)
	eventually(t, func() error {
		if err := get(route, client.ObjectKeyFromObject(route)); err != nil {
			return err
		}
		p, err := ourRouteParent(route, "gw")
		if err != nil {
			return err
		}
		if err := hasCondition(p.Conditions, "Accepted", metav1.ConditionTrue, "Accepted"); err != nil {
			return err
		}
		return hasCondition(p.Conditions, "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
	})
	eventually(t, func() error {
		if err := get(pool, client.ObjectKeyFromObject(pool)); err != nil {
			return err
		}
		p, err := ourPoolParent(pool, ns, "gw")
		if err != nil {
			return err
		}
		if p.ParentRef.Kind != "Gateway" || p.ParentRef.Group == nil || *p.ParentRef.Group != gwapiv1.GroupName {
			return fmt.Errorf("parentRef %+v", p.ParentRef)
		}
		if err := hasCondition(p.Conditions, "Accepted", metav1.ConditionTrue, "Accepted"); err != nil {
			return err
		}
		return hasCondition(p.Conditions, "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
	})

	// EG refusing the route makes the pool HTTPRouteNotAccepted.
	egJudgesRoute(t, ns, route.Name, metav1.ConditionFalse, metav1.ConditionTrue)
	waitPoolCondition(t, pool, ns, "gw", "Accepted", metav1.ConditionFalse, string(giev1.InferencePoolReasonHTTPRouteNotAccepted))

	// Deleting the route prunes the generated route and removes the pool's entry.
	mustDelete(t, route)
	eventually(t, func() error { return absent(&gwapiv1.HTTPRoute{}, genKey) })
	eventually(t, func() error {
		if err := get(pool, client.ObjectKeyFromObject(pool)); err != nil {
			return err
		}
		if len(pool.Status.Parents) != 0 {
			return fmt.Errorf("pool parents %+v", pool.Status.Parents)
		}
		return nil
	})
}

// A ref to a missing pool: ResolvedRefs False/BackendNotFound, and a backend that cannot exist.
func TestRouteToMissingPool(t *testing.T) {
	ns := newNamespace(t)
	_, route := servedPoolSetup(t, ns, "nope")
	waitRouteCondition(t, route, "gw", "ResolvedRefs", metav1.ConditionFalse, "BackendNotFound")
	gen := waitGenerated(t, &gwapiv1.HTTPRoute{}, client.ObjectKey{Namespace: ns, Name: translate.GeneratedRouteName(route.Name)})
	if name := string(gen.Spec.Rules[0].BackendRefs[0].Name); name != translate.UnresolvedServiceName("nope") {
		t.Fatalf("missing pool became %q", name)
	}
	// The pool appearing resolves the ref.
	mustCreate(t, newPool(ns, "nope", "vllm", 8000))
	waitRouteCondition(t, route, "gw", "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
}

// A cross-namespace pool needs the user's ReferenceGrant; with it the operator keeps the grant
// EG needs, and removes it when the user's grant goes.
func TestCrossNamespacePoolGrants(t *testing.T) {
	routeNS, poolNS := newNamespace(t), newNamespace(t)
	class := uniqueName(routeNS, "class")
	mustCreate(t, ourClass(class))
	mustCreate(t, newGateway(routeNS, "gw", class))
	route := newRoute(routeNS, "route", "gw", poolBackendRef(poolNS, "llm"))
	mustCreate(t, route)
	mustCreate(t, newPool(poolNS, "llm", "vllm", 8000))
	mustCreate(t, eppService(poolNS, "llm"))

	waitRouteCondition(t, route, "gw", "ResolvedRefs", metav1.ConditionFalse, "RefNotPermitted")

	grant := &gwapiv1beta1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: poolNS, Name: "allow"},
		Spec: gwapiv1beta1.ReferenceGrantSpec{
			From: []gwapiv1beta1.ReferenceGrantFrom{{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Namespace: gwapiv1.Namespace(routeNS)}},
			To:   []gwapiv1beta1.ReferenceGrantTo{{Group: translate.InferenceGroup, Kind: translate.InferencePoolKind}},
		},
	}
	mustCreate(t, grant)
	genGrantKey := client.ObjectKey{Namespace: poolNS, Name: translate.ReferenceGrantName("llm", routeNS)}
	genGrant := waitGenerated(t, &gwapiv1beta1.ReferenceGrant{}, genGrantKey)
	if len(genGrant.Spec.From) != 2 || string(genGrant.Spec.From[0].Namespace) != routeNS {
		t.Fatalf("generated grant %+v", genGrant.Spec)
	}
	waitRouteCondition(t, route, "gw", "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
	// The policies live with the route, owned by it (ownerReferences cannot cross namespaces).
	pool := &giev1.InferencePool{}
	if err := get(pool, client.ObjectKey{Namespace: poolNS, Name: "llm"}); err != nil {
		t.Fatal(err)
	}
	btpKey := client.ObjectKey{Namespace: routeNS, Name: translate.PolicyName(pool, routeNS, class, "HTTPRoute", 0)}
	btp := waitGenerated(t, &egv1a1.BackendTrafficPolicy{}, btpKey)
	if len(btp.OwnerReferences) != 1 || btp.OwnerReferences[0].Kind != "HTTPRoute" {
		t.Fatalf("policy owners %+v", btp.OwnerReferences)
	}

	mustDelete(t, grant)
	eventually(t, func() error { return absent(&gwapiv1beta1.ReferenceGrant{}, genGrantKey) })
	eventually(t, func() error { return absent(&egv1a1.BackendTrafficPolicy{}, btpKey) })
	eventually(t, func() error {
		return absent(&corev1.Service{}, client.ObjectKey{Namespace: poolNS, Name: translate.ShadowServiceName("llm")})
	})
}

// A rule splitting traffic across two pools gets a Warning event: only one EPP can serve it.
func TestWeightedTwoPoolsWarns(t *testing.T) {
	ns := newNamespace(t)
	class := ourGateway(t, ns)
	a, b := poolBackendRef("", "pool-a"), poolBackendRef("", "pool-b")
	a.Weight, b.Weight = ptrTo(int32(50)), ptrTo(int32(50))
	route := newRoute(ns, "route", "gw", a, b)
	mustCreate(t, newPool(ns, "pool-a", "a", 8000))
	mustCreate(t, newPool(ns, "pool-b", "b", 8000))
	mustCreate(t, route)
	eventually(t, func() error {
		if len(eventsFor(t, route, "MultiplePoolsInRule")) == 0 {
			return fmt.Errorf("no MultiplePoolsInRule event on the route")
		}
		return nil
	})
	// Only pool-a's policies target the rule.
	poolB := &giev1.InferencePool{}
	if err := get(poolB, client.ObjectKey{Namespace: ns, Name: "pool-b"}); err != nil {
		t.Fatal(err)
	}
	consistently(t, pollInterval*10, func() error {
		return absent(&egv1a1.EnvoyExtensionPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.PolicyName(poolB, ns, class, "HTTPRoute", 0)})
	})
}
