//go:build conformance

package gatewayapi

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/gateway-api/conformance/utils/kubernetes"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
)

// trafficTests are the suite's tests (of the features routeKinds claims) that send requests
// through a Gateway, read from the suite's source: they need a data plane, which this cluster
// has not (kwok pods run no Envoy and no backend). The suite's run (TestConformanceSuite) skips
// them, so the report counts them as skipped; TestTrafficTestsStatus runs each up to its first
// request, which is every status assertion it makes before sending.
//
// The list is checked both ways: a test not listed here that sends a request fails in the
// suite's run (and so TestConformance), and a listed test that passes without sending one
// fails TestTrafficTestsStatus.
var trafficTests = sets.New(
	"GatewayFrontendClientCertificateValidation",
	"GatewayFrontendClientCertificateValidationInsecureFallback",
	"GatewayFrontendInvalidDefaultClientCertificateValidation",
	"GatewayHTTPListenerIsolation",
	"GRPCExactMethodMatching",
	"GRPCRouteHeaderMatching",
	"GRPCRouteListenerHostnameMatching",
	"GRPCRouteWeight",
	"HTTPRoute303Redirect",
	"HTTPRoute307Redirect",
	"HTTPRoute308Redirect",
	"HTTPRouteBackendProtocolH2C",
	"HTTPRouteBackendProtocolWebSocket",
	"HTTPRouteBackendRequestHeaderModifier",
	"HTTPRouteCORS",
	"HTTPRouteCrossNamespace",
	"HTTPRouteExactPathMatching",
	"HTTPRouteHTTPSListener",
	"HTTPRouteHTTPSListenerDetectMisdirectedRequests",
	"HTTPRouteHeaderMatching",
	"HTTPRouteHostnameIntersection",
	"HTTPRouteInvalidBackendRefUnknownKind",
	"HTTPRouteInvalidCrossNamespaceBackendRef",
	"HTTPRouteInvalidNonExistentBackendRef",
	"HTTPRouteInvalidReferenceGrant",
	"HTTPRouteListenerHostnameMatching",
	"HTTPRouteListenerPortMatching",
	"HTTPRouteMatching",
	"HTTPRouteMatchingAcrossRoutes",
	"HTTPRouteMethodMatching",
	"HTTPRouteMultipleGateways",
	"HTTPRouteNamedRule",
	"HTTPRouteNoBackendRefs",
	"HTTPRoutePartiallyInvalidViaInvalidReferenceGrant",
	"HTTPRoutePathMatchOrder",
	"HTTPRouteQueryParamMatching",
	"HTTPRouteRedirectHostAndStatus",
	"HTTPRouteRedirectPath",
	"HTTPRouteRedirectPort",
	"HTTPRouteRedirectPortAndScheme",
	"HTTPRouteRedirectScheme",
	"HTTPRouteReferenceGrant",
	"HTTPRouteRequestHeaderModifier",
	"HTTPRouteRequestHeaderModifierBackendWeights",
	"HTTPRouteRequestMirror",
	"HTTPRouteRequestMultipleMirrors",
	"HTTPRouteRequestPercentageMirror",
	"HTTPRouteResponseHeaderModifier",
	"HTTPRouteRewriteHost",
	"HTTPRouteRewritePath",
	"HTTPRouteServiceTypes",
	"HTTPRouteSimpleSameNamespace",
	"HTTPRouteTimeoutBackendRequest",
	"HTTPRouteTimeoutRequest",
	"HTTPRouteWeight",
	"TCPRouteMultipleRoutesAttachment",
	"TCPRouteParentRefAttachAll",
	"TCPRouteParentRefPortAndSectionName",
	"TCPRouteReferenceGrant",
	"TCPRouteWeightedRouting",
	"TLSRouteHostnameIntersection",
	"TLSRouteInvalidBackendRefNonexistent",
	"TLSRouteInvalidBackendRefUnknownKind",
	"TLSRouteSimpleSameNamespace",
	"TLSRouteTerminateSimpleSameNamespace",
	"UDPRoute",
	"UDPRouteMultipleRoutesAttachment",
	"UDPRouteParentRefAttachAllListeners",
	"UDPRouteParentRefPortAndSectionName",
	"UDPRouteReferenceGrant",
	"UDPRouteWeightedRouting",
)

// statusOnlyCheck stands in for a traffic test's body: it runs the test's steps with the suite's
// helpers, and calls send with the (sub)test where the test would send. send records that the
// test sent and skips that (sub)test, as the replaced clients do for a request: a send in a
// subtest ends the subtest, and the test goes on with its next step, as it would when the
// subtest fails.
type statusOnlyCheck func(t *testing.T, s *suite.ConformanceTestSuite, send func(t *testing.T))

// statusOnlyChecks replace, in TestTrafficTestsStatus, the body of traffic tests that cannot be
// stopped at their first request. Besides these, every TLSRoute, TCPRoute and UDPRoute test that
// sends is one (traffic_l4.go): they dial the Gateway themselves.
var statusOnlyChecks = withL4Checks(map[string]statusOnlyCheck{
	// Its WebSocket dial (suite.WebSocketDialer) carries no *testing.T to end.
	"HTTPRouteBackendProtocolWebSocket": routeAccepted("backend-protocol-ws"),
	// Before each request, a goroutine starts reading the mirror backend's log for the mirrored
	// request, and fails the test when none shows up: kwok pods log nothing.
	"HTTPRouteRequestMirror":          routeAccepted("request-mirror"),
	"HTTPRouteRequestMultipleMirrors": routeAccepted("request-multiple-mirrors"),
})

// routeAccepted is the opening of most HTTPRoute tests: the Gateway same-namespace and the
// route accepted, the route's parents as expected, the Gateway addressed; then the test sends.
func routeAccepted(route string) statusOnlyCheck {
	return func(t *testing.T, s *suite.ConformanceTestSuite, send func(t *testing.T)) {
		gwNN := types.NamespacedName{Name: "same-namespace", Namespace: suite.InfrastructureNamespace}
		routeNN := types.NamespacedName{Name: route, Namespace: suite.InfrastructureNamespace}
		kubernetes.GatewayAndHTTPRoutesMustBeAccepted(t, s.Client, s.TimeoutConfig, s.ControllerName, kubernetes.NewGatewayRef(gwNN), routeNN)
		send(t)
	}
}
