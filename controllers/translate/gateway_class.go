package translate

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
)

// Settings are a GatewayClass's parameters with every default filled in. Generated Gateways
// record them as JSON (AnnotationClassSettings): keep the JSON names stable.
type Settings struct {
	EnvoyGatewayClassName        string                         `json:"envoyGatewayClassName"`
	MessageTimeout               v1alpha1.Duration              `json:"messageTimeout,omitempty"`
	TLSMode                      v1alpha1.TLSMode               `json:"tlsMode,omitempty"`
	CACertificateRefs            []gwapiv1.LocalObjectReference `json:"caCertificateRefs,omitempty"`
	Hostname                     *gwapiv1.PreciseHostname       `json:"hostname,omitempty"`
	FallbackType                 v1alpha1.FallbackType          `json:"fallbackType,omitempty"`
	StripClientDestinationHeader bool                           `json:"stripClientDestinationHeader"`
	// RequestTimeout and BackendRequestTimeout (nil: unset) are the timeouts of generated pool
	// rules whose user rule sets none; StreamIdleTimeout bounds every pool rule's streams.
	RequestTimeout        v1alpha1.Duration  `json:"requestTimeout,omitempty"`
	BackendRequestTimeout *v1alpha1.Duration `json:"backendRequestTimeout,omitempty"`
	StreamIdleTimeout     v1alpha1.Duration  `json:"streamIdleTimeout,omitempty"`
	// NumRetries (0: none) retries a pool rule's request that never reached a model server;
	// RequestBufferLimit is the Gateway's per-connection buffer that lets Envoy send it again.
	NumRetries         int32  `json:"numRetries"`
	RequestBufferLimit string `json:"requestBufferLimit,omitempty"`
	// EPPHealthCheck is the health check of every pool's EPP replicas (nil: none).
	EPPHealthCheck *EPPHealthCheck `json:"eppHealthCheck"` // null when off: a record without it predates it
}

// ClientTrafficPolicyGenerated tells whether a Gateway of these settings gets the operator's
// ClientTrafficPolicy: to strip the destination header, or to set the retry buffer.
func (st Settings) ClientTrafficPolicyGenerated() bool {
	return st.StripClientDestinationHeader || st.NumRetries > 0
}

// EPPHealthCheck is the resolved EndpointPickerHealthCheck.
type EPPHealthCheck struct {
	ServiceName        string            `json:"serviceName"`
	Port               *int32            `json:"port,omitempty"`
	Interval           v1alpha1.Duration `json:"interval"`
	Timeout            v1alpha1.Duration `json:"timeout"`
	UnhealthyThreshold int32             `json:"unhealthyThreshold"`
	HealthyThreshold   int32             `json:"healthyThreshold"`
	PanicThreshold     *int32            `json:"panicThreshold,omitempty"`
}

// ResolveSettings fills the defaults into params (which may be nil: a class without parameters).
func ResolveSettings(params *v1alpha1.InferenceGatewayParameters, defaultEGClass string) Settings {
	s := Settings{
		EnvoyGatewayClassName:        defaultEGClass,
		MessageTimeout:               v1alpha1.DefaultMessageTimeout,
		TLSMode:                      v1alpha1.DefaultTLSMode,
		FallbackType:                 v1alpha1.DefaultFallbackType,
		StripClientDestinationHeader: true,
		RequestTimeout:               v1alpha1.DefaultRequestTimeout,
		StreamIdleTimeout:            v1alpha1.DefaultStreamIdleTimeout,
		NumRetries:                   v1alpha1.DefaultNumRetries,
		RequestBufferLimit:           v1alpha1.DefaultRequestBufferLimit,
		EPPHealthCheck: &EPPHealthCheck{
			ServiceName:        v1alpha1.DefaultHealthCheckService,
			Interval:           v1alpha1.DefaultHealthCheckInterval,
			Timeout:            v1alpha1.DefaultHealthCheckTimeout,
			UnhealthyThreshold: v1alpha1.DefaultHealthCheckUnhealthyThreshold,
			HealthyThreshold:   v1alpha1.DefaultHealthCheckHealthyThreshold,
		},
	}
	if params == nil {
		return s
	}
	p := params.Spec
	if p.EnvoyGatewayClassName != "" {
		s.EnvoyGatewayClassName = p.EnvoyGatewayClassName
	}
	if p.StripClientDestinationHeader != nil {
		s.StripClientDestinationHeader = *p.StripClientDestinationHeader
	}
	if p.LoadBalancer != nil && p.LoadBalancer.FallbackType != "" {
		s.FallbackType = p.LoadBalancer.FallbackType
	}
	if t := p.RouteTimeouts; t != nil {
		if t.Request != nil && *t.Request != "" {
			s.RequestTimeout = *t.Request
		}
		if t.BackendRequest != nil && *t.BackendRequest != "" {
			s.BackendRequestTimeout = t.BackendRequest
		}
		if t.StreamIdle != nil && *t.StreamIdle != "" {
			s.StreamIdleTimeout = *t.StreamIdle
		}
	}
	if epp := p.EndpointPicker; epp != nil {
		if epp.MessageTimeout != nil && *epp.MessageTimeout != "" {
			s.MessageTimeout = *epp.MessageTimeout
		}
		if epp.TLS != nil {
			if epp.TLS.Mode != "" {
				s.TLSMode = epp.TLS.Mode
			}
			s.CACertificateRefs = epp.TLS.CACertificateRefs
			s.Hostname = epp.TLS.Hostname
		}
		if hc := epp.HealthCheck; hc != nil {
			s.EPPHealthCheck = resolveHealthCheck(hc, *s.EPPHealthCheck)
		}
	}
	if r := p.Retry; r != nil {
		if r.NumRetries != nil {
			s.NumRetries = *r.NumRetries
		}
		if r.RequestBufferLimit != nil && *r.RequestBufferLimit != "" {
			s.RequestBufferLimit = *r.RequestBufferLimit
		}
	}
	return s
}

// ClassParameters resolves a class's parametersRef. It returns the parameters (nil when the class
// has none) and, when the reference is unusable, a message saying why. The Envoy Gateway class
// they name (or the default) must not be one of the operator's: the generated Gateways would be
// the operator's again, which no reconciler serves (generated objects are never sources) and
// Envoy Gateway ignores.
func (s *Snapshot) ClassParameters(class *gwapiv1.GatewayClass) (*v1alpha1.InferenceGatewayParameters, string) {
	params, problem := s.parametersRef(class)
	if problem != "" {
		return nil, problem
	}
	if eg := ResolveSettings(params, s.DefaultEnvoyGatewayClass).EnvoyGatewayClassName; s.OurClass(eg) {
		return nil, fmt.Sprintf("the Envoy Gateway class %q is a GatewayClass of this operator (controllerName %s), not of Envoy Gateway", eg, ControllerName)
	}
	return params, ""
}

// parametersRef resolves a class's parametersRef to the parameters it names.
func (s *Snapshot) parametersRef(class *gwapiv1.GatewayClass) (*v1alpha1.InferenceGatewayParameters, string) {
	ref := class.Spec.ParametersRef
	if ref == nil {
		return nil, ""
	}
	if string(ref.Group) != v1alpha1.GroupVersion.Group || string(ref.Kind) != v1alpha1.Kind {
		return nil, fmt.Sprintf("parametersRef must name a %s.%s, not %s.%s", v1alpha1.Kind, v1alpha1.GroupVersion.Group, ref.Kind, ref.Group)
	}
	if ref.Namespace != nil && *ref.Namespace != "" {
		return nil, fmt.Sprintf("parametersRef names namespace %q, but %s is cluster-scoped", *ref.Namespace, v1alpha1.Kind)
	}
	for i := range s.Parameters {
		if s.Parameters[i].Name == ref.Name {
			return &s.Parameters[i], ""
		}
	}
	return nil, fmt.Sprintf("%s %q not found", v1alpha1.Kind, ref.Name)
}

// GatewayClassAccepted is the Accepted condition of one of our classes (no lastTransitionTime:
// the status writer keeps the previous one unless the status changes).
func GatewayClassAccepted(s *Snapshot, class *gwapiv1.GatewayClass) metav1.Condition {
	c := metav1.Condition{
		Type:               string(gwapiv1.GatewayClassConditionStatusAccepted),
		ObservedGeneration: class.Generation,
	}
	if v := s.classVerdictOf(class); v.reason != "" {
		c.Status = metav1.ConditionFalse
		c.Reason = v.reason
		c.Message = v.message
		return c
	}
	c.Status = metav1.ConditionTrue
	c.Reason = string(gwapiv1.GatewayClassReasonAccepted)
	if class.Spec.ParametersRef == nil {
		c.Message = "No parametersRef: defaults apply"
	} else {
		c.Message = fmt.Sprintf("Parameters %q resolved", class.Spec.ParametersRef.Name)
	}
	return c
}

// resolveHealthCheck fills what hc leaves unset from defaults; nil when hc switches it off.
func resolveHealthCheck(hc *v1alpha1.EndpointPickerHealthCheck, defaults EPPHealthCheck) *EPPHealthCheck {
	if hc.Enabled != nil && !*hc.Enabled {
		return nil
	}
	out := defaults
	if hc.ServiceName != nil {
		out.ServiceName = *hc.ServiceName
	}
	out.Port = hc.Port
	if hc.Interval != nil && *hc.Interval != "" {
		out.Interval = *hc.Interval
	}
	if hc.Timeout != nil && *hc.Timeout != "" {
		out.Timeout = *hc.Timeout
	}
	if hc.UnhealthyThreshold != nil {
		out.UnhealthyThreshold = *hc.UnhealthyThreshold
	}
	if hc.HealthyThreshold != nil {
		out.HealthyThreshold = *hc.HealthyThreshold
	}
	out.PanicThreshold = hc.PanicThreshold
	return &out
}
