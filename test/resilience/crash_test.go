//go:build resilience

package resilience

import (
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// TestCrash kills the operator with SIGKILL while it converges 300 pools (once a third of the
// generated objects exist), changes inputs while it is down, and restarts it: it converges to
// exactly the objects and statuses the translation expects of the inputs as they are then.
// The changes are made to pools whose generated objects all exist, so that what a restarted
// operator fails to prune stays behind: pools deleted (their shadow Service and policies must
// go), routes deleted (their generated route must go, and the pools they used become
// unreferenced: no generated objects, no status entry of ours), target ports changed (the
// shadow Services must follow).
func TestCrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "operator")
	ctx := t.Context()
	e.createPools(pools)
	e.track()
	e.expectNow()
	started := time.Now()
	// Leader election on, as deployed; the Lease a killed process leaves behind is not released,
	// so its successor waits until it expires: short durations keep that wait short.
	op := e.supervise("operator", operatorBinary, e.kubeconfig("operator"), leaderElection(shortLease...)...)
	const each = 3 // pools deleted, routes deleted, target ports changed while it is down
	e.waitObjects(1.0/3, convergeTimeout)
	e.waitCompletePools(3*each, convergeTimeout)

	killed, err := op.kill(true)
	if err != nil {
		t.Fatal(err)
	}
	done, total := e.tr.Objects()
	complete := e.tr.PoolsWithObjects()
	e.logf("killed the operator (kill -9) %s after its start, with %d of %d generated objects there and %d pools complete", secs(killed.Sub(started)), done, total, len(complete))
	if done == total {
		t.Fatalf("the operator had converged before it was killed: nothing tests a crash part-way")
	}
	deletedPools, deletedRoutes, edited := complete[:each], complete[each:2*each], complete[2*each:3*each]
	for _, i := range deletedPools {
		del(t, e, &giev1.InferencePool{}, scale.PoolName(i))
	}
	for _, i := range deletedRoutes {
		del(t, e, &gwapiv1.HTTPRoute{}, scale.PoolName(i)) // a pool's route has the pool's name
	}
	for _, i := range edited {
		if _, _, err := scale.EditTargetPort(ctx, e.c, scale.PoolName(i), scale.TargetPort+1); err != nil {
			t.Fatal(err)
		}
	}
	e.logf("while it was down: deleted pools %v, deleted the routes of pools %v, changed the target port of pools %v", deletedPools, deletedRoutes, edited)

	exp := e.expectNow()
	restarted := time.Now()
	op.restart()
	last := e.converge(convergeTimeout, op)
	e.logf("converged %s after the restart (%s down); it took the Lease its predecessor left %s after its start", secs(last.Sub(restarted)), secs(restarted.Sub(killed)), secs(e.leaseTaken("operator", restarted).Sub(restarted)))
	e.verify(exp)

	// What the changes must have removed, named (Verify found nothing stale; this says what
	// the scenario was about).
	for _, i := range deletedPools {
		gone(t, e, exp, "Service", translate.ShadowServiceName(scale.PoolName(i)))
	}
	for _, i := range deletedRoutes {
		gone(t, e, exp, "HTTPRoute", translate.GeneratedRouteName(scale.PoolName(i)))
		gone(t, e, exp, "Service", translate.ShadowServiceName(scale.PoolName(i)))
	}
	if op.restarts() != 1 {
		t.Errorf("the operator restarted %d times, want once (after the kill): %s", op.restarts(), op.summary())
	}
	logWrites(e, exp, "operator", restarted)
}

// del deletes the input obj named name in the inputs' namespace.
func del(t *testing.T, e *env, obj client.Object, name string) {
	t.Helper()
	obj.SetNamespace(scale.Namespace)
	obj.SetName(name)
	if err := e.c.Delete(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
}

// gone checks, on the API server, that the generated object kind/name is gone and was not
// expected.
func gone(t *testing.T, e *env, exp *scale.Expected, kind, name string) {
	t.Helper()
	r := scale.Ref{Kind: kind, Namespace: scale.Namespace, Name: name}
	if exp.Expects(r) {
		t.Errorf("%s: the translation still expects it", r)
	}
	var obj client.Object
	for _, k := range scale.WatchedKinds {
		if ref, _ := scale.RefOf(k); ref.Kind == kind {
			obj = k.DeepCopyObject().(client.Object)
		}
	}
	switch err := e.c.Get(t.Context(), client.ObjectKey{Namespace: scale.Namespace, Name: name}, obj); {
	case err == nil:
		t.Errorf("%s is still there", r)
	case !apierrors.IsNotFound(err):
		t.Errorf("%s: %v", r, err)
	}
}
