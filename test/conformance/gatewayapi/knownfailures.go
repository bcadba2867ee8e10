//go:build conformance

package gatewayapi

// knownFailures are the status-only tests of the claimed features that fail against the
// operator's class, with the reason (docs/conformance-gateway-api.md). They run like the others
// and the report counts them as failed; TestConformance passes only when exactly these fail,
// so a fix that makes one pass must remove it here.
var knownFailures = map[string]string{
	"GatewayInfrastructureMetadata": "Envoy Gateway provisions the proxy (Deployment, Service, ServiceAccount) for the " +
		"generated Gateway <name>-eg and labels it gateway.networking.k8s.io/gateway-name=<name>-eg; the test looks " +
		"for resources labelled with the user Gateway's name. The infrastructure labels and annotations themselves are " +
		"propagated (the generated Gateway carries spec.infrastructure).",
	"TLSRouteListenerMixedTerminationNotSupported": "Envoy Gateway serves a Terminate and a Passthrough TLS listener on one " +
		"port (TLSRouteModeMixed, Experimental channel, which Envoy Gateway's own conformance runs claim, so that this " +
		"test does not run for them): it accepts both listeners, with TLSRoute in their supportedKinds. The class " +
		"claims Standard features only, so the suite expects both listeners Accepted=False with reason " +
		"ProtocolConflict and no supported kinds. The operator mirrors the generated Gateway's listener statuses " +
		"as Envoy Gateway writes them.",
}
