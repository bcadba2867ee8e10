//go:build e2e

// Package e2e holds the system tests: a cluster from source (test/cluster), the real Envoy
// Gateway controller (test/envoygateway), the operator (test/operator) and the Envoy
// configuration Envoy Gateway serves (test/xds). TestMain starts the cluster, Envoy Gateway and
// the operator once for the package; each test works in its own namespace.
//
// Run with `make test-e2e` (root is needed: see test/envoygateway).
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/envoygateway"
	"github.com/inferencepool-operator/inferencepool-operator/test/operator"
	"github.com/inferencepool-operator/inferencepool-operator/test/stack"
)

// env is the package's cluster, Envoy Gateway and operator, started by TestMain.
var env struct {
	cluster *cluster.Cluster
	eg      *envoygateway.EnvoyGateway
	op      *operator.Operator
	cfg     *rest.Config
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	s, err := stack.Start(context.Background(), os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "tests failed: cluster directory kept at %s\n", s.Cluster.Dir)
		}
		if err := s.Stop(code != 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}()
	env.cluster, env.eg, env.op, env.cfg = s.Cluster, s.EG, s.Operator, s.Config
	fmt.Fprintf(os.Stderr, "e2e: cluster up in %v; Envoy Gateway ready, class %q accepted and the operator running after %v\n",
		s.ClusterUp.Round(time.Millisecond), envoygateway.DefaultGatewayClass, s.Ready.Round(time.Millisecond))
	return m.Run()
}
