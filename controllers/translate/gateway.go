package translate

import (
	"fmt"
	"slices"
	"strings"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// GeneratedGatewayName is the name of the EG Gateway generated for the user's Gateway name.
func GeneratedGatewayName(name string) string { return DNS1035Name(name, "eg") }

// ClientTrafficPolicyName is the name of the ClientTrafficPolicy generated for the user's Gateway name.
func ClientTrafficPolicyName(name string) string { return DNS1035Name(name, "client") }

// GatewayResult is what one Gateway of ours translates to.
type GatewayResult struct {
	// Objects are the generated objects owned by the Gateway; empty when it is not served.
	Objects []client.Object
	// Status is the desired status of the user's Gateway (conditions without timestamps).
	Status gwapiv1.GatewayStatus
}

func gatewaySource(gw *gwapiv1.Gateway) Source {
	return Source{Kind: "Gateway", Namespace: gw.Namespace, Name: gw.Name}
}

// ForGateway renders the EG Gateway (and ClientTrafficPolicy) for a Gateway of ours,
// and its status mirrored from Envoy Gateway's verdict on the generated Gateway. A Gateway whose
// class cannot serve it is rendered with the settings it was last served with, if it ever was
// (gateway_serving.go), and says so; one that never was is Pending, and nothing is generated.
func ForGateway(s *Snapshot, gw *gwapiv1.Gateway) GatewayResult {
	v := s.GatewayServing(gw)
	if !v.served() {
		msg := v.Message
		if msg == "" {
			msg = fmt.Sprintf("GatewayClass %q is not one of inferencepool-operator's", gw.Spec.GatewayClassName)
		}
		return GatewayResult{Status: gwapiv1.GatewayStatus{Conditions: []metav1.Condition{
			condition(gwapiv1.GatewayConditionAccepted, metav1.ConditionFalse, gwapiv1.GatewayReasonPending, msg, gw.Generation),
			condition(gwapiv1.GatewayConditionProgrammed, metav1.ConditionFalse, gwapiv1.GatewayReasonPending, msg, gw.Generation),
		}}}
	}
	generated := GeneratedGateway(gw, v.Settings)
	res := GatewayResult{Objects: []client.Object{generated}}
	if v.Settings.ClientTrafficPolicyGenerated() {
		res.Objects = append(res.Objects, clientTrafficPolicy(s, gw, v.Settings)...)
	}
	res.Status = mirrorGatewayStatus(gw, generated, s.Gateway(types.NamespacedName{Namespace: gw.Namespace, Name: generated.Name}))
	if v.State == Held {
		res.Status.Conditions = append(res.Status.Conditions, lastKnownGoodCondition(gw, v))
	}
	return res
}

// GeneratedGateway is the user's Gateway as an EG Gateway: the same spec, EG's class, and the
// settings it is served with recorded (AnnotationClassSettings).
func GeneratedGateway(gw *gwapiv1.Gateway, settings Settings) *gwapiv1.Gateway {
	spec := gw.Spec.DeepCopy()
	spec.GatewayClassName = gwapiv1.ObjectName(settings.EnvoyGatewayClassName)
	meta := objectMeta(gatewaySource(gw), gw.Namespace, GeneratedGatewayName(gw.Name),
		controllerRef(gwapiv1.GroupVersion.String(), "Gateway", gw))
	meta.Annotations[AnnotationClassSettings] = settings.record()
	return &gwapiv1.Gateway{
		TypeMeta:   metav1.TypeMeta{APIVersion: gwapiv1.GroupVersion.String(), Kind: "Gateway"},
		ObjectMeta: meta,
		Spec:       *spec,
	}
}

// clientTrafficPolicy removes the destination header from client requests before any filter
// runs, so only the endpoint picker can choose the pod, and sets the buffer that lets Envoy
// retry a request (both as the class's settings ask). It holds the Gateway's slot for
// ClientTrafficPolicies (one per Gateway; Envoy Gateway does not merge them), so it carries the
// settings of the user's Gateway-level ClientTrafficPolicy, if any, with the removal added (a
// user's policy cannot switch it off) and the buffer unless the user's sets one. Listener-level
// ones are carried over with both too (userpolicy_copy.go). It returns the policy and the
// ReferenceGrants its carried references need.
func clientTrafficPolicy(s *Snapshot, gw *gwapiv1.Gateway, settings Settings) []client.Object {
	ctp := &egv1a1.ClientTrafficPolicy{
		TypeMeta: metav1.TypeMeta{APIVersion: egv1a1.GroupVersion.String(), Kind: egv1a1.KindClientTrafficPolicy},
		ObjectMeta: objectMeta(gatewaySource(gw), gw.Namespace, ClientTrafficPolicyName(gw.Name),
			controllerRef(gwapiv1.GroupVersion.String(), "Gateway", gw)),
	}
	grants := grantNeeds{}
	nn := types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}
	if p, ok := s.attachmentsOf(KindClientTrafficPolicy).holder[PolicyTarget{Kind: "Gateway", NN: nn}]; ok {
		ctp.Spec = *p.Object.(*egv1a1.ClientTrafficPolicy).Spec.DeepCopy()
		grants.add(rehomeClientTraffic(&ctp.Spec, p, gw.Namespace)...)
		ctp.Annotations[AnnotationCarries] = p.Key()
	}
	ctp.Spec.PolicyTargetReferences = egv1a1.PolicyTargetReferences{
		TargetRefs: []gwapiv1.LocalPolicyTargetReferenceWithSectionName{{
			LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{
				Group: gwapiv1.GroupName, Kind: "Gateway", Name: gwapiv1.ObjectName(GeneratedGatewayName(gw.Name)),
			},
		}},
	}
	if settings.StripClientDestinationHeader {
		removeDestinationHeader(&ctp.Spec)
	}
	setRetryBuffer(&ctp.Spec, settings)
	return append([]client.Object{ctp}, grants.objects(gatewaySource(gw))...)
}

// removeDestinationHeader makes spec remove the destination header from client requests early,
// dropping any setting of it.
func removeDestinationHeader(spec *egv1a1.ClientTrafficPolicySpec) {
	if spec.Headers == nil {
		spec.Headers = &egv1a1.HeaderSettings{}
	}
	h := spec.Headers.EarlyRequestHeaders
	if h == nil {
		h = &egv1a1.HTTPHeaderFilter{}
		spec.Headers.EarlyRequestHeaders = h
	}
	h.Set = withoutHeader(h.Set, DestinationHeader)
	h.Add = withoutHeader(h.Add, DestinationHeader)
	for _, r := range h.Remove {
		if strings.EqualFold(r, DestinationHeader) {
			return
		}
	}
	h.Remove = append(h.Remove, DestinationHeader)
}

// setRetryBuffer sets the listeners' per-connection buffer (Envoy's
// per_connection_buffer_limit_bytes, 32 KiB in Envoy Gateway by default) to the class's
// RequestBufferLimit, when the class retries and spec sets none. Envoy Gateway sets no per-route
// buffer limit, so the listener's is what Envoy keeps of a request body to retry it
// (RouteConfiguration per_request_buffer_limit_bytes: unset, the connection's applies); above it,
// Envoy abandons the retry and the request goes on unretried.
func setRetryBuffer(spec *egv1a1.ClientTrafficPolicySpec, settings Settings) {
	if settings.NumRetries == 0 || (spec.Connection != nil && spec.Connection.BufferLimit != nil) {
		return
	}
	if spec.Connection == nil {
		spec.Connection = &egv1a1.ClientConnection{}
	}
	limit := resource.MustParse(settings.RequestBufferLimit) // the CRD's pattern admits only quantities
	spec.Connection.BufferLimit = &limit
}

// withoutHeader drops the entries named name (nil when none is left: the lists have MinItems 1).
func withoutHeader(headers []gwapiv1.HTTPHeader, name string) []gwapiv1.HTTPHeader {
	var out []gwapiv1.HTTPHeader
	for _, h := range headers {
		if !strings.EqualFold(string(h.Name), name) {
			out = append(out, h)
		}
	}
	return out
}

// rehomeClientTraffic re-homes the CA references of the user's ClientTrafficPolicy p carried
// into a policy in ns. A reference to a third namespace is dropped: p's own ReferenceGrant there
// does not cover the generated policy (TLS client validation then fails closed in Envoy Gateway).
func rehomeClientTraffic(spec *egv1a1.ClientTrafficPolicySpec, p UserPolicy, ns string) []grantNeed {
	if spec.TLS == nil || spec.TLS.ClientValidation == nil {
		return nil
	}
	var needs []grantNeed
	var kept []gwapiv1.SecretObjectReference
	for _, ref := range spec.TLS.ClientValidation.CACertificateRefs {
		n, ok := rehomeSecretRef(&ref, p, KindClientTrafficPolicy, ns)
		if !ok {
			continue
		}
		needs = append(needs, n...)
		kept = append(kept, ref)
	}
	spec.TLS.ClientValidation.CACertificateRefs = kept
	return needs
}

// mirrorGatewayStatus copies EG's verdict on the generated Gateway onto the user's Gateway,
// with the user's generation. Until EG has judged the current generated spec, it says Pending.
func mirrorGatewayStatus(gw *gwapiv1.Gateway, desired, generated *gwapiv1.Gateway) gwapiv1.GatewayStatus {
	if generated != nil && generated.Labels[LabelManagedBy] != ManagedByValue {
		msg := fmt.Sprintf("Gateway %s/%s exists and is not managed by inferencepool-operator; rename or remove it", generated.Namespace, generated.Name)
		return gwapiv1.GatewayStatus{Conditions: []metav1.Condition{
			condition(gwapiv1.GatewayConditionAccepted, metav1.ConditionFalse, gwapiv1.GatewayReasonPending, msg, gw.Generation),
			condition(gwapiv1.GatewayConditionProgrammed, metav1.ConditionFalse, gwapiv1.GatewayReasonPending, msg, gw.Generation),
		}}
	}
	if !isCurrent(generated, desired) || !judged(generated.Status.Conditions, generated.Generation, string(gwapiv1.GatewayConditionAccepted)) {
		msg := fmt.Sprintf("Waiting for Envoy Gateway to accept Gateway %s/%s", gw.Namespace, GeneratedGatewayName(gw.Name))
		return gwapiv1.GatewayStatus{Conditions: []metav1.Condition{
			condition(gwapiv1.GatewayConditionAccepted, metav1.ConditionUnknown, gwapiv1.GatewayReasonPending, msg, gw.Generation),
			condition(gwapiv1.GatewayConditionProgrammed, metav1.ConditionUnknown, gwapiv1.GatewayReasonPending, msg, gw.Generation),
		}}
	}
	st := gwapiv1.GatewayStatus{
		Addresses:  append([]gwapiv1.GatewayStatusAddress(nil), generated.Status.Addresses...),
		Conditions: withGeneration(generated.Status.Conditions, gw.Generation),
	}
	for _, l := range generated.Status.Listeners {
		l = *l.DeepCopy()
		l.Conditions = withGeneration(l.Conditions, gw.Generation)
		st.Listeners = append(st.Listeners, servedKindsOnly(l, listenerSpec(gw, l.Name), gw.Generation))
	}
	return st
}

// servedRouteKinds are the route kinds the operator serves on its Gateways.
var servedRouteKinds = func() map[gwapiv1.Kind]bool {
	out := map[gwapiv1.Kind]bool{}
	for _, k := range ServedRouteKinds() {
		out[gwapiv1.Kind(k)] = true
	}
	return out
}()

func listenerSpec(gw *gwapiv1.Gateway, name gwapiv1.SectionName) *gwapiv1.Listener {
	for i := range gw.Spec.Listeners {
		if gw.Spec.Listeners[i].Name == name {
			return &gw.Spec.Listeners[i]
		}
	}
	return nil
}

// servedKindsOnly makes a listener's status claim only what the operator serves. Envoy Gateway
// lists every kind it serves for the listener's protocol (HTTPRoute and GRPCRoute, TLSRoute,
// TCPRoute, UDPRoute); the operator serves all of those (servedRouteKinds), so supportedKinds
// keeps them, and a kind Envoy Gateway would serve that the operator does not, or one named in
// allowedRoutes.kinds, makes the listener ResolvedRefs=False/InvalidRouteKinds, as Gateway API
// asks of a kind it does not serve.
func servedKindsOnly(l gwapiv1.ListenerStatus, spec *gwapiv1.Listener, generation int64) gwapiv1.ListenerStatus {
	var kept []gwapiv1.RouteGroupKind
	var refused []string
	for _, k := range l.SupportedKinds {
		if servedRouteKinds[k.Kind] && (k.Group == nil || *k.Group == gwapiv1.GroupName) {
			kept = append(kept, k)
		} else {
			refused = append(refused, string(k.Kind))
		}
	}
	if spec != nil && spec.AllowedRoutes != nil {
		for _, k := range spec.AllowedRoutes.Kinds {
			if !servedRouteKinds[k.Kind] && !slices.Contains(refused, string(k.Kind)) {
				refused = append(refused, string(k.Kind))
			}
		}
	}
	l.SupportedKinds = kept
	if len(refused) == 0 || (spec != nil && (spec.AllowedRoutes == nil || len(spec.AllowedRoutes.Kinds) == 0) && len(kept) > 0) {
		// Without allowedRoutes.kinds, a listener whose protocol admits HTTPRoute is valid:
		// its other kinds are only not listed.
		return l
	}
	msg := fmt.Sprintf("inferencepool-operator serves %s: routes of kind %s on this listener are not served", strings.Join(ServedRouteKinds(), ", "), strings.Join(refused, ", "))
	c := condition(gwapiv1.ListenerConditionResolvedRefs, metav1.ConditionFalse, gwapiv1.ListenerReasonInvalidRouteKinds, msg, generation)
	replaced := false
	for i := range l.Conditions {
		if l.Conditions[i].Type == c.Type {
			c.LastTransitionTime = l.Conditions[i].LastTransitionTime
			l.Conditions[i], replaced = c, true
		}
	}
	if !replaced {
		l.Conditions = append(l.Conditions, c)
	}
	return l
}
