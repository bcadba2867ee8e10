//go:build resilience

package resilience

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// operatorNamespace holds the leader-election Lease, as the operator's namespace does in a cluster.
const operatorNamespace = "inferencepool-operator-system"

// env is one test's control plane, with the harness's clients.
type env struct {
	t       *testing.T
	dir     string
	cluster *cluster.Cluster
	// admin is the cluster admin's client configuration; c a client of it that reads from the
	// API server (no cache).
	admin    *rest.Config
	c        client.Client
	auditLog string
	// tr watches everything the operator writes (started by track); stopTracker stops it.
	tr          *scale.Tracker
	stopTracker context.CancelFunc
}

// newEnv starts etcd and kube-apiserver with every CRD the operator uses and an audit log of the
// writes of users, the operator's identities, each bound to the operator's ClusterRole and to
// its leader-election Role in operatorNamespace. Everything stops when the test ends; its
// directory (component logs, operator logs, audit log) is kept when it fails, or when
// RESILIENCE_KEEP=1.
func newEnv(t *testing.T, users ...string) *env {
	t.Helper()
	ctx := t.Context()
	dir, err := os.MkdirTemp("", "resilience-"+strings.ReplaceAll(t.Name(), "/", "-")+"-")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, auditLog: filepath.Join(dir, "audit.log")}
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(scale.AuditPolicy(users...)), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{
		Dir: filepath.Join(dir, "cluster"), APIServerOnly: true,
		APIServerArgs: []string{
			"--audit-policy-file=" + policy, "--audit-log-path=" + e.auditLog,
			// Synchronous: a write is in the log once its response is sent.
			"--audit-log-mode=blocking",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.cluster = c
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
		if t.Failed() || os.Getenv("RESILIENCE_KEEP") == "1" {
			t.Logf("kept %s: operator logs, audit.log, cluster/logs/", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	e.admin = c.RESTConfig()
	e.admin.QPS = -1 // no client-side rate limit: the inputs are written fast
	if e.c, err = client.New(e.admin, client.Options{Scheme: controllers.NewScheme()}); err != nil {
		t.Fatal(err)
	}
	crds, err := testenv.CRDPaths()
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.ApplyFiles(ctx, e.admin, crds...); err != nil {
		t.Fatalf("installing the CRDs: %v", err)
	}
	if err := e.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil {
		t.Fatal(err)
	}
	if err := scale.BindClusterRole(ctx, e.admin, users...); err != nil {
		t.Fatal(err)
	}
	if err := scale.BindLeaderElectionRole(ctx, e.admin, operatorNamespace, users...); err != nil {
		t.Fatal(err)
	}
	e.logf("control plane up with the CRDs and RBAC in %s (%s)", secs(time.Since(start)), dir)
	return e
}

func (e *env) logf(format string, args ...any) {
	e.t.Helper()
	e.t.Logf("%s "+format, append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

// kubeconfig writes the kubeconfig of user (a client certificate of the cluster's CA) and
// returns its path.
func (e *env) kubeconfig(user string) string {
	e.t.Helper()
	creds, err := e.cluster.UserCredentials(user)
	if err != nil {
		e.t.Fatal(err)
	}
	path := filepath.Join(e.dir, user+".kubeconfig")
	if err := e.cluster.WriteUserKubeconfig(path, creds); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// createPools writes the inputs of n pools (test/scale) and returns how long that took.
func (e *env) createPools(n int) {
	e.t.Helper()
	start := time.Now()
	if err := scale.CreateInputs(e.t.Context(), e.c, n); err != nil {
		e.t.Fatal(err)
	}
	e.logf("created the inputs of %d pools in %s", n, secs(time.Since(start)))
}

// track starts watching everything the operator writes, in place of the watches started
// before: after an outage, client-go's reflectors reconnect with a back-off of up to 30 s, which
// the harness's measurements must not include.
func (e *env) track() {
	e.t.Helper()
	if e.stopTracker != nil {
		e.stopTracker()
	}
	ctx, cancel := context.WithCancel(e.t.Context())
	tr, err := scale.StartTracker(ctx, e.admin)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	e.tr, e.stopTracker = tr, cancel
}

// lastWrite is when user's last write to what exp expects, since from, completed: when the
// operator converged, from the audit log.
func (e *env) lastWrite(user string, exp *scale.Expected, from time.Time) time.Time {
	e.t.Helper()
	resource, err := scale.Resources(e.c)
	if err != nil {
		e.t.Fatal(err)
	}
	return scale.LastWrite(scale.Between(e.writes(user), from, time.Now().Add(time.Hour)), exp.Items, resource)
}

// expectNow translates the inputs as the API server has them now and makes that what the
// tracker waits for.
func (e *env) expectNow() *scale.Expected {
	e.t.Helper()
	exp, err := scale.Expect(e.t.Context(), e.c)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.tr.Expect(exp); err != nil {
		e.t.Fatal(err)
	}
	objects, statuses := exp.Counts()
	e.logf("expecting %d generated objects and %d statuses", objects, statuses)
	return exp
}

// converge waits until every expected item is there and returns when the last one was.
func (e *env) converge(timeout time.Duration, sups ...*supervisor) time.Time {
	e.t.Helper()
	last, err := e.tr.Wait(e.t.Context(), timeout)
	if err != nil {
		for _, s := range sups {
			e.logf("%s", s.summary())
		}
		e.t.Fatalf("not converged: %v", err)
	}
	return last
}

// verify checks the API server holds exactly what exp expects (scale.Verify).
func (e *env) verify(exp *scale.Expected) {
	e.t.Helper()
	if err := scale.Verify(e.t.Context(), e.c, exp); err != nil {
		e.t.Errorf("the cluster is not exactly what the translation expects:\n%v", err)
		return
	}
	objects, statuses := exp.Counts()
	e.logf("verified from the API server: exactly the %d expected generated objects (none missing, stale, stray or duplicated) and the %d expected statuses", objects, statuses)
}

// waitObjects waits until at least fraction of the expected generated objects are there.
func (e *env) waitObjects(fraction float64, timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, total := e.tr.Objects()
		if float64(done) >= fraction*float64(total) {
			e.logf("%d of %d expected generated objects are there", done, total)
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("only %d of %d expected generated objects after %s", done, total, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCompletePools waits until at least n pools have all their expected generated objects.
// The operator works breadth-first (routes, then pools, with several workers), so a fraction of
// the objects says little about how many pools are complete.
func (e *env) waitCompletePools(n int, timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if have := len(e.tr.PoolsWithObjects()); have >= n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("only %d pools have all their generated objects after %s, want %d", len(e.tr.PoolsWithObjects()), timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lease reads the operator's leader-election Lease.
func (e *env) lease() (*coordinationv1.Lease, error) {
	l := &coordinationv1.Lease{}
	err := e.c.Get(e.t.Context(), client.ObjectKey{Namespace: operatorNamespace, Name: controllers.LeaderElectionID}, l)
	return l, err
}

// holder is the Lease's holderIdentity, or "" when there is none.
func (e *env) holder() string {
	l, err := e.lease()
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// writes reads user's writes from the audit log.
func (e *env) writes(user string) []scale.Write {
	e.t.Helper()
	ws, err := scale.ReadWrites(e.auditLog, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return ws
}

// leaseTaken is when user first wrote the Lease since from (the API server received it): when a
// process started since then took it (a leader renews it; one that takes it writes it first).
func (e *env) leaseTaken(user string, from time.Time) time.Time {
	e.t.Helper()
	target := "leases " + operatorNamespace + "/" + controllers.LeaderElectionID
	for _, w := range e.writes(user) {
		if w.Target == target && w.Code < 300 && !w.Received.Before(from) {
			return w.Received
		}
	}
	return time.Time{}
}

// leaderElection are the operator's flags for leader election as deployed: on, the Lease in
// the operator's namespace, plus extra (e.g. shorter durations).
func leaderElection(extra ...string) []string {
	return append([]string{"--leader-elect=true", "--leader-election-namespace=" + operatorNamespace}, extra...)
}

// describeWrites lists a few writes.
func describeWrites(ws []scale.Write) string {
	var out []string
	for _, w := range ws[:min(5, len(ws))] {
		out = append(out, fmt.Sprintf("%s %s at %s", w.Verb, w.Target, w.Received.Format("15:04:05.000")))
	}
	return strings.Join(out, "; ")
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// waitUntil polls cond every 50 ms until it holds or timeout passes.
func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}
