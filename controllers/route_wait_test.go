package controllers

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// A route's first generated route waits for the shadow Service of the pool it uses: the
// operator writes the Service before the generated route, so Envoy Gateway never judges the
// route with its backend missing (and writes, and the operator mirrors, a verdict for nothing).
// The pool exists before the route, so both controllers start on the route's creation.
func TestGeneratedRouteWaitsForShadowService(t *testing.T) {
	ns := newNamespace(t)
	class := uniqueName(ns, "class")
	mustCreate(t, ourClass(class))
	mustCreate(t, newGateway(ns, "gw", class))
	mustCreate(t, newPool(ns, "llm", "vllm", 8000))
	route := newRoute(ns, "route", "gw", poolBackendRef("", "llm"))
	mustCreate(t, route)
	generated := translate.GeneratedRouteName(route.Name)
	waitGenerated(t, &gwapiv1.HTTPRoute{}, client.ObjectKey{Namespace: ns, Name: generated})

	first := func(kind, name string) int {
		for i, w := range writes.matching(inNamespace(ns)) {
			if w.Kind == kind && w.Name == name && w.Subresource == "" {
				return i
			}
		}
		return -1
	}
	svc, gen := first("Service", translate.ShadowServiceName("llm")), first("HTTPRoute", generated)
	if svc < 0 || gen < svc {
		t.Fatalf("writes %v: the generated route (at %d) before the pool's shadow Service (at %d)", writes.matching(inNamespace(ns)), gen, svc)
	}
}
