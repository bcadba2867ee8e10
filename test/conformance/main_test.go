//go:build conformance

// Package conformance runs the Gateway API Inference Extension (GIE) v1.6.0 conformance suite (the
// newest on the module proxy; it reports the GIE version of the installed CRDs, v1.6.2)
// against the operator and the real Envoy Gateway v1.9.1 controller on a local cluster from
// source (test/cluster, kwok fake pods), with the operator's GatewayClass under test.
//
// There is no data plane here (no Envoy, no container runtime), so the suite's tests that send
// traffic cannot pass. TestConformance runs the suite itself with its three status-only tests
// and writes the conformance report; TestTrafficTestsStatus applies each of the other eleven
// tests' manifests, from the suite's embedded files, and asserts the status conditions those
// tests assert before they send traffic, with the suite's own helpers. See docs/conformance.md.
//
// Run with `make conformance` (root is needed, as for test/e2e; see test/envoygateway).
package conformance

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/stack"
)

// GatewayClassName is the operator's GatewayClass under test; it uses the default parameters.
const GatewayClassName = "inferencepool-operator"

const gatewayClassYAML = `
apiVersion: inferencepool-operator.io/v1alpha1
kind: InferenceGatewayParameters
metadata:
  name: conformance
spec: {}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: ` + GatewayClassName + `
spec:
  controllerName: inferencepool-operator.io/gateway-controller
  parametersRef:
    group: inferencepool-operator.io
    kind: InferenceGatewayParameters
    name: conformance
`

// env is the cluster, Envoy Gateway and operator TestMain starts for the package.
var env struct {
	cluster *cluster.Cluster
	cfg     *rest.Config
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	ctx := context.Background()
	s, err := stack.Start(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "conformance failed: cluster directory (logs of every component, operator.log) kept at %s\n", s.Cluster.Dir)
		}
		if err := s.Stop(code != 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}()
	objs, err := cluster.DecodeYAML([]byte(gatewayClassYAML))
	if err == nil {
		err = cluster.Apply(ctx, s.Config, objs...)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "creating GatewayClass %s: %v\n", GatewayClassName, err)
		return 1
	}
	// The suite reads its cluster from the kubeconfig, as it does on a real cluster.
	if err := os.Setenv("KUBECONFIG", s.Cluster.Kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env.cluster, env.cfg = s.Cluster, s.Config
	fmt.Fprintf(os.Stderr, "conformance: cluster, Envoy Gateway and the operator ready after %v\n", s.Ready.Round(time.Millisecond))
	return m.Run()
}
