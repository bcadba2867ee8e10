package cluster

import (
	"context"
	"testing"
)

// ForTest starts a cluster for a test and stops it when the test and its subtests finish,
// pass or fail. A temporary directory is removed unless the test failed (then its path, with
// the component logs, is logged) or opts.KeepDir is set. For one cluster per
// package, call Start in TestMain and Stop before os.Exit instead.
func ForTest(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("starting cluster: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.KeepDir() // keep the component logs of a failed test
			t.Logf("cluster directory kept: %s (component logs in %s)", c.Dir, c.LogDir())
		}
		if err := c.Stop(); err != nil {
			t.Errorf("stopping cluster: %v", err)
		}
	})
	return c
}
