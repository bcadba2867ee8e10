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

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// A GRPCRoute rule to a pool of gRPC model servers is served as an HTTPRoute rule is: its copy
// sends the rule to the pool's shadow Service, and the pool's policies (endpoint override, the
// endpoint picker's ext_proc, and the route timeout a GRPCRoute cannot set) target the copy's
// rule. A pool of HTTP/1.1 model servers is refused in the route's status (UnsupportedProtocol)
// and the pool's (NotSupportedByParent), until its appProtocol says h2c: the GRPCRoute and pool
// controllers follow the pool's change.
func TestGRPCRouteToPool(t *testing.T) {
	ns := newNamespace(t)
	class := ourGateway(t, ns)
	pool := newPool(ns, "pool", "grpc", 9000)
	mustCreate(t, pool)
	mustCreate(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pool-epp"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "epp"}, Ports: []corev1.ServicePort{{Name: "grpc", Port: 9002}}}})
	ref := poolBackendRef("", "pool")
	route := &gwapiv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "chat"},
		Spec: gwapiv1.GRPCRouteSpec{
			CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: "gw"}}},
			Rules: []gwapiv1.GRPCRouteRule{{
				Matches:     []gwapiv1.GRPCRouteMatch{{Method: &gwapiv1.GRPCMethodMatch{Service: ptrTo("chat.Chat")}}},
				BackendRefs: []gwapiv1.GRPCBackendRef{{BackendRef: ref.BackendRef}},
			}},
		}}
	mustCreate(t, route)
	copyKey := client.ObjectKey{Namespace: ns, Name: translate.GeneratedRouteName("chat")}
	egAcceptsGateway(t, ns, "gw")

	// appProtocol unset (HTTP/1.1): refused on both sides, its share to the Service that cannot be.
	waitUntil(t, &gwapiv1.GRPCRoute{}, client.ObjectKeyFromObject(route), func(r *gwapiv1.GRPCRoute) error {
		e, err := ourEntry(r.Status.RouteStatus, "gw")
		if err != nil {
			return err
		}
		return hasCondition(e.Conditions, "ResolvedRefs", metav1.ConditionFalse, string(gwapiv1.RouteReasonUnsupportedProtocol))
	})
	waitUntil(t, &gwapiv1.GRPCRoute{}, copyKey, func(r *gwapiv1.GRPCRoute) error {
		if got := r.Spec.Rules[0].BackendRefs; len(got) != 1 || string(got[0].Name) != translate.UnresolvedServiceName("pool") {
			return fmt.Errorf("copy's backendRefs %+v, want the unresolved Service", got)
		}
		return nil
	})
	waitPoolCondition(t, pool, ns, "gw", "Accepted", metav1.ConditionFalse, string(giev1.InferencePoolReasonNotSupportedByParent))
	if err := absent(&corev1.Service{}, client.ObjectKey{Namespace: ns, Name: translate.ShadowServiceName("pool")}); err != nil {
		t.Fatalf("a pool no route can use got a shadow Service: %v", err)
	}

	// h2c: served.
	mustUpdate(t, pool, func(p *giev1.InferencePool) { p.Spec.AppProtocol = translate.AppProtocolH2C })
	waitUntil(t, &gwapiv1.GRPCRoute{}, copyKey, func(r *gwapiv1.GRPCRoute) error {
		rule := r.Spec.Rules[0]
		if ptrString(rule.Name) != "rule-0" {
			return fmt.Errorf("copy's rule named %q, want rule-0", ptrString(rule.Name))
		}
		if len(rule.BackendRefs) != 1 || string(rule.BackendRefs[0].Name) != translate.ShadowServiceName("pool") || ptrPort(rule.BackendRefs[0].Port) != 9000 {
			return fmt.Errorf("copy's backendRefs %+v, want the shadow Service on 9000", rule.BackendRefs)
		}
		return nil
	})
	waitUntil(t, &corev1.Service{}, client.ObjectKey{Namespace: ns, Name: translate.ShadowServiceName("pool")}, func(s *corev1.Service) error {
		if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].AppProtocol == nil || *s.Spec.Ports[0].AppProtocol != translate.AppProtocolH2C {
			return fmt.Errorf("shadow Service ports %+v, want appProtocol %s", s.Spec.Ports, translate.AppProtocolH2C)
		}
		return nil
	})
	target := func(refs []gwapiv1.LocalPolicyTargetReferenceWithSectionName) error {
		if len(refs) != 1 || refs[0].Kind != "GRPCRoute" || string(refs[0].Name) != copyKey.Name || ptrString(refs[0].SectionName) != "rule-0" {
			return fmt.Errorf("targets %+v, want GRPCRoute %s rule-0", refs, copyKey.Name)
		}
		return nil
	}
	waitUntil(t, &egv1a1.BackendTrafficPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class, "GRPCRoute", 0)}, func(p *egv1a1.BackendTrafficPolicy) error {
		if p.Spec.LoadBalancer == nil || p.Spec.LoadBalancer.EndpointOverride == nil {
			return fmt.Errorf("no endpoint override: %+v", p.Spec.LoadBalancer)
		}
		if p.Spec.Timeout == nil || p.Spec.Timeout.HTTP == nil || p.Spec.Timeout.HTTP.RequestTimeout == nil {
			return fmt.Errorf("no requestTimeout: %+v", p.Spec.Timeout)
		}
		return target(p.Spec.TargetRefs)
	})
	waitUntil(t, &egv1a1.EnvoyExtensionPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class, "GRPCRoute", 0)}, func(p *egv1a1.EnvoyExtensionPolicy) error {
		if len(p.Spec.ExtProc) != 1 {
			return fmt.Errorf("extProc %+v, want the endpoint picker's", p.Spec.ExtProc)
		}
		return target(p.Spec.TargetRefs)
	})

	// Envoy Gateway accepts the copy: the route and the pool say so.
	setStatus(t, &gwapiv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: copyKey.Name}}, func(r *gwapiv1.GRPCRoute) {
		r.Status.Parents = []gwapiv1.RouteParentStatus{{ParentRef: r.Spec.ParentRefs[0], ControllerName: egControllerName,
			Conditions: []metav1.Condition{egCondition("Accepted", "True", "Accepted", r.Generation), egCondition("ResolvedRefs", "True", "ResolvedRefs", r.Generation)}}}
	})
	waitUntil(t, &gwapiv1.GRPCRoute{}, client.ObjectKeyFromObject(route), func(r *gwapiv1.GRPCRoute) error {
		e, err := ourEntry(r.Status.RouteStatus, "gw")
		if err != nil {
			return err
		}
		if err := hasCondition(e.Conditions, "Accepted", metav1.ConditionTrue, "Accepted"); err != nil {
			return err
		}
		return hasCondition(e.Conditions, "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
	})
	waitPoolCondition(t, pool, ns, "gw", "Accepted", metav1.ConditionTrue, string(giev1.InferencePoolReasonAccepted))

	// The route removed, what was generated for the pool goes.
	mustDelete(t, route)
	eventually(t, func() error {
		if err := absent(&egv1a1.BackendTrafficPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class, "GRPCRoute", 0)}); err != nil {
			return err
		}
		return absent(&corev1.Service{}, client.ObjectKey{Namespace: ns, Name: translate.ShadowServiceName("pool")})
	})
}

func ptrPort(p *gwapiv1.PortNumber) int32 {
	if p == nil {
		return 0
	}
	return int32(*p)
}
