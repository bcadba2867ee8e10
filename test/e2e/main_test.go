//go:build e2e

// Package e2e holds the system tests: a cluster from source (test/cluster), the real Envoy
// Gateway controller (test/envoygateway) and the Envoy configuration it serves (test/xds).
// TestMain starts the cluster and Envoy Gateway once for the package; each test works in its
// own namespace.
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
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// env is the package's cluster and Envoy Gateway, started by TestMain.
var env struct {
	cluster *cluster.Cluster
	eg      *envoygateway.EnvoyGateway
	cfg     *rest.Config
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	ctx := context.Background()
	start := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{Progress: os.Stderr})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting cluster: %v\n", err)
		return 1
	}
	keep := false
	defer func() {
		if code != 0 {
			keep = true
		}
		if keep {
			fmt.Fprintf(os.Stderr, "tests failed: cluster directory kept at %s\n", c.Dir)
			c.KeepDir()
		}
		if env.eg != nil {
			if err := env.eg.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "stopping envoy gateway: %v\n", err)
				code = 1
			}
		}
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping cluster: %v\n", err)
			code = 1
		}
	}()
	clusterUp := time.Since(start)
	eg, err := envoygateway.Start(ctx, c, envoygateway.Options{Progress: os.Stderr})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting envoy gateway: %v\n", err)
		return 1
	}
	env.cluster, env.eg, env.cfg = c, eg, c.RESTConfig()
	// The operator's and GIE's CRDs too (Envoy Gateway's are already there), for the operator
	// scenarios that run on this cluster.
	crds, err := envtest.CRDPaths()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := cluster.ApplyFiles(ctx, env.cfg, crds...); err != nil {
		fmt.Fprintf(os.Stderr, "installing CRDs: %v\n", err)
		return 1
	}
	if err := envoygateway.CreateGatewayClass(ctx, env.cfg, envoygateway.DefaultGatewayClass); err != nil {
		fmt.Fprintf(os.Stderr, "creating GatewayClass %s: %v\n", envoygateway.DefaultGatewayClass, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: cluster up in %v, Envoy Gateway ready and class %q accepted after %v\n",
		clusterUp.Round(time.Millisecond), envoygateway.DefaultGatewayClass, time.Since(start).Round(time.Millisecond))
	return m.Run()
}
