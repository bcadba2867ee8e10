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
