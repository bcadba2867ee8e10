package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Kind is the kind of InferenceGatewayParameters, as a GatewayClass parametersRef names it.
const Kind = "InferenceGatewayParameters"

// Defaults applied when a field is unset (the CRD's defaults say the same; these serve
// GatewayClasses without parameters and objects written before a default existed).
const (
	DefaultMessageTimeout = Duration("10s")
	DefaultTLSMode        = TLSModeInsecureSkipVerify
	DefaultFallbackType   = FallbackLeastRequest
	// DefaultRequestTimeout switches Envoy's 15 s route timeout off: an LLM response can take
	// minutes. DefaultStreamIdleTimeout still bounds a stream on which nothing moves.
	DefaultRequestTimeout    = Duration("0s")
	DefaultStreamIdleTimeout = Duration("1h")
	// DefaultNumRetries retries a request that never reached a model server on the endpoint
	// picker's second and third choices.
	DefaultNumRetries = int32(2)
	// DefaultRequestBufferLimit is how much of a request Envoy keeps to retry it: prompts of a
	// few hundred thousand tokens fit.
	DefaultRequestBufferLimit = "4Mi"
	// DefaultHealthCheckService is the gRPC health service GIE's endpoint pickers register on
	// their ext_proc port: the ext_proc service's own name.
	DefaultHealthCheckService = "envoy.service.ext_proc.v3.ExternalProcessor"
	// The EPP health check's defaults: a replica that stops serving gets no new stream within
	// about interval × unhealthyThreshold (4 s); one that serves again gets them at its first
	// good answer.
	DefaultHealthCheckInterval           = Duration("2s")
	DefaultHealthCheckTimeout            = Duration("1s")
	DefaultHealthCheckUnhealthyThreshold = int32(2)
	DefaultHealthCheckHealthyThreshold   = int32(1)
)

// Duration is a Gateway API duration string, e.g. "10s", "500ms" or "1m30s".
//
// +kubebuilder:validation:Pattern=`^([0-9]{1,5}(h|m|s|ms)){1,4}$`
type Duration string

// TLSMode says how Envoy connects to a pool's endpoint picker.
//
// +kubebuilder:validation:Enum=InsecureSkipVerify;Verify;Disabled
type TLSMode string

const (
	// TLSModeInsecureSkipVerify uses TLS without verifying the EPP's certificate. It matches the
	// self-signed certificate without SANs that GIE's endpoint pickers serve by default.
	TLSModeInsecureSkipVerify TLSMode = "InsecureSkipVerify"
	// TLSModeVerify uses TLS and verifies the EPP's certificate against caCertificateRefs and hostname.
	TLSModeVerify TLSMode = "Verify"
	// TLSModeDisabled speaks plaintext HTTP/2 (h2c) to the EPP.
	TLSModeDisabled TLSMode = "Disabled"
)

// FallbackType is the load-balancing policy used when the EPP names no usable endpoint
// (header absent, or it names a host outside the pool).
//
// +kubebuilder:validation:Enum=LeastRequest;RoundRobin;Random
type FallbackType string

const (
	FallbackLeastRequest FallbackType = "LeastRequest"
	FallbackRoundRobin   FallbackType = "RoundRobin"
	FallbackRandom       FallbackType = "Random"
)

// InferenceGatewayParametersSpec configures the Envoy Gateway objects generated for the
// Gateways of a GatewayClass. Every field is optional; the defaults give a working setup with
// Envoy Gateway's class "eg" (or the operator's --envoy-gateway-class) and GIE's default EPP.
type InferenceGatewayParametersSpec struct {
	// EnvoyGatewayClassName is the Envoy Gateway GatewayClass the generated Gateways use.
	// When unset, the operator's --envoy-gateway-class flag applies (default "eg").
	//
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	EnvoyGatewayClassName string `json:"envoyGatewayClassName,omitempty"`

	// EndpointPicker configures the connection from Envoy to each pool's endpoint picker.
	//
	// +optional
	EndpointPicker *EndpointPickerSettings `json:"endpointPicker,omitempty"`

	// LoadBalancer configures how Envoy picks an endpoint when the EPP does not.
	//
	// +optional
	LoadBalancer *LoadBalancerSettings `json:"loadBalancer,omitempty"`

	// RouteTimeouts are the timeouts of the generated route rules that send traffic to an
	// InferencePool, where the user's HTTPRoute rule sets no timeouts of its own.
	//
	// +optional
	RouteTimeouts *RouteTimeouts `json:"routeTimeouts,omitempty"`

	// Retry configures the retries of requests on rules that use an InferencePool. The endpoint
	// picker names an ordered list of endpoints; Envoy sends a request to the first and each
	// retry to the next one.
	//
	// +optional
	Retry *RetrySettings `json:"retry,omitempty"`

	// StripClientDestinationHeader removes x-gateway-destination-endpoint from client requests
	// before the EPP runs, so a client cannot pick a pod itself. Default true.
	//
	// +optional
	// +kubebuilder:default=true
	StripClientDestinationHeader *bool `json:"stripClientDestinationHeader,omitempty"`
}

// EndpointPickerSettings configures the ext_proc connection to endpoint pickers.
type EndpointPickerSettings struct {
	// MessageTimeout bounds how long Envoy waits for each EPP reply before failing the request.
	// Default 10s. Envoy Gateway would otherwise leave Envoy's 200ms default, too short for an EPP
	// that reads a whole prompt.
	//
	// +optional
	// +kubebuilder:default="10s"
	MessageTimeout *Duration `json:"messageTimeout,omitempty"`

	// TLS configures transport security to the EPP.
	//
	// +optional
	TLS *EndpointPickerTLS `json:"tls,omitempty"`

	// HealthCheck configures how Envoy checks the EPP's replicas, so that streams go only to
	// replicas that serve (an EPP on standby answers NOT_SERVING).
	//
	// +optional
	HealthCheck *EndpointPickerHealthCheck `json:"healthCheck,omitempty"`
}

// EndpointPickerHealthCheck configures the active gRPC health check of each pool's EPP replicas,
// and the passive one (outlier detection) that goes with it.
type EndpointPickerHealthCheck struct {
	// Enabled turns both checks on (default) or off.
	//
	// +optional
	// +kubebuilder:default=true
	Enabled *bool `json:"enabled,omitempty"`

	// ServiceName is the gRPC health service asked for. Default
	// "envoy.service.ext_proc.v3.ExternalProcessor", which GIE's endpoint pickers register.
	//
	// +optional
	// +kubebuilder:default="envoy.service.ext_proc.v3.ExternalProcessor"
	// +kubebuilder:validation:MaxLength=253
	ServiceName *string `json:"serviceName,omitempty"`

	// Port is the port asked, when the EPP serves its health elsewhere than on its ext_proc
	// port (GIE's EPPs have a separate health port, 9003 by default). Default: the ext_proc port.
	//
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port *int32 `json:"port,omitempty"`

	// Interval between two checks of a replica. Default 2s.
	//
	// +optional
	// +kubebuilder:default="2s"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('100ms')",message="interval must be at least 100ms"
	Interval *Duration `json:"interval,omitempty"`

	// Timeout of one check. Default 1s.
	//
	// +optional
	// +kubebuilder:default="1s"
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="timeout must be longer than 0s"
	Timeout *Duration `json:"timeout,omitempty"`

	// UnhealthyThreshold is how many failed checks in a row take a replica out. Default 2.
	//
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	UnhealthyThreshold *int32 `json:"unhealthyThreshold,omitempty"`

	// HealthyThreshold is how many good checks in a row bring a replica back. Default 1.
	//
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	HealthyThreshold *int32 `json:"healthyThreshold,omitempty"`

	// PanicThreshold is the share of replicas, in percent, below which Envoy stops trusting the
	// checks and uses every replica (Envoy's healthy panic threshold). Default: Envoy's 50, so
	// that an EPP serving no health service is still called. 0 never sends a stream to a
	// replica that fails its checks, however few pass (with three replicas or more, one active).
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	PanicThreshold *int32 `json:"panicThreshold,omitempty"`
}

// RetrySettings configures the retries of requests on rules that use an InferencePool. Only
// failures where the request never reached a model server are retried (connection failure,
// refused stream, reset before the request was sent): a generation is not idempotent. A
// user's retry settings on the rule (the HTTPRoute rule's retry, or a BackendTrafficPolicy's)
// replace these.
type RetrySettings struct {
	// NumRetries is how many retries a request gets, each on the endpoint picker's next
	// choice. Default 2; 0 turns retries off.
	//
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=5
	NumRetries *int32 `json:"numRetries,omitempty"`

	// RequestBufferLimit is how much of a request Envoy keeps in memory so that it can send it
	// again, per connection of the Gateway's listeners (a ClientTrafficPolicy's
	// connection.bufferLimit). A request larger than this is still served, but not retried.
	// Default 4Mi. It applies to every route of the Gateway, not only to pool rules.
	//
	// +optional
	// +kubebuilder:default="4Mi"
	// +kubebuilder:validation:Pattern=`^[1-9][0-9]*([KMG]i|[kMG])?$`
	// +kubebuilder:validation:XValidation:rule="quantity(self).compareTo(quantity('1Gi')) <= 0",message="requestBufferLimit must be at most 1Gi"
	RequestBufferLimit *string `json:"requestBufferLimit,omitempty"`
}

// EndpointPickerTLS configures transport security to the EPP.
//
// +kubebuilder:validation:XValidation:rule="self.mode == 'Verify' ? (has(self.caCertificateRefs) && size(self.caCertificateRefs) > 0 && has(self.hostname)) : true",message="mode Verify requires caCertificateRefs and hostname"
// +kubebuilder:validation:XValidation:rule="self.mode != 'Verify' ? (!has(self.caCertificateRefs) && !has(self.hostname)) : true",message="caCertificateRefs and hostname are only valid with mode Verify"
type EndpointPickerTLS struct {
	// Mode is InsecureSkipVerify (default), Verify or Disabled.
	//
	// +optional
	// +kubebuilder:default=InsecureSkipVerify
	Mode TLSMode `json:"mode,omitempty"`

	// CACertificateRefs name ConfigMaps (key ca.crt) in each pool's namespace holding the CA
	// certificates that sign the EPP's serving certificate. Mode Verify only.
	//
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	CACertificateRefs []gwapiv1.LocalObjectReference `json:"caCertificateRefs,omitempty"`

	// Hostname is the name the EPP's certificate must carry (and the SNI sent). Mode Verify only.
	//
	// +optional
	Hostname *gwapiv1.PreciseHostname `json:"hostname,omitempty"`
}

// LoadBalancerSettings configures the fallback load balancing of a pool.
type LoadBalancerSettings struct {
	// FallbackType is the load-balancing policy used when the EPP names no endpoint of the pool.
	// Default LeastRequest.
	//
	// +optional
	// +kubebuilder:default=LeastRequest
	FallbackType FallbackType `json:"fallbackType,omitempty"`
}

// RouteTimeouts are the timeouts the operator gives a generated rule that uses an InferencePool.
// A rule of the user's HTTPRoute that sets `timeouts` keeps its own: these apply only where it
// sets none. Without them Envoy Gateway sets no route timeout, and Envoy's default of 15 s cuts
// every response that takes longer, which most LLM generations do.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.request) && has(self.backendRequest) && duration(self.request) != duration('0s') && duration(self.backendRequest) > duration(self.request))",message="backendRequest must not be longer than request (unless request is 0s: no limit)"
type RouteTimeouts struct {
	// Request bounds the whole request, from the first byte received to the last byte of the
	// response sent (Gateway API `timeouts.request`). Default "0s": no limit, since a
	// completion can stream for minutes; streamIdle still bounds a stream that stalls.
	//
	// +optional
	// +kubebuilder:default="0s"
	Request *Duration `json:"request,omitempty"`

	// BackendRequest bounds each request to a model server, retries included separately
	// (Gateway API `timeouts.backendRequest`). Default: unset (only request applies).
	//
	// +optional
	BackendRequest *Duration `json:"backendRequest,omitempty"`

	// StreamIdle bounds how long a request or response stream may go without a byte moving in
	// either direction (Envoy's route `idle_timeout`, set through the pool's
	// BackendTrafficPolicy). Default "1h". It cannot be switched off: with no request timeout,
	// it is what ends a stream whose model server hangs.
	//
	// +optional
	// +kubebuilder:default="1h"
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="streamIdle must be longer than 0s: it is what ends a stalled stream"
	StreamIdle *Duration `json:"streamIdle,omitempty"`
}

// InferenceGatewayParameters holds the settings of one GatewayClass of the operator, referenced
// from the class's spec.parametersRef (group inferencepool-operator.io, kind InferenceGatewayParameters).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=igp,categories=inferencepool-operator
// +kubebuilder:printcolumn:name="EG Class",type=string,JSONPath=`.spec.envoyGatewayClassName`
// +kubebuilder:printcolumn:name="TLS",type=string,JSONPath=`.spec.endpointPicker.tls.mode`
// +kubebuilder:printcolumn:name="Timeout",type=string,JSONPath=`.spec.endpointPicker.messageTimeout`
// +kubebuilder:printcolumn:name="Fallback",type=string,JSONPath=`.spec.loadBalancer.fallbackType`
// +kubebuilder:printcolumn:name="Request Timeout",type=string,JSONPath=`.spec.routeTimeouts.request`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type InferenceGatewayParameters struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec InferenceGatewayParametersSpec `json:"spec,omitempty"`
}

// InferenceGatewayParametersList is a list of InferenceGatewayParameters.
//
// +kubebuilder:object:root=true
type InferenceGatewayParametersList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []InferenceGatewayParameters `json:"items"`
}

func init() {
	SchemeBuilder.Register(&InferenceGatewayParameters{}, &InferenceGatewayParametersList{})
}
