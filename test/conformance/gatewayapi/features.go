//go:build conformance

package gatewayapi

import (
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"
)

// routeKinds is the one table of what the operator's class claims: a row per route kind the
// operator serves, with the conformance profile the report scores it under and the feature
// sets of Gateway API it brings. Only Standard-channel features are claimed (claimedFeatures
// drops the others), minus unclaimedFeatures.
//
// A route kind is one row, its tests that send traffic listed in trafficTests (traffic.go).
// TLSRoute, TCPRoute and UDPRoute tests open connections to the Gateway themselves, past the
// clients the harness replaces, so each of those that sends has its status assertions written
// out in statusOnlyChecks (traffic_l4.go).
//
// Every route kind the operator serves has a row: in Gateway API v1.6.3 TLSRoute, TCPRoute and
// UDPRoute are in the Standard channel (v1 CRDs), and so are their features TLSRoute,
// TLSRouteModeTerminate, TCPRoute and UDPRoute. TLSRouteModeMixed (a Passthrough and a Terminate
// TLS listener on one port) is Experimental, so not claimed; its one test,
// TLSRouteMixedTerminationSameNamespace, does not run.
var routeKinds = []struct {
	profile  suite.ConformanceProfileName
	features []sets.Set[features.Feature]
}{
	{suite.GatewayHTTPConformanceProfileName, []sets.Set[features.Feature]{
		features.GatewayCoreFeatures, features.GatewayExtendedFeatures, features.ReferenceGrantCoreFeatures,
		features.HTTPRouteCoreFeatures, features.HTTPRouteExtendedFeatures,
	}},
	// GRPCRoute's extended feature (named rules) is left out: the suite's GATEWAY-GRPC profile
	// does not score it, so its test would never run.
	{suite.GatewayGRPCConformanceProfileName, []sets.Set[features.Feature]{
		features.GatewayCoreFeatures, features.GRPCRouteCoreFeatures,
	}},
	// TLSRouteExtendedFeatures: Terminate mode (Standard); Mixed mode is Experimental.
	{suite.GatewayTLSConformanceProfileName, []sets.Set[features.Feature]{
		features.GatewayCoreFeatures, features.ReferenceGrantCoreFeatures,
		features.TLSRouteCoreFeatures, features.TLSRouteExtendedFeatures,
	}},
	// Gateway API files its one TCPRoute feature as extended; the GATEWAY-TCP profile scores it
	// as core.
	{suite.GatewayTCPConformanceProfileName, []sets.Set[features.Feature]{
		features.GatewayCoreFeatures, features.ReferenceGrantCoreFeatures, features.TCPRouteExtendedFeatures,
	}},
	{suite.GatewayUDPConformanceProfileName, []sets.Set[features.Feature]{
		features.GatewayCoreFeatures, features.ReferenceGrantCoreFeatures, features.UDPRouteFeatures,
	}},
}

// unclaimedFeatures are Standard-channel features of routeKinds' sets the class does not claim,
// with the reason (docs/conformance-gateway-api.md lists them too). BackendTLSPolicy's feature
// sets, which the GATEWAY-HTTP profile scores as extended, are not in routeKinds at all (see
// the reason for GatewayBackendClientCertificate).
var unclaimedFeatures = map[features.FeatureName]string{
	features.SupportGatewayStaticAddresses: "Envoy Gateway does not claim it (its own conformance configuration " +
		"skips GatewayStaticAddresses and leaves the feature out)",
	features.SupportListenerSet: "the operator serves Gateways and the routes attached to them, not ListenerSets: " +
		"a ListenerSet attached to one of its Gateways is not translated",
	features.SupportGatewayBackendClientCertificate: "its tests need BackendTLSPolicy, which is not claimed: " +
		"Envoy Gateway writes the statuses of users' BackendTLSPolicies for the generated Gateways, and the " +
		"operator does not mirror them onto its own",
}

// conformanceProfiles are the profiles of routeKinds, in order.
func conformanceProfiles() []suite.ConformanceProfileName {
	var profiles []suite.ConformanceProfileName
	for _, kind := range routeKinds {
		profiles = append(profiles, kind.profile)
	}
	return profiles
}

// claimedFeatures are the Standard-channel features of routeKinds, minus unclaimedFeatures,
// sorted.
func claimedFeatures() []features.FeatureName {
	claimed := sets.New[features.FeatureName]()
	for _, kind := range routeKinds {
		for _, set := range kind.features {
			for f := range set {
				if f.Channel == features.FeatureChannelStandard {
					claimed.Insert(f.Name)
				}
			}
		}
	}
	return sets.List(claimed.Delete(slices.Collect(maps.Keys(unclaimedFeatures))...))
}
