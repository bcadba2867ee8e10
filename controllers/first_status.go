package controllers

import (
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

// hasOurRouteEntry tells whether a route's status has an entry written by the operator.
func hasOurRouteEntry(parents []gwapiv1.RouteParentStatus) bool {
	for _, p := range parents {
		if string(p.ControllerName) == translate.ControllerName {
			return true
		}
	}
	return false
}

// hasOurPoolEntry tells whether a pool's status has an entry written by the operator.
func hasOurPoolEntry(parents []giev1.ParentStatus) bool {
	for _, p := range parents {
		if string(p.ControllerName) == translate.ControllerName {
			return true
		}
	}
	return false
}
