//go:build resilience

package resilience

import (
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// Short leader-election durations (the operator's --leader-elect-* flags; controller-runtime's
// defaults are 15 s, 10 s, 2 s), so that a failover takes seconds. The renew deadline stays
// close to the lease: on 2 loaded cores, a leader must not lose its Lease to a slow API call.
const (
	leaseDuration = 6 * time.Second
	renewDeadline = 5 * time.Second
	retryPeriod   = time.Second
)

var shortLease = []string{
	"--leader-elect-lease-duration=" + leaseDuration.String(),
	"--leader-elect-renew-deadline=" + renewDeadline.String(),
	"--leader-elect-retry-period=" + retryPeriod.String(),
}

// The bound on a failover, from the leader's death to the change made meanwhile being written.
//
// Takeover: client-go's leader election polls the Lease every retry period stretched by up to
// 1.2 (its jitter), so a standby sees the dead leader's last renewal up to 2.2 retry periods
// late, counts the lease duration from then, and takes the Lease at its next poll, up to 2.2
// retry periods after expiry: at most leaseDuration + 4.4 retry periods after the death.
//
// Then the new leader starts its controllers (their informers sync: the standby's cache holds
// only the kinds the field indexes set up before the election) and reconciles what it finds,
// the changed pool among failoverPools others: startBudget, which the measured start-ups (about
// 1 s on 2 shared cores) stay well within.
const (
	failoverPools = 50
	takeoverBound = leaseDuration + 44*retryPeriod/10
	startBudget   = 5 * time.Second
)

// TestFailover runs two replicas with leader election, kills the leader with SIGKILL (no lease
// released), and changes a pool's target port at once: the other replica takes the Lease and
// writes the change within the bound above; the killed replica wrote nothing after its death;
// once restarted, it stands by while the survivor keeps the Lease.
func TestFailover(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "operator-a", "operator-b")
	ctx := t.Context()
	e.createPools(failoverPools)
	e.track()
	exp := e.expectNow()
	flags := leaderElection(shortLease...)
	replicas := map[string]*supervisor{
		"operator-a": e.supervise("operator-a", operatorBinary, e.kubeconfig("operator-a"), flags...),
		"operator-b": e.supervise("operator-b", operatorBinary, e.kubeconfig("operator-b"), flags...),
	}
	e.converge(convergeTimeout, replicas["operator-a"], replicas["operator-b"])

	var leaderUser, standbyUser string
	if !waitUntil(ctx, 30*time.Second, func() bool {
		leaderUser, standbyUser = leaders(e, replicas)
		return leaderUser != ""
	}) {
		t.Fatal("no single replica reports leading (leader_election_master_status)")
	}
	leader, standby := replicas[leaderUser], replicas[standbyUser]
	oldHolder := e.holder()
	e.logf("%s leads (Lease holder %s), %s stands by", leaderUser, oldHolder, standbyUser)

	// Watch the Lease from the kill on: when does it change hands?
	var (
		mu        sync.Mutex
		takenOver time.Time
		newHolder string
	)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		waitUntil(ctx, takeoverBound+startBudget+10*time.Second, func() bool {
			h := e.holder()
			if h == "" || h == oldHolder {
				return false
			}
			mu.Lock()
			takenOver, newHolder = time.Now(), h
			mu.Unlock()
			return true
		})
	}()
	killed, err := leader.kill(true)
	if err != nil {
		t.Fatal(err)
	}
	pool := scale.PoolName(0)
	sent, changed, err := scale.EditTargetPort(ctx, e.c, pool, scale.TargetPort+1)
	if err != nil {
		t.Fatal(err)
	}
	e.logf("killed %s (kill -9); %s after, changed the target port of %s", leaderUser, secs(sent.Sub(killed)), pool)
	exp, err = exp.With([]client.Object{changed})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.tr.Expect(exp); err != nil {
		t.Fatal(err)
	}
	last := e.converge(convergeTimeout, leader, standby)
	shadow := e.tr.DoneAt(scale.Item{Ref: scale.Ref{Kind: "Service", Namespace: scale.Namespace, Name: translate.ShadowServiceName(pool)}})
	<-watchDone
	mu.Lock()
	takeover, holder := takenOver, newHolder
	mu.Unlock()

	failover := shadow.Sub(killed)
	e.logf("failover: Lease taken %s after the kill; the shadow Service had the new port %s after the kill, every output %s (lease %s, bound %s + start-up %s)",
		secs(takeover.Sub(killed)), secs(failover), secs(last.Sub(killed)), leaseDuration, secs(takeoverBound), secs(startBudget))
	switch {
	case takeover.IsZero():
		t.Errorf("the Lease never changed hands (holder %s)", oldHolder)
	case takeover.Sub(killed) > takeoverBound:
		t.Errorf("the Lease changed hands %s after the kill, want at most %s (lease duration + 4.4 retry periods)", secs(takeover.Sub(killed)), secs(takeoverBound))
	}
	if failover > takeoverBound+startBudget {
		t.Errorf("the change converged %s after the leader's death, want at most %s", secs(failover), secs(takeoverBound+startBudget))
	}

	// The survivor holds the Lease, leads and made the change; the dead leader wrote nothing
	// it had not sent before its death.
	if lead, err := standby.current().Leader(ctx); err != nil || !lead {
		t.Errorf("the survivor %s does not report leading (%v)", standbyUser, err)
	}
	if e.holder() != holder {
		t.Errorf("the Lease's holder is %s, not %s, which took it after the kill", e.holder(), holder)
	}
	if after := received(e.writes(leaderUser), killed); len(after) > 0 {
		t.Errorf("the killed replica wrote after its death: %s", describeWrites(after))
	}
	target := "services " + scale.Namespace + "/" + translate.ShadowServiceName(pool)
	if !wrote(received(e.writes(standbyUser), killed), target) {
		t.Errorf("the survivor %s did not write %s after the kill", standbyUser, target)
	}

	// The killed replica comes back, as its pod would: it stands by.
	leader.restart()
	if !waitUntil(ctx, 30*time.Second, func() bool { return leader.current() != nil }) {
		t.Fatalf("%s did not restart", leaderUser)
	}
	time.Sleep(3 * retryPeriod) // a few of its tries at the Lease
	back := leader.current()
	if !waitUntil(ctx, 10*time.Second, func() bool { _, err := back.Leader(ctx); return err == nil }) {
		t.Fatalf("%s's metrics are not served", leaderUser)
	}
	if lead, _ := back.Leader(ctx); lead {
		t.Errorf("the restarted %s leads, next to %s", leaderUser, standbyUser)
	}
	if e.holder() != holder {
		t.Errorf("the Lease moved to %s after %s came back", e.holder(), leaderUser)
	}
	e.verify(exp)
}

// leaders returns the replica that reports leading and the other one, or "" when not exactly
// one does.
func leaders(e *env, replicas map[string]*supervisor) (leader, standby string) {
	var lead, other []string
	for user, s := range replicas {
		op := s.current()
		if op == nil {
			return "", ""
		}
		ok, err := op.Leader(e.t.Context())
		if err != nil {
			return "", ""
		}
		if ok {
			lead = append(lead, user)
		} else {
			other = append(other, user)
		}
	}
	if len(lead) != 1 || len(other) != 1 {
		return "", ""
	}
	return lead[0], other[0]
}

// received are the writes the API server received at or after t.
func received(ws []scale.Write, t time.Time) []scale.Write {
	var out []scale.Write
	for _, w := range ws {
		if !w.Received.Before(t) {
			out = append(out, w)
		}
	}
	return out
}

// wrote tells whether ws hold a successful write to target ("resource namespace/name").
func wrote(ws []scale.Write, target string) bool {
	for _, w := range ws {
		if w.Target == target && w.Code < 300 {
			return true
		}
	}
	return false
}
