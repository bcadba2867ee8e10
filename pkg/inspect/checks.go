package inspect

// Severity says whether a finding breaks traffic (error) or may (warning).
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Check is one thing analyze looks for. Every code is documented in docs/troubleshooting.md
// ("kubectl inferencepool analyze"), which a test holds against this list.
type Check struct {
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	Severity Severity `json:"severity"`
	// Fix says what to do, in one line.
	Fix string `json:"fix"`
}

// The checks, by code. Codes are stable: a check that goes away keeps its code unused.
var (
	PoolSelectsNoPod = Check{"IPO101", "PoolSelectsNoPod", Error,
		"fix the pool's spec.selector.matchLabels, or deploy the model servers with those labels in the pool's namespace"}
	PoolNoReadyPod = Check{"IPO102", "PoolNoReadyPod", Error,
		"look at the model servers' pods (kubectl describe pod): they are not Ready"}
	PodsLackTargetPort = Check{"IPO103", "PodsLackTargetPort", Warning,
		"make spec.targetPorts the port the model server listens on, or declare it in the container's ports"}
	EPPServiceMissing = Check{"IPO111", "EPPServiceMissing", Error,
		"create the endpoint picker's Service, or fix spec.endpointPickerRef.name"}
	EPPNoReadyEndpoint = Check{"IPO112", "EPPNoReadyEndpoint", Error,
		"look at the endpoint picker's pods and the Service's selector: no endpoint is ready"}
	EPPPortNotOnService = Check{"IPO113", "EPPPortNotOnService", Error,
		"make spec.endpointPickerRef.port a port of the endpoint picker's Service (9002 for GIE's)"}
	PoolOnEnvoyGatewayGateway = Check{"IPO121", "PoolOnEnvoyGatewayGateway", Error,
		"attach the route to a Gateway of an inferencepool-operator class: Envoy Gateway's own classes answer 500 for InferencePool backends"}
	PoolReferenceNotPermitted = Check{"IPO122", "PoolReferenceNotPermitted", Error,
		"create a ReferenceGrant in the pool's namespace from HTTPRoutes of the route's namespace to InferencePools"}
	SeveralPoolsInRule = Check{"IPO123", "SeveralPoolsInRule", Warning,
		"give each pool its own rule (or route): only the first pool's endpoint picker runs on a rule"}
	ShortPoolRuleTimeout = Check{"IPO124", "ShortPoolRuleTimeout", Warning,
		"raise the rule's timeouts (or remove them: the class's routeTimeouts apply): generations often take minutes"}
	PoolOnOtherRouteKind = Check{"IPO125", "PoolOnOtherRouteKind", Error,
		"route to the pool with an HTTPRoute or a GRPCRoute: a TLSRoute, TCPRoute or UDPRoute rule cannot reach an InferencePool"}
	GRPCRouteToHTTPPool = Check{"IPO126", "GRPCRouteToHTTPPool", Error,
		"set the pool's spec.appProtocol to kubernetes.io/h2c if its model servers speak gRPC, or route to it with an HTTPRoute"}
	ClassNotAccepted = Check{"IPO131", "ClassNotAccepted", Error,
		"fix what the GatewayClass's Accepted condition names (its parametersRef, the parameters, a missing CRD)"}
	EnvoyGatewayClassNotAccepted = Check{"IPO132", "EnvoyGatewayClassNotAccepted", Error,
		"install Envoy Gateway and its GatewayClass, or fix the parameters' envoyGatewayClassName"}
	EnvoyGatewayBackendAPIDisabled = Check{"IPO133", "EnvoyGatewayBackendAPIDisabled", Error,
		"enable Envoy Gateway's Backend API (extensionApis.enableBackend: true), or use endpoint picker TLS mode Verify or Disabled"}
	UserPolicyNotApplied = Check{"IPO141", "UserPolicyNotApplied", Warning,
		"read the policy's status: another policy holds its target (Conflicted), or a setting is refused on inference routes"}
	UserPolicyOnGeneratedObject = Check{"IPO142", "UserPolicyOnGeneratedObject", Warning,
		"target your own Gateway or HTTPRoute, not the generated -eg copy: the operator carries policies on yours over to its objects; one on its objects can conflict with its own policies"}
	GeneratedObjectRejected = Check{"IPO151", "GeneratedObjectRejected", Error,
		"read Envoy Gateway's message: usually a setting carried from one of your policies; fix that policy"}
	GeneratedObjectMissing = Check{"IPO152", "GeneratedObjectMissing", Error,
		"check that the operator runs (kubectl -n inferencepool-operator-system logs deploy/inferencepool-operator-controller-manager) and the events of the source object"}
)

// Checks lists every check, in code order.
var Checks = []Check{
	PoolSelectsNoPod, PoolNoReadyPod, PodsLackTargetPort,
	EPPServiceMissing, EPPNoReadyEndpoint, EPPPortNotOnService,
	PoolOnEnvoyGatewayGateway, PoolReferenceNotPermitted, SeveralPoolsInRule, ShortPoolRuleTimeout, PoolOnOtherRouteKind, GRPCRouteToHTTPPool,
	ClassNotAccepted, EnvoyGatewayClassNotAccepted, EnvoyGatewayBackendAPIDisabled,
	UserPolicyNotApplied, UserPolicyOnGeneratedObject,
	GeneratedObjectRejected, GeneratedObjectMissing,
}

// Finding is one problem analyze found.
type Finding struct {
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	Severity Severity `json:"severity"`
	Object   Ref      `json:"object"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix"`
}

func (ch Check) on(obj Ref, message string) Finding {
	return Finding{Code: ch.Code, Name: ch.Name, Severity: ch.Severity, Object: obj, Message: message, Fix: ch.Fix}
}
