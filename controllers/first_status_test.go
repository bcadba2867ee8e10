package controllers

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// withFirstStatusWait restarts the suite's operator with Options.FirstStatusWait d, and again
// without it when the test ends.
func withFirstStatusWait(t *testing.T, d time.Duration) {
	restartOperator(t, func() { suiteFirstStatusWait = d })
	t.Cleanup(func() { restartOperator(t, func() { suiteFirstStatusWait = 0 }) })
}

// TestFirstStatusIsEnvoyGatewaysVerdict: with a first-status wait, a new route and its pool get
// no status of ours while Envoy Gateway has not judged the route; Envoy Gateway's verdict is
// their first status, one write each. A route Envoy Gateway does not judge gets its Pending once
// the wait is over, not before; a route with a problem the operator finds gets it at once.
func TestFirstStatusIsEnvoyGatewaysVerdict(t *testing.T) {
	const wait = 15 * time.Second
	withFirstStatusWait(t, wait)
	ns := newNamespace(t)
	writes.reset()
	_, route := servedPoolSetup(t, ns, "llm")
	pool := newPool(ns, "llm", "vllm", 8000)
	mustCreate(t, pool)
	mustCreate(t, eppService(ns, "llm"))
	waitGenerated(t, &gwapiv1.HTTPRoute{}, client.ObjectKey{Namespace: ns, Name: translate.GeneratedRouteName(route.Name)})

	noStatusOfOurs := func() error {
		if err := get(route, client.ObjectKeyFromObject(route)); err != nil {
			return err
		}
		if err := get(pool, client.ObjectKeyFromObject(pool)); err != nil {
			return err
		}
		_, routeErr := ourRouteParent(route, "gw")
		_, poolErr := ourPoolParent(pool, ns, "gw")
		if routeErr == nil || poolErr == nil {
			return fmt.Errorf("a status written before Envoy Gateway's verdict: route %+v, pool %+v", route.Status.Parents, pool.Status.Parents)
		}
		return nil
	}
	consistently(t, 3*time.Second, noStatusOfOurs)

	egJudgesRoute(t, ns, route.Name, metav1.ConditionTrue, metav1.ConditionTrue)
	waitRouteCondition(t, route, "gw", "Accepted", metav1.ConditionTrue, "Accepted")
	waitPoolCondition(t, pool, ns, "gw", "Accepted", metav1.ConditionTrue, "Accepted")
	statusWrites := func(kind, name string) func(write) bool {
		return func(w write) bool {
			return w.Subresource == "status" && w.Kind == kind && w.Namespace == ns && w.Name == name
		}
	}
	waitQuiet(t, inNamespace(ns), 2*time.Second)
	if w := writes.matching(statusWrites("HTTPRoute", route.Name)); len(w) != 1 {
		t.Errorf("the route's status writes: %v, want the verdict only", w)
	}
	if w := writes.matching(statusWrites("InferencePool", pool.Name)); len(w) != 1 {
		t.Errorf("the pool's status writes: %v, want the verdict only", w)
	}

	// Not judged: Pending, once the wait is over.
	quiet := newRoute(ns, "quiet", "gw", poolBackendRef("", "llm"))
	mustCreate(t, quiet)
	waitRouteCondition(t, quiet, "gw", "Accepted", metav1.ConditionUnknown, "Pending")
	if err := get(quiet, client.ObjectKeyFromObject(quiet)); err != nil {
		t.Fatal(err)
	}
	if age := time.Since(quiet.CreationTimestamp.Time); age < wait-time.Second {
		t.Errorf("Pending written %v after the route's creation, before the wait (%v)", age, wait)
	}

	// A problem of the operator's own finding is written at once.
	broken := newRoute(ns, "broken", "gw", poolBackendRef("", "missing"))
	mustCreate(t, broken)
	eventuallyWithin(t, wait/2, func() error {
		if err := get(broken, client.ObjectKeyFromObject(broken)); err != nil {
			return err
		}
		p, err := ourRouteParent(broken, "gw")
		if err != nil {
			return err
		}
		return hasCondition(p.Conditions, "ResolvedRefs", metav1.ConditionFalse, string(gwapiv1.RouteReasonBackendNotFound))
	})
}
