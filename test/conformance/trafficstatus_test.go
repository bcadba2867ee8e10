//go:build conformance

package conformance

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwk8s "sigs.k8s.io/gateway-api/conformance/utils/kubernetes"
	confsuite "sigs.k8s.io/gateway-api/conformance/utils/suite"

	gie "sigs.k8s.io/gateway-api-inference-extension/conformance"
	"sigs.k8s.io/gateway-api-inference-extension/conformance/resources"
	"sigs.k8s.io/gateway-api-inference-extension/conformance/tests"
	"sigs.k8s.io/gateway-api-inference-extension/conformance/utils/config"
	k8sutils "sigs.k8s.io/gateway-api-inference-extension/conformance/utils/kubernetes"
)

// statusCheck runs, with the suite's own helpers and in the same order, every assertion a
// traffic test of the suite makes on the control plane (route and pool conditions, the Gateway
// address, the backend pods, the EPP Service made unavailable), stopping where the test starts
// sending requests and skipping the assertions on responses.
type statusCheck func(t *testing.T, s *confsuite.ConformanceTestSuite)

func appNN(name string) types.NamespacedName {
	return types.NamespacedName{Name: name, Namespace: resources.AppBackendNamespace}
}

// routeAndPoolAccepted is the opening of most traffic tests: the route Accepted and
// ResolvedRefs on the Gateway, each pool Accepted (reason Accepted) by it, the Gateway addressed.
func routeAndPoolAccepted(t *testing.T, s *confsuite.ConformanceTestSuite, route string, gw types.NamespacedName, pools ...types.NamespacedName) {
	t.Helper()
	k8sutils.HTTPRouteMustBeAcceptedAndResolved(t, s.Client, s.TimeoutConfig, appNN(route), gw)
	for _, pool := range pools {
		k8sutils.InferencePoolMustBeAcceptedByParent(t, s.Client, pool, gw)
	}
	k8sutils.GetGatewayEndpoint(t, s.Client, s.TimeoutConfig, gw)
}

// backendPods is the tests' lookup of the model-server pods they send to: n Running pods with IPs.
func backendPods(t *testing.T, s *confsuite.ConformanceTestSuite, app string, n int) {
	t.Helper()
	pods, err := k8sutils.GetPodsWithLabel(t, s.Client, resources.AppBackendNamespace, map[string]string{"app": app}, s.TimeoutConfig)
	require.NoError(t, err, "Failed to get backend pods")
	require.Len(t, pods, n)
	for _, p := range pods {
		require.NotEmpty(t, p.Status.PodIP, "pod %s has no IP", p.Name)
	}
}

var statusChecks = map[string]statusCheck{
	"GatewayFollowingEPPRouting": func(t *testing.T, s *confsuite.ConformanceTestSuite) {
		routeAndPoolAccepted(t, s, "httproute-for-primary-gw", resources.PrimaryGatewayNN, resources.PrimaryInferencePoolNN)
		backendPods(t, s, resources.PrimaryModelServerAppLabel, resources.ModelServerPodReplicas)
	},
	"GatewayFollowingEPPRoutingWithDataParallelism": func(t *testing.T, s *confsuite.ConformanceTestSuite) {
		routeAndPoolAccepted(t, s, "httproute-for-primary-gw-dp", resources.PrimaryGatewayNN, appNN("dp-inference-pool"))
		backendPods(t, s, "dp-inference-model-server", 3)
	},
	"GatewayWeightedAcrossTwoInferencePools": func(t *testing.T, s *confsuite.ConformanceTestSuite) {
		routeAndPoolAccepted(t, s, "httproute-weighted-two-pools", resources.PrimaryGatewayNN,
			resources.PrimaryInferencePoolNN, resources.SecondaryInferencePoolNN)
		backendPods(t, s, resources.PrimaryModelServerAppLabel, 3)
		backendPods(t, s, resources.SecondaryModelServerAppLabel, 3)
	},
	"GatewayDestinationEndpointServed": func(t *testing.T, s *confsuite.ConformanceTestSuite) {
		routeAndPoolAccepted(t, s, "httproute-for-destination-endpoint-served", resources.PrimaryGatewayNN, resources.PrimaryInferencePoolNN)
		backendPods(t, s, resources.PrimaryModelServerAppLabel, resources.ModelServerPodReplicas)
	},
	"HTTPRouteMultipleRulesDifferentPools": func(t *testing.T, s *confsuite.ConformanceTestSuite) {
		route := appNN("httproute-multiple-rules-different-pools")
		k8sutils.HTTPRouteAndInferencePoolMustBeAcceptedAndRouteAccepted(t, s.Client, route, resources.PrimaryGatewayNN, resources.PrimaryInferencePoolNN)
		k8sutils.HTTPRouteAndInferencePoolMustBeAcceptedAndRouteAccepted(t, s.Client, route, resources.PrimaryGatewayNN, resources.SecondaryInferencePoolNN)
		k8sutils.GetGatewayEndpoint(t, s.Client, s.TimeoutConfig, resources.PrimaryGatewayNN)
	},
	"HTTPRouteMultipleGatewaysDifferentPools": func(t *testing.T, s *confsuite.ConformanceTestSuite) {
		k8sutils.HTTPRouteAndInferencePoolMustBeAcceptedAndRouteAccepted(t, s.Client, appNN("route-for-primary-gateway"),
			resources.PrimaryGatewayNN, resources.PrimaryInferencePoolNN)
		k8sutils.GetGatewayEndpoint(t, s.Client, s.TimeoutConfig, resources.PrimaryGatewayNN)
		k8sutils.HTTPRouteAndInferencePoolMustBeAcceptedAndRouteAccepted(t, s.Client, appNN("route-for-secondary-gateway"),
			resources.SecondaryGatewayNN, resources.SecondaryInferencePoolNN)
		k8sutils.GetGatewayEndpoint(t, s.Client, s.TimeoutConfig, resources.SecondaryGatewayNN)
	},
	"InferencePoolHTTPRoutePortValidation": func(t *testing.T, s *confsuite.ConformanceTestSuite) {
		k8sutils.GetGatewayEndpoint(t, s.Client, s.TimeoutConfig, resources.PrimaryGatewayNN)
		for _, route := range []string{"httproute-pool-port-unspecified", "httproute-pool-port-matching", "httproute-pool-port-non-matching"} {
			k8sutils.HTTPRouteMustBeAcceptedAndResolved(t, s.Client, s.TimeoutConfig, appNN(route), resources.PrimaryGatewayNN)
			k8sutils.InferencePoolMustBeAcceptedByParent(t, s.Client, resources.PrimaryInferencePoolNN, resources.PrimaryGatewayNN)
		}
	},
	"InferencePoolAppProtocol": func(t *testing.T, s *confsuite.ConformanceTestSuite) {
		k8sutils.GetGatewayEndpoint(t, s.Client, s.TimeoutConfig, resources.PrimaryGatewayNN)
		for _, tc := range []struct {
			route string
			pool  types.NamespacedName
			app   string
		}{
			{"httproute-for-inferencepool-appprotocol-h2c", resources.AppProtocolH2CInferencePoolNN, resources.AppProtocolModelServerAppLabel},
			{"httproute-for-inferencepool-appprotocol-http", resources.AppProtocolHTTPInferencePoolNN, resources.AppProtocolModelServerAppLabel},
			{"httproute-for-inferencepool-appprotocol-default", resources.PrimaryInferencePoolNN, resources.PrimaryModelServerAppLabel},
		} {
			k8sutils.HTTPRouteMustBeAcceptedAndResolved(t, s.Client, s.TimeoutConfig, appNN(tc.route), resources.PrimaryGatewayNN)
			k8sutils.InferencePoolMustBeAcceptedByParent(t, s.Client, tc.pool, resources.PrimaryGatewayNN)
			backendPods(t, s, tc.app, 3)
		}
	},
	"InferencePoolInvalidEPPService": func(t *testing.T, s *confsuite.ConformanceTestSuite) {
		pool, route := appNN("pool-with-invalid-epp"), appNN("httproute-for-invalid-epp-pool")
		k8sutils.GetGatewayEndpoint(t, s.Client, s.TimeoutConfig, resources.PrimaryGatewayNN)
		gwk8s.HTTPRouteMustHaveCondition(t, s.Client, s.TimeoutConfig, route, resources.PrimaryGatewayNN, metav1.Condition{
			Type: string(gatewayv1.RouteConditionAccepted), Status: metav1.ConditionTrue, Reason: string(gatewayv1.RouteReasonAccepted),
		})
		k8sutils.InferencePoolMustHaveCondition(t, s.Client, pool, resources.PrimaryGatewayNN, metav1.Condition{
			Type: "ResolvedRefs", Status: metav1.ConditionFalse,
		})
	},
	"InferencePoolResolvedRefsCondition": func(t *testing.T, s *confsuite.ConformanceTestSuite) {
		primaryRoute, secondaryRoute := appNN("httproute-for-primary-gw"), appNN("httproute-for-secondary-gw")
		pool := resources.PrimaryInferencePoolNN
		wait := config.DefaultInferenceExtensionTimeoutConfig().HTTPRouteDeletionReconciliationTimeout
		k8sutils.HTTPRouteMustBeAcceptedAndResolved(t, s.Client, s.TimeoutConfig, primaryRoute, resources.PrimaryGatewayNN)
		k8sutils.HTTPRouteMustBeAcceptedAndResolved(t, s.Client, s.TimeoutConfig, secondaryRoute, resources.SecondaryGatewayNN)
		k8sutils.GetGatewayEndpoint(t, s.Client, s.TimeoutConfig, resources.PrimaryGatewayNN)
		k8sutils.GetGatewayEndpoint(t, s.Client, s.TimeoutConfig, resources.SecondaryGatewayNN)
		k8sutils.InferencePoolMustBeAcceptedByParent(t, s.Client, pool, resources.PrimaryGatewayNN)
		k8sutils.InferencePoolMustBeAcceptedByParent(t, s.Client, pool, resources.SecondaryGatewayNN)

		require.NoError(t, s.Client.Delete(context.Background(), &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: primaryRoute.Name, Namespace: primaryRoute.Namespace}}))
		time.Sleep(wait)
		k8sutils.InferencePoolMustBeAcceptedByParent(t, s.Client, pool, resources.SecondaryGatewayNN)

		require.NoError(t, s.Client.Delete(context.Background(), &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: secondaryRoute.Name, Namespace: secondaryRoute.Namespace}}))
		time.Sleep(wait)
		k8sutils.InferencePoolMustHaveNoParents(t, s.Client, pool)
	},
	"EppUnAvailableFailOpen": func(t *testing.T, s *confsuite.ConformanceTestSuite) {
		routeAndPoolAccepted(t, s, "httproute-for-failopen-pool-gw", resources.SecondaryGatewayNN, resources.SecondaryInferencePoolNN)
		backendPods(t, s, resources.SecondaryModelServerAppLabel, resources.ModelServerPodReplicas)
		// Phase 2 of the test takes an EPP Service's endpoints away (the suite's helper waits until
		// its EndpointSlices are empty) and restores them at cleanup (waiting for them back).
		restore, err := k8sutils.MakeServiceUnavailable(t, s.Client, resources.PrimaryEppServiceNN,
			config.DefaultInferenceExtensionTimeoutConfig().ServiceUpdateTimeout)
		require.NoError(t, err)
		t.Cleanup(restore)
	},
}

// TestTrafficTestsStatus sets the suite up as it does for a run (base manifests; GatewayClass
// accepted, every pod Ready and both Gateways programmed and addressed), then, for each of the
// eleven tests that send traffic, applies the test's manifests from the suite's embedded files
// and runs its statusCheck, removing the manifests afterwards as the suite does.
func TestTrafficTestsStatus(t *testing.T) {
	traffic := trafficTests(t)
	require.Equal(t, slices.Sorted(slices.Values(traffic)), slices.Sorted(maps.Keys(statusChecks)),
		"one status check per traffic test of the suite")

	opts := options(t)
	// No conformance profile: the suite's profile can be registered only once per process, and
	// TestConformance's run registers it. The profile only shapes the report; setup and the
	// supported features (the profile's core features, set by the defaults) stay the same.
	opts.ConformanceProfiles = nil
	s, err := confsuite.NewConformanceTestSuite(opts)
	require.NoError(t, err)
	gie.SetupConformanceTestSuite(context.Background(), t, s, opts, tests.ConformanceTests)

	for _, test := range tests.ConformanceTests {
		check, ok := statusChecks[test.ShortName]
		if !ok {
			continue // a status-only test: TestConformance runs it
		}
		t.Run(test.ShortName, func(t *testing.T) {
			for _, manifest := range test.Manifests {
				s.Applier.MustApplyWithCleanup(t, s.Client, s.TimeoutConfig, manifest, true)
			}
			check(t, s)
		})
	}
}
