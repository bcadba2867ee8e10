package translate

import (
	"fmt"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The operator's BackendTrafficPolicy and EnvoyExtensionPolicy on a rule that uses a pool
// target that rule, so Envoy Gateway lets them win over every less specific policy of their
// kind, whole (design.md §15). They therefore carry the user's settings that would apply to the
// rule, by Envoy Gateway's precedence (ruleHolders):
//
//   - BackendTrafficPolicy: the user's rule- or route-level policy as it is (its mergeType
//     kept), else, when only a listener- or Gateway-level one applies, mergeType
//     StrategicMerge, so Envoy Gateway merges that policy's carried copy in itself, per
//     listener; plus the pool's loadBalancer (a user's is refused: the endpoint picker decides)
//     and the stream idle bound, unless the user's policies set one.
//   - EnvoyExtensionPolicy: the user's extensions that would apply (merged as Envoy Gateway
//     merges: a list of the route's policy replaces the parent's), then the endpoint picker's
//     ext_proc last in the extProc list: Envoy Gateway orders ext_proc filters by their index,
//     so the picker sees the request after the user's ext_procs (and after Lua and the auth
//     filters, which Envoy Gateway puts before every ext_proc).

// sharesBuckets tells whether p is a BackendTrafficPolicy with a shared rate-limit rule. Envoy
// Gateway names a shared bucket after the policy (namespace, name, rule index), so every rule
// the user's policy covers must stay under one generated policy: its copy then carries the
// pool's load balancing itself, and the operator's pool policy leaves its rules alone.
func sharesBuckets(p UserPolicy) bool {
	b, ok := p.Object.(*egv1a1.BackendTrafficPolicy)
	if !ok || b.Spec.RateLimit == nil {
		return false
	}
	var rules []egv1a1.RateLimitRule
	if b.Spec.RateLimit.Global != nil {
		rules = append(rules, b.Spec.RateLimit.Global.Rules...)
	}
	if b.Spec.RateLimit.Local != nil {
		rules = append(rules, b.Spec.RateLimit.Local.Rules...)
	}
	for _, r := range rules {
		if r.Shared != nil && *r.Shared {
			return true
		}
	}
	return false
}

// refusal is a setting of a user's policy that the operator does not carry onto pool rules.
type refusal struct {
	policy  UserPolicy
	message string
}

func mergeTypeOf(p UserPolicy) *egv1a1.MergeType {
	_, mt, _ := policyParts(p.Object)
	return mt
}

// poolTrafficSpec is the spec of the operator's BackendTrafficPolicy for rules of routes of
// routeKind with holders h.
func poolTrafficSpec(h ruleHolders, routeKind, routeNS string, settings Settings, hasEPP bool) (egv1a1.BackendTrafficPolicySpec, []refusal) {
	var spec egv1a1.BackendTrafficPolicySpec
	var refused []refusal
	lbRefused := func(p UserPolicy) {
		refused = append(refused, refusal{policy: p, message: "loadBalancer is not applied on rules that use an InferencePool: the pool's endpoint picker chooses the endpoint, and the class's fallbackType balances when it names none"})
	}
	idleSet, requestSet, serviceRouting, retrySet := false, false, false, false
	for _, p := range h.applies() {
		b := p.Object.(*egv1a1.BackendTrafficPolicy)
		if b.Spec.LoadBalancer != nil {
			lbRefused(p)
		}
		if b.Spec.RoutingType != nil && *b.Spec.RoutingType != egv1a1.EndpointRoutingType {
			serviceRouting = true
			refused = append(refused, refusal{policy: p, message: "routingType Service is not applied on rules that use an InferencePool: Envoy must see the pods, whose addresses the endpoint picker names"})
		}
		if b.Spec.Timeout != nil && b.Spec.Timeout.HTTP != nil && b.Spec.Timeout.HTTP.StreamIdleTimeout != nil {
			idleSet = true
		}
		if b.Spec.Timeout != nil && b.Spec.Timeout.HTTP != nil && b.Spec.Timeout.HTTP.RequestTimeout != nil {
			requestSet = true
		}
		if b.Spec.Retry != nil {
			retrySet = true
		}
	}
	switch {
	case h.own != nil:
		own := h.own.Object.(*egv1a1.BackendTrafficPolicy)
		spec = *own.Spec.DeepCopy()
		spec.PolicyTargetReferences = egv1a1.PolicyTargetReferences{}
		if own.Namespace != routeNS {
			// The user's policy reached the route from another namespace (a targetSelector
			// and a ReferenceGrant): its ConfigMap references would not resolve from here.
			var kept []*egv1a1.ResponseOverride
			for _, ro := range spec.ResponseOverride {
				if ro != nil && ro.Response.Body != nil && ro.Response.Body.ValueRef != nil {
					refused = append(refused, refusal{policy: *h.own, message: fmt.Sprintf("responseOverride bodies from ConfigMaps of namespace %s are not carried to rules of namespace %s", own.Namespace, routeNS)})
					continue
				}
				kept = append(kept, ro)
			}
			spec.ResponseOverride = kept
		}
	case h.parent != nil:
		// Envoy Gateway merges the parent policy's carried copy under this one.
		merge := egv1a1.StrategicMerge
		spec.MergeType = &merge
	}
	spec.LoadBalancer = &egv1a1.LoadBalancer{Type: egv1a1.LoadBalancerType(settings.FallbackType)}
	if hasEPP {
		spec.LoadBalancer.EndpointOverride = &egv1a1.EndpointOverride{
			ExtractFrom: []egv1a1.EndpointOverrideExtractFrom{{Header: ptrTo(DestinationHeader)}},
		}
	}
	if serviceRouting {
		spec.RoutingType = ptrTo(egv1a1.EndpointRoutingType)
	}
	if !retrySet && settings.NumRetries > 0 {
		// The user's retry, carried or merged, wins whole (as Envoy Gateway's precedence
		// would have it); so does the HTTPRoute rule's own retry, which Envoy Gateway prefers
		// over any policy's.
		spec.Retry = poolRetry(settings.NumRetries)
	}
	if !idleSet {
		httpTimeout(&spec).StreamIdleTimeout = ptrTo(gwapiv1.Duration(settings.StreamIdleTimeout))
	}
	if routeKind == "GRPCRoute" && !requestSet {
		// A GRPCRoute rule has no timeouts: without this, Envoy Gateway sets no route timeout
		// and Envoy cuts every response at 15 s (its RouteAction timeout default). Envoy
		// Gateway makes requestTimeout the route's timeout, and its idle_timeout at least as
		// long (at least 1 h), as it does for an HTTPRoute rule's timeouts.request.
		httpTimeout(&spec).RequestTimeout = ptrTo(gwapiv1.Duration(settings.RequestTimeout))
	}
	return spec, refused
}

// httpTimeout is spec's HTTP timeout settings, made when absent.
func httpTimeout(spec *egv1a1.BackendTrafficPolicySpec) *egv1a1.HTTPTimeout {
	if spec.Timeout == nil {
		spec.Timeout = &egv1a1.Timeout{}
	}
	if spec.Timeout.HTTP == nil {
		spec.Timeout.HTTP = &egv1a1.HTTPTimeout{}
	}
	return spec.Timeout.HTTP
}

// poolRetry retries a request n times, each on the endpoint picker's next choice (design.md §19)
// (override_host sends a retry to the next address of the header's list), and only on failures
// where the request never reached a model server: a generation is not idempotent. Without
// perRetry, Envoy Gateway sets no per_try_timeout: one attempt may last as long as the route's
// timeout allows.
func poolRetry(n int32) *egv1a1.Retry {
	return &egv1a1.Retry{
		NumRetries: ptrTo(n),
		RetryOn: &egv1a1.RetryOn{Triggers: []egv1a1.TriggerEnum{
			egv1a1.ConnectFailure, egv1a1.RefusedStream, egv1a1.ResetBeforeRequest,
		}},
	}
}

// trafficPolicy renders the BackendTrafficPolicy of group g's rules (chunk of targets).
func trafficPolicy(pool *giev1.InferencePool, g *policyGroup, epp endpointPicker, targets []gwapiv1.LocalPolicyTargetReferenceWithSectionName, chunk int) *egv1a1.BackendTrafficPolicy {
	spec, _ := poolTrafficSpec(g.holders, g.routeKind, g.namespace, g.settings, epp.ref != nil)
	spec.TargetRefs = targets
	return &egv1a1.BackendTrafficPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: egv1a1.GroupVersion.String(), Kind: egv1a1.KindBackendTrafficPolicy},
		ObjectMeta: policyMeta(pool, g, poolPolicyName(pool, g.namespace, g.class, g.routeKind, g.holders.key(), chunk)),
		Spec:       spec,
	}
}

// pickerExtProc is the ext_proc that calls the pool's EPP from a policy of group g.
func pickerExtProc(pool *giev1.InferencePool, epp endpointPicker, g *policyGroup) *egv1a1.ExtProc {
	streamed := egv1a1.FullDuplexStreamedExtBodyProcessingMode
	return &egv1a1.ExtProc{
		BackendCluster: egv1a1.BackendCluster{
			BackendRefs: []egv1a1.BackendRef{{
				BackendObjectReference: eppBackendRef(pool, epp, g.settings.TLSMode, g.namespace),
			}},
			BackendSettings: eppHealthSettings(g.settings.EPPHealthCheck),
		},
		// FullDuplexStreamed: the EPP protocol streams both ways; EG then also sends trailers,
		// and forbids failOpen (FailOpen is done by detaching the picker).
		ProcessingMode: &egv1a1.ExtProcProcessingMode{
			Request:  &egv1a1.ProcessingModeOptions{Body: &streamed},
			Response: &egv1a1.ProcessingModeOptions{Body: &streamed},
		},
		MessageTimeout: ptrTo(gwapiv1.Duration(g.settings.MessageTimeout)),
		FailOpen:       ptrTo(false),
		Metadata: &egv1a1.ExtProcMetadata{
			AccessibleNamespaces: []string{envoyLBNamespace},
			WritableNamespaces:   []string{envoyLBNamespace},
		},
	}
}

// maxExtensions is Envoy Gateway's limit on each extension list of an EnvoyExtensionPolicy.
const maxExtensions = 16

// poolExtensionSpec is the spec of the operator's EnvoyExtensionPolicy for rules with holders h
// in routeNS: the user's extensions, re-homed to routeNS, then picker (nil: none).
func poolExtensionSpec(h ruleHolders, routeNS string, picker *egv1a1.ExtProc) (egv1a1.EnvoyExtensionPolicySpec, []refusal, []grantNeed) {
	var spec egv1a1.EnvoyExtensionPolicySpec
	var refused []refusal
	var needs []grantNeed
	// Each list comes whole from one policy: own's when it has one, else the parent's (when
	// own is absent or merges), as Envoy Gateway's merge of lists does.
	pick := func(has func(*egv1a1.EnvoyExtensionPolicy) bool) *UserPolicy {
		for _, p := range h.applies() {
			if has(p.Object.(*egv1a1.EnvoyExtensionPolicy)) {
				return &p
			}
		}
		return nil
	}
	if p := pick(func(e *egv1a1.EnvoyExtensionPolicy) bool { return len(e.Spec.ExtProc) > 0 }); p != nil {
		for _, ep := range p.Object.(*egv1a1.EnvoyExtensionPolicy).Spec.ExtProc {
			ep := *ep.DeepCopy()
			n, ok := rehomeBackendRefs(ep.BackendRefs, *p, routeNS)
			if !ok {
				refused = append(refused, refusal{policy: *p, message: thirdNamespaceMessage("an ext_proc", p.Object.GetNamespace(), routeNS)})
				continue
			}
			needs = append(needs, n...)
			spec.ExtProc = append(spec.ExtProc, ep)
		}
	}
	if p := pick(func(e *egv1a1.EnvoyExtensionPolicy) bool { return len(e.Spec.Wasm) > 0 }); p != nil {
		for _, w := range p.Object.(*egv1a1.EnvoyExtensionPolicy).Spec.Wasm {
			w := *w.DeepCopy()
			n, ok := rehomeWasm(&w, *p, routeNS)
			if !ok {
				refused = append(refused, refusal{policy: *p, message: thirdNamespaceMessage("a Wasm extension", p.Object.GetNamespace(), routeNS)})
				continue
			}
			needs = append(needs, n...)
			spec.Wasm = append(spec.Wasm, w)
		}
	}
	if p := pick(func(e *egv1a1.EnvoyExtensionPolicy) bool { return len(e.Spec.Lua) > 0 }); p != nil {
		for _, l := range p.Object.(*egv1a1.EnvoyExtensionPolicy).Spec.Lua {
			if l.ValueRef != nil && p.Object.GetNamespace() != routeNS {
				refused = append(refused, refusal{policy: *p, message: fmt.Sprintf("a Lua filter read from ConfigMap %s/%s is not carried to rules of namespace %s (ConfigMap references are local); inline its source or attach the policy to the route", p.Object.GetNamespace(), l.ValueRef.Name, routeNS)})
				continue
			}
			spec.Lua = append(spec.Lua, *l.DeepCopy())
		}
	}
	if p := pick(func(e *egv1a1.EnvoyExtensionPolicy) bool { return len(e.Spec.DynamicModule) > 0 }); p != nil {
		for _, d := range p.Object.(*egv1a1.EnvoyExtensionPolicy).Spec.DynamicModule {
			spec.DynamicModule = append(spec.DynamicModule, *d.DeepCopy())
		}
	}
	if picker != nil {
		if len(spec.ExtProc) >= maxExtensions {
			p := pick(func(e *egv1a1.EnvoyExtensionPolicy) bool { return len(e.Spec.ExtProc) > 0 })
			refused = append(refused, refusal{policy: *p, message: fmt.Sprintf("only the first %d ext_procs are carried onto rules that use an InferencePool: the endpoint picker takes the last of Envoy Gateway's %d places", maxExtensions-1, maxExtensions)})
			spec.ExtProc = spec.ExtProc[:maxExtensions-1]
		}
		spec.ExtProc = append(spec.ExtProc, *picker)
	}
	return spec, refused, needs
}

// thirdNamespaceMessage says why an extension of a policy in policyNS referencing a third
// namespace is not carried to rules of routeNS.
func thirdNamespaceMessage(what, policyNS, routeNS string) string {
	return fmt.Sprintf("%s referencing a namespace other than the policy's (%s) is not carried to rules of namespace %s: attach the policy to the route, or reference objects of its own namespace", what, policyNS, routeNS)
}

// poolRuleRefusals are the refusals of the user's policies of kind on the pool rule (route,
// rule), for their status.
func (s *Snapshot) poolRuleRefusals(kind string, route poolRoute, rule string, settings Settings, hasEPP bool) []refusal {
	h := s.ruleHolders(kind, route, rule)
	switch kind {
	case KindBackendTrafficPolicy:
		_, r := poolTrafficSpec(h, route.kind, route.namespace(), settings, hasEPP)
		return r
	case KindEnvoyExtensionPolicy:
		var picker *egv1a1.ExtProc
		if hasEPP {
			picker = &egv1a1.ExtProc{} // only its place in the list matters here
		}
		_, r, _ := poolExtensionSpec(h, route.namespace(), picker)
		return r
	}
	return nil
}
