//go:build conformance

// Package gatewayapi runs Gateway API's own conformance suite (sigs.k8s.io/gateway-api/conformance)
// against the operator's GatewayClass, with the real Envoy Gateway v1.9.1 controller on a
// local cluster from source (test/cluster, kwok fake pods), set up as for the GIE suite
// (stack.RunConformance).
//
// It is a module of its own: the suite's tests at v1.6.1, the version the root module pins for
// the GIE suite, do not compile against the Gateway API module v1.6.3 the operator is built with
// (v1.6.3 renamed a feature v1.6.1's GatewayInfrastructure test names), so this module runs the
// suite at v1.6.3, the version of the API module and of the CRDs the cluster installs.
//
// There is no data plane here (no Envoy, no container runtime). TestConformance runs the suite
// with the features routeKinds claims (features.go) and the tests that send traffic
// (trafficTests, traffic.go) skipped, writes the conformance report, and passes when exactly
// knownFailures fail; TestTrafficTestsStatus runs each traffic test up to its first request:
// every status assertion it makes before sending. See docs/conformance-gateway-api.md.
//
// Run with `make conformance-gateway-api` (root is needed, as for test/e2e; see test/envoygateway).
package gatewayapi

import (
	"os"
	"testing"

	"github.com/inferencepool-operator/inferencepool-operator/test/stack"
)

// suiteProcessEnv marks the test process TestConformance starts to run the suite in
// (TestConformanceSuite): it runs on the parent's cluster, found through KUBECONFIG.
const suiteProcessEnv = "GATEWAY_API_CONFORMANCE_SUITE_PROCESS"

func TestMain(m *testing.M) {
	if os.Getenv(suiteProcessEnv) == "1" {
		os.Exit(m.Run())
	}
	os.Exit(stack.RunConformance(m, "gateway-api conformance"))
}
