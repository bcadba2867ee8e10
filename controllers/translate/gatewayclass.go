package translate

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
)

// Settings are a GatewayClass's parameters with every default filled in.
type Settings struct {
	EnvoyGatewayClassName        string
	MessageTimeout               v1alpha1.Duration
	TLSMode                      v1alpha1.TLSMode
	CACertificateRefs            []gwapiv1.LocalObjectReference
	Hostname                     *gwapiv1.PreciseHostname
	FallbackType                 v1alpha1.FallbackType
	StripClientDestinationHeader bool
	// RequestTimeout and BackendRequestTimeout (nil: unset) are the timeouts of generated pool
	// rules whose user rule sets none; StreamIdleTimeout bounds every pool rule's streams.
	RequestTimeout        v1alpha1.Duration
	BackendRequestTimeout *v1alpha1.Duration
	StreamIdleTimeout     v1alpha1.Duration
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

// ClassSettings resolves the settings of our class name. ok is false when the class is not
// ours, missing, or its parameters are invalid: nothing is generated for its Gateways then.
func (s *Snapshot) ClassSettings(name string) (Settings, bool) {
	for i := range s.GatewayClasses {
		c := &s.GatewayClasses[i]
		if c.Name != name || string(c.Spec.ControllerName) != ControllerName {
			continue
		}
		params, problem := s.ClassParameters(c)
		if problem != "" {
			return Settings{}, false
		}
		return ResolveSettings(params, s.DefaultEnvoyGatewayClass), true
	}
	return Settings{}, false
}

// GatewayClassAccepted is the Accepted condition of one of our classes (no lastTransitionTime:
// the status writer keeps the previous one unless the status changes).
func GatewayClassAccepted(s *Snapshot, class *gwapiv1.GatewayClass) metav1.Condition {
	c := metav1.Condition{
		Type:               string(gwapiv1.GatewayClassConditionStatusAccepted),
		ObservedGeneration: class.Generation,
	}
	if _, problem := s.ClassParameters(class); problem != "" {
		c.Status = metav1.ConditionFalse
		c.Reason = string(gwapiv1.GatewayClassReasonInvalidParameters)
		c.Message = problem
		return c
	}
	params, _ := s.ClassParameters(class)
	if reason, msg := s.ClassProblem(class, ResolveSettings(params, s.DefaultEnvoyGatewayClass)); reason != "" {
		c.Status = metav1.ConditionFalse
		c.Reason = reason
		c.Message = msg
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
