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
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/envoygateway"
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/operator"
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
		if env.op != nil {
			if err := env.op.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "stopping the operator: %v\n", err)
				code = 1
			}
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
	// The operator, with its own ServiceAccount and RBAC; its log goes next to the others.
	op, err := operator.Start(ctx, env.cfg, operator.Options{LogFile: filepath.Join(c.Dir, "operator.log")})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the operator: %v\n", err)
		return 1
	}
	env.op = op
	fmt.Fprintf(os.Stderr, "e2e: cluster up in %v; Envoy Gateway ready, class %q accepted and the operator running after %v\n",
		clusterUp.Round(time.Millisecond), envoygateway.DefaultGatewayClass, time.Since(start).Round(time.Millisecond))
	return m.Run()
}
