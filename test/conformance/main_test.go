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
	"os"
	"testing"

	"github.com/inferencepool-operator/inferencepool-operator/test/stack"
)

// GatewayClassName is the operator's GatewayClass under test; it uses the default parameters.
const GatewayClassName = stack.ConformanceGatewayClass

func TestMain(m *testing.M) {
	os.Exit(stack.RunConformance(m, "conformance"))
}
