package controllers

import (
	"slices"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// DefaultFirstStatusWait is how long a new route or pool goes without a status of ours while
// all there is to say is that Envoy Gateway has not judged it yet (flag --first-status-wait).
// Envoy Gateway judges within a second on a quiet cluster; at 1000 pools applied at once it
// took up to 100 s here (docs/performance.md).
const DefaultFirstStatusWait = 2 * time.Minute

// holdFirstStatus says how long still to leave the first status of obj (a user's route or pool)
// unwritten: 0 to write it now. It holds while obj has no status entry of ours yet, what we
// would write says only "waiting for Envoy Gateway" (pendingOnly: no refusal, no reference
// problem) and obj is younger than wait. Envoy Gateway's verdict then is the first status the
// user reads, one write instead of two: written at once, the Pending of every route and pool
// of a large apply was a write per object on the API server that Envoy Gateway and the
// generated objects are waiting on, ahead of them. Past wait, a Pending still says so, for an
// Envoy Gateway that does not judge (down, or not watching the namespace). design.md §21.
func holdFirstStatus(obj client.Object, hasOurs, pendingOnly bool, wait time.Duration, now time.Time) time.Duration {
	if hasOurs || !pendingOnly {
		return 0
	}
	return max(0, wait-now.Sub(obj.GetCreationTimestamp().Time))
}

// holdRouteStatus is holdFirstStatus for a route whose status entries are current and whose
// entries the operator computes are desired.
func holdRouteStatus(route client.Object, current, desired []gwapiv1.RouteParentStatus, wait time.Duration, now time.Time) time.Duration {
	ours := slices.ContainsFunc(current, func(p gwapiv1.RouteParentStatus) bool { return string(p.ControllerName) == translate.ControllerName })
	return holdFirstStatus(route, ours, translate.RouteParentsPendingOnly(desired), wait, now)
}

// holdPoolStatus is holdFirstStatus for a pool whose entries the operator computes are desired.
func holdPoolStatus(pool *giev1.InferencePool, desired []giev1.ParentStatus, wait time.Duration, now time.Time) time.Duration {
	ours := slices.ContainsFunc(pool.Status.Parents, func(p giev1.ParentStatus) bool { return string(p.ControllerName) == translate.ControllerName })
	return holdFirstStatus(pool, ours, translate.PoolParentsPendingOnly(desired), wait, now)
}
