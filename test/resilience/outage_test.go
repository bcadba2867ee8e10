//go:build resilience

package resilience

import (
	"strings"
	"testing"
	"time"

	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

const (
	// pools is the scale of the outage and crash scenarios: a few hundred pools, converging for
	// long enough (about 10 s) to be interrupted part-way.
	pools = 300
	// outage is how long the API server is down.
	outage = 30 * time.Second
	// convergeTimeout bounds every wait for convergence: a failure rather than a hang. The
	// kubelet's back-off alone may add 10 + 20 s after an outage.
	convergeTimeout = 3 * time.Minute
)

// TestAPIServerOutage stops the API server for 30 s while the operator converges 300 pools
// (once a third of the generated objects exist) and starts it again: the operator converges to
// exactly the expected objects and statuses.
//
// With leader election (as deployed) the operator cannot renew its Lease while the API server
// is down: controller-runtime gives up leadership after the renew deadline (10 s) and the
// process exits ("leader election lost"); the supervisor restarts it at once, as the kubelet
// does a first time. The new process waits for the API server (it does not exit again, which
// would meet the kubelet's back-off), then for the Lease its predecessor left (a new candidate
// waits a full lease duration, 15 s, from when it first reads the Lease), then converges.
// Without leader election nothing exits: client-go's requests and watches and the
// controllers' work queues retry until the API server answers.
func TestAPIServerOutage(t *testing.T) {
	t.Parallel()
	t.Run("leader-election", func(t *testing.T) { testOutage(t, true) })
	t.Run("no-leader-election", func(t *testing.T) { testOutage(t, false) })
}

func testOutage(t *testing.T, leaderElect bool) {
	t.Parallel()
	e := newEnv(t, "operator")
	ctx := t.Context()
	e.createPools(pools)
	e.track()
	exp := e.expectNow()
	args := []string{"--leader-elect=false"}
	if leaderElect {
		args = leaderElection() // controller-runtime's durations, as deployed
	}
	started := time.Now()
	op := e.supervise("operator", operatorBinary, e.kubeconfig("operator"), args...)
	e.waitObjects(1.0/3, convergeTimeout)

	// SIGTERM: kube-apiserver stops serving at once and shuts down gracefully (SIGKILL after
	// 2 s); the outage counts from the signal.
	down := time.Now()
	if err := e.cluster.StopAPIServer(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	e.logf("API server stopped after %s of convergence (%s to shut down)", secs(down.Sub(started)), secs(time.Since(down)))
	time.Sleep(time.Until(down.Add(outage)))
	restart := time.Now()
	if err := e.cluster.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	e.logf("API server serving again (%s to start): %s without it", secs(up.Sub(restart)), secs(up.Sub(down)))

	e.track()
	if err := e.tr.Expect(exp); err != nil {
		t.Fatal(err)
	}
	e.converge(convergeTimeout, op)
	last := e.lastWrite("operator", exp, up)
	if last.IsZero() {
		last = up // it had written everything before
	}
	e.logf("converged %s after the API server was back (its last write; %s after the operator's first start)", secs(last.Sub(up)), secs(last.Sub(started)))
	if leaderElect {
		if taken := e.leaseTaken("operator", up); !taken.IsZero() {
			e.logf("the restarted operator took the Lease %s after the API server was back", secs(taken.Sub(up)))
		}
	}
	e.verify(exp)

	exits := op.exitsBetween(down, time.Now())
	e.logf("%s", op.summary())
	if leaderElect {
		// Its renew deadline passed while the API server was down: it exits once, having lost
		// the lease, and the restarted process waits for the API server without exiting (a
		// process that exits again meets the kubelet's back-off: controllers.TestStartsWithoutAPIServer).
		switch {
		case len(exits) == 0:
			t.Errorf("with leader election, the operator did not exit during a %s outage (want: leader election lost after the 10 s renew deadline)", outage)
		case !strings.Contains(exits[0].reason, "leader election lost") || !exits[0].exited.Before(up):
			t.Errorf("with leader election, the operator's first exit was not the lost lease during the outage: at %s: %s", exits[0].exited.Format("15:04:05.000"), exits[0].reason)
		case len(exits) > 1:
			t.Errorf("the operator restarted after losing its lease exited again (%d exits): %s", len(exits), exits[1].reason)
		default:
			e.logf("the operator exited %s into the outage (leader election lost), was restarted once, waited for the API server and converged", secs(exits[0].exited.Sub(down)))
		}
	} else if len(exits) > 0 {
		t.Errorf("without leader election, the operator exited %d times (want none: its clients retry): %s", len(exits), exits[0].reason)
	}
	if op.current() == nil {
		t.Error("the operator is not running at the end")
	}
	logWrites(e, exp, "operator", started)
}

// logWrites reports user's writes since from against the expected items: a restarted or
// recovering operator reads what exists and writes only what differs.
func logWrites(e *env, exp *scale.Expected, user string, from time.Time) {
	resource, err := scale.Resources(e.c)
	if err != nil {
		e.t.Fatal(err)
	}
	st := scale.CountWrites(scale.Between(e.writes(user), from, time.Now().Add(time.Hour)), exp.Items, resource)
	repeated := 0
	for _, r := range st.Repeated {
		if !strings.HasPrefix(r, "leases ") {
			repeated++
		}
	}
	e.logf("the operator's writes since %s: %d to %d expected objects, %d to %d expected statuses, %d targets written more than once (the Lease's renewals aside), %d other writes (deletes of what is no longer expected, the Lease, events), %d refused",
		from.Format("15:04:05.000"), st.ObjectWrites, st.Objects, st.StatusWrites, st.Statuses, repeated, len(st.Other), len(st.Rejected))
}
