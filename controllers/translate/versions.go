package translate

// The releases the operator is built and tested against, in one place: the messages that say what
// to install name them, and test/versions checks them against go.mod and the tool modules and
// every version the docs state. docs/envoy-gateway.md, "Upgrading Envoy Gateway", is the recipe to
// move to another release.
const (
	// EnvoyGatewayVersion is Envoy Gateway's release: go.mod's github.com/envoyproxy/gateway, and
	// hack/tools/envoy-gateway's for the system tests' controller.
	EnvoyGatewayVersion = "v1.9.1"
	// InferenceExtensionVersion is the Gateway API Inference Extension's release whose CRDs users
	// install: go.mod's sigs.k8s.io/gateway-api-inference-extension.
	InferenceExtensionVersion = "v1.6.2"
	// GatewayAPIVersion is Gateway API's release: go.mod's sigs.k8s.io/gateway-api, whose
	// experimental-channel CRDs the tests install. Envoy Gateway v1.9.1's chart bundles v1.6.1's,
	// which differ only in descriptions and their bundle-version annotation.
	GatewayAPIVersion = "v1.6.3"
)
