package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// A route's first generated route waits for the shadow Service of the pool it uses: the
// operator writes the Service before the generated route, so Envoy Gateway never judges the
// route with its backend missing (and writes, and the operator mirrors, a verdict for nothing).
// The pool exists before the route, so both controllers start on the route's creation.
// A GRPCRoute's first copy with a rule to a pool of gRPC model servers waits the same way.
func TestGeneratedRouteWaitsForShadowService(t *testing.T) {
	ns := newNamespace(t)
	ourGateway(t, ns)
	mustCreate(t, newPool(ns, "llm", "vllm", 8000))
	grpcPool := newPool(ns, "chat", "chat", 9000)
	grpcPool.Spec.AppProtocol = translate.AppProtocolH2C
	mustCreate(t, grpcPool)
	route := newRoute(ns, "route", "gw", poolBackendRef("", "llm"))
	mustCreate(t, route)
	grpc := &gwapiv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "grpc"},
		Spec: gwapiv1.GRPCRouteSpec{
			CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: "gw"}}},
			Rules:           []gwapiv1.GRPCRouteRule{{BackendRefs: []gwapiv1.GRPCBackendRef{{BackendRef: poolBackendRef("", "chat").BackendRef}}}},
		}}
	mustCreate(t, grpc)
	waitGenerated(t, &gwapiv1.HTTPRoute{}, client.ObjectKey{Namespace: ns, Name: translate.GeneratedRouteName(route.Name)})
	waitGenerated(t, &gwapiv1.GRPCRoute{}, client.ObjectKey{Namespace: ns, Name: translate.GeneratedRouteName(grpc.Name)})

	first := func(kind, name string) int {
		for i, w := range writes.matching(inNamespace(ns)) {
			if w.Kind == kind && w.Name == name && w.Subresource == "" {
				return i
			}
		}
		return -1
	}
	for _, c := range []struct{ kind, route, pool string }{{"HTTPRoute", route.Name, "llm"}, {"GRPCRoute", grpc.Name, "chat"}} {
		svc, gen := first("Service", translate.ShadowServiceName(c.pool)), first(c.kind, translate.GeneratedRouteName(c.route))
		if svc < 0 || gen < svc {
			t.Errorf("writes %v: the generated %s (at %d) before the pool's shadow Service (at %d)", writes.matching(inNamespace(ns)), c.kind, gen, svc)
		}
	}
}
