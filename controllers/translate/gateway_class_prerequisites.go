package translate

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
)

// What the operator needs from the cluster besides its own CRD, and how a GatewayClass of ours
// says that something is missing: Accepted=False with one of these reasons and a message that
// says what to install or change. The operator keeps running meanwhile, and serves the class as
// soon as the prerequisite appears.

// MissingAPI names a set of CRDs the operator needs and the API server does not serve. Its value
// is the reason the GatewayClass reports.
type MissingAPI string

const (
	MissingEnvoyGateway     MissingAPI = "EnvoyGatewayNotInstalled"
	MissingInferencePool    MissingAPI = "InferencePoolNotInstalled"
	MissingBackendTLSPolicy MissingAPI = "BackendTLSPolicyNotInstalled"
)

// Reasons of a GatewayClass of ours whose Envoy Gateway class or configuration cannot serve it.
const (
	ReasonEnvoyGatewayClassNotFound    = "EnvoyGatewayClassNotFound"
	ReasonEnvoyGatewayClassNotAccepted = "EnvoyGatewayClassNotAccepted"
	ReasonEnvoyGatewayBackendDisabled  = "EnvoyGatewayBackendDisabled"
)

// missingAPIMessages say what to install for each MissingAPI.
var missingAPIMessages = map[MissingAPI]string{
	MissingEnvoyGateway: "Envoy Gateway's CRDs (gateway.envoyproxy.io/v1alpha1) are not installed: install Envoy Gateway " + EnvoyGatewayVersion + " with its Backend API on " +
		"(helm install eg oci://docker.io/envoyproxy/gateway-helm --version " + EnvoyGatewayVersion + " -n envoy-gateway-system --create-namespace " +
		"--set config.envoyGateway.extensionApis.enableBackend=true)",
	MissingInferencePool: "the InferencePool CRD (inference.networking.k8s.io/v1) is not installed: install the Gateway API Inference Extension " + minorOf(InferenceExtensionVersion) + " CRDs " +
		"(kubectl apply -f https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/download/" + InferenceExtensionVersion + "/v1-manifests.yaml)",
	MissingBackendTLSPolicy: "endpoint picker TLS mode Verify needs the BackendTLSPolicy CRD (gateway.networking.k8s.io/v1), which is not installed: " +
		"install the Gateway API " + minorOf(GatewayAPIVersion) + " CRDs Envoy Gateway's chart bundles, or use TLS mode InsecureSkipVerify",
}

// minorOf is "v1.6" for "v1.6.2".
func minorOf(version string) string {
	if i := strings.LastIndexByte(version, '.'); i > 0 {
		return version[:i]
	}
	return version
}

// MissingAPIMessage says what to install for m.
func MissingAPIMessage(m MissingAPI) string { return missingAPIMessages[m] }

// missing tells whether the snapshot's cluster lacks m.
func (s *Snapshot) missing(m MissingAPI) bool {
	for _, x := range s.MissingAPIs {
		if x == m {
			return true
		}
	}
	return false
}

// ClassProblem says why our class, whose parameters resolve to settings, cannot be served as it
// should (reason and message), or returns empty strings.
func (s *Snapshot) ClassProblem(class *gwapiv1.GatewayClass, settings Settings) (reason, message string) {
	if s.missing(MissingEnvoyGateway) {
		return string(MissingEnvoyGateway), missingAPIMessages[MissingEnvoyGateway]
	}
	if s.missing(MissingInferencePool) {
		return string(MissingInferencePool), missingAPIMessages[MissingInferencePool]
	}
	from := "the operator's --envoy-gateway-class flag"
	if ref := class.Spec.ParametersRef; ref != nil {
		if p, _ := s.ClassParameters(class); p != nil && p.Spec.EnvoyGatewayClassName != "" {
			from = fmt.Sprintf("envoyGatewayClassName of %s %q", v1alpha1.Kind, ref.Name)
		}
	}
	eg := s.gatewayClass(settings.EnvoyGatewayClassName)
	if eg == nil {
		return ReasonEnvoyGatewayClassNotFound, fmt.Sprintf("the Envoy Gateway GatewayClass %q (%s) does not exist: create it with controllerName %s, or name an existing Envoy Gateway class",
			settings.EnvoyGatewayClassName, from, EnvoyGatewayControllerName)
	}
	if c := findCondition(eg.Status.Conditions, string(gwapiv1.GatewayClassConditionStatusAccepted)); c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration < eg.Generation {
		verdict := "it has no verdict yet: is Envoy Gateway running, with this class's controllerName?"
		if c != nil && c.Status == metav1.ConditionFalse {
			verdict = fmt.Sprintf("%s: %s", c.Reason, c.Message)
		}
		return ReasonEnvoyGatewayClassNotAccepted, fmt.Sprintf("Envoy Gateway has not accepted its GatewayClass %q (%s, controllerName %s): %s",
			eg.Name, from, eg.Spec.ControllerName, verdict)
	}
	if settings.TLSMode == v1alpha1.TLSModeVerify && s.missing(MissingBackendTLSPolicy) {
		return string(MissingBackendTLSPolicy), missingAPIMessages[MissingBackendTLSPolicy]
	}
	if evidence, ok := s.BackendAPIDisabled[settings.EnvoyGatewayClassName]; ok && settings.TLSMode == v1alpha1.TLSModeInsecureSkipVerify {
		return ReasonEnvoyGatewayBackendDisabled, fmt.Sprintf("the Envoy Gateway serving class %q runs with its Backend API off, which endpoint picker TLS mode InsecureSkipVerify uses (%s): set extensionApis.enableBackend: true in Envoy Gateway's configuration, or use TLS mode Verify or Disabled",
			settings.EnvoyGatewayClassName, evidence)
	}
	return "", ""
}

// gatewayClass returns the GatewayClass named name, or nil.
func (s *Snapshot) gatewayClass(name string) *gwapiv1.GatewayClass {
	for i := range s.GatewayClasses {
		if s.GatewayClasses[i].Name == name {
			return &s.GatewayClasses[i]
		}
	}
	return nil
}

// MissingAPIsText lists what is missing, for readiness checks and logs.
func MissingAPIsText(missing []MissingAPI) string {
	parts := make([]string, 0, len(missing))
	for _, m := range missing {
		parts = append(parts, missingAPIMessages[m])
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}
