package translate_test

import (
	"fmt"
	"slices"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// genPolicies makes the user's Envoy Gateway policies of the four carried-over kinds, targeting
// Gateways, listeners, routes and rules by targetRefs and targetSelectors, in the targets' and
// other namespaces, with the settings the operator merges, re-homes or refuses.
func (g *generator) genPolicies() {
	c := g.c
	for n := c.count(2, 8); n > 0; n-- {
		ns := g.namespace()
		meta := g.meta(ns, c.subdomain())
		kind := pick(c, translate.KindSecurityPolicy, translate.KindBackendTrafficPolicy, translate.KindClientTrafficPolicy, translate.KindEnvoyExtensionPolicy)
		targets := g.policyTargets(kind, ns)
		switch kind {
		case translate.KindSecurityPolicy:
			p := egv1a1.SecurityPolicy{ObjectMeta: meta}
			p.Spec.PolicyTargetReferences = targets
			p.Spec.MergeType = g.mergeType(targets)
			p.Spec.BasicAuth = &egv1a1.BasicAuth{Users: g.secretRef(ns)}
			if !policyExists(g.snap.SecurityPolicies, meta) {
				g.snap.SecurityPolicies = append(g.snap.SecurityPolicies, p)
			}
		case translate.KindBackendTrafficPolicy:
			p := egv1a1.BackendTrafficPolicy{ObjectMeta: meta, Spec: g.trafficSpec(targets)}
			p.Spec.PolicyTargetReferences = targets
			if !policyExists(g.snap.BackendTrafficPolicies, meta) {
				g.snap.BackendTrafficPolicies = append(g.snap.BackendTrafficPolicies, p)
			}
		case translate.KindClientTrafficPolicy:
			p := egv1a1.ClientTrafficPolicy{ObjectMeta: meta, Spec: g.clientSpec(ns)}
			p.Spec.PolicyTargetReferences = targets
			if !policyExists(g.snap.ClientTrafficPolicies, meta) {
				g.snap.ClientTrafficPolicies = append(g.snap.ClientTrafficPolicies, p)
			}
		case translate.KindEnvoyExtensionPolicy:
			p := egv1a1.EnvoyExtensionPolicy{ObjectMeta: meta, Spec: g.extensionSpec(ns, targets)}
			p.Spec.PolicyTargetReferences = targets
			if !policyExists(g.snap.EnvoyExtensionPolicies, meta) {
				g.snap.EnvoyExtensionPolicies = append(g.snap.EnvoyExtensionPolicies, p)
			}
		}
	}
}

// policyExists tells whether items holds an object named like meta (the API server allows one).
func policyExists[T any, P interface {
	*T
	GetNamespace() string
	GetName() string
}](items []T, meta metav1.ObjectMeta) bool {
	for i := range items {
		if p := P(&items[i]); p.GetNamespace() == meta.Namespace && p.GetName() == meta.Name {
			return true
		}
	}
	return false
}

// policyTargets are targetRefs to Gateways (listeners) and routes (rules) of the policy's
// namespace, or names found elsewhere, or the deprecated single targetRef, and targetSelectors by
// the shared labels; at least one target, as Envoy Gateway's CRDs require.
func (g *generator) policyTargets(kind, ns string) egv1a1.PolicyTargetReferences {
	c := g.c
	var refs egv1a1.PolicyTargetReferences
	if c.oneIn(8) {
		refs.TargetRef = ptr.To(g.targetRef(kind)) // not with targetRefs (CRD)
	} else {
		for n := c.count(2, 6); n > 0; n-- {
			refs.TargetRefs = append(refs.TargetRefs, g.targetRef(kind))
		}
	}
	for n := c.count(1, 3); n > 0; n-- {
		sel := egv1a1.TargetSelector{Kind: pick[gwapiv1.Kind](c, "HTTPRoute", "Gateway", "Service")}
		if c.oneIn(4) {
			sel.Group = ptr.To(gwapiv1.Group(gwapiv1.GroupName)) // the only group the CRD allows
		}
		for k, v := range g.someLabels() {
			if sel.MatchLabels == nil {
				sel.MatchLabels = map[string]string{}
			}
			sel.MatchLabels[k] = v
		}
		if c.oneIn(6) && len(g.labels) > 0 {
			l := g.labels[c.intn(len(g.labels))]
			sel.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: l[0], Operator: pick(c, metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists), Values: []string{l[1]}}}
			if sel.MatchExpressions[0].Operator == metav1.LabelSelectorOpExists {
				sel.MatchExpressions[0].Values = nil
			}
		}
		switch c.intn(5) {
		case 0:
			sel.Namespaces = &egv1a1.TargetSelectorNamespaces{From: egv1a1.TargetNamespaceFromAll}
			if c.bool() {
				// The grant a selector across namespaces needs, in another namespace.
				g.grant(g.namespace(), kind, ns, gwapiv1beta1.ReferenceGrantTo{Group: gwapiv1.GroupName, Kind: sel.Kind})
			}
		case 1:
			sel.Namespaces = &egv1a1.TargetSelectorNamespaces{From: egv1a1.TargetNamespaceFromSame}
		case 2:
			sel.Namespaces = &egv1a1.TargetSelectorNamespaces{From: egv1a1.TargetNamespaceFromSelector, Selector: &metav1.LabelSelector{MatchLabels: g.someLabels()}}
		}
		refs.TargetSelectors = append(refs.TargetSelectors, sel)
	}
	if refs.TargetRef == nil && len(refs.TargetRefs) == 0 && len(refs.TargetSelectors) == 0 {
		refs.TargetRefs = append(refs.TargetRefs, g.targetRef(kind))
	}
	return refs
}

// targetRef names a Gateway (a listener of it) or, except for a ClientTrafficPolicy, a route (a
// rule of it); targetRefs are local, so one of another namespace names nothing unless a
// same-named object exists here.
func (g *generator) targetRef(kind string) gwapiv1.LocalPolicyTargetReferenceWithSectionName {
	c := g.c
	ref := gwapiv1.LocalPolicyTargetReferenceWithSectionName{LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{Group: gwapiv1.GroupName}}
	var sections []string
	switch {
	case (c.bool() || kind == translate.KindClientTrafficPolicy) && len(g.snap.Gateways) > 0:
		gw := g.snap.Gateways[c.intn(len(g.snap.Gateways))]
		ref.Kind, ref.Name = "Gateway", gwapiv1.ObjectName(gw.Name)
		for _, l := range gw.Spec.Listeners {
			sections = append(sections, string(l.Name))
		}
	case len(g.snap.HTTPRoutes) > 0 && kind != translate.KindClientTrafficPolicy:
		r := g.snap.HTTPRoutes[c.intn(len(g.snap.HTTPRoutes))]
		ref.Kind, ref.Name = "HTTPRoute", gwapiv1.ObjectName(r.Name)
		for _, rule := range r.Spec.Rules {
			if rule.Name != nil {
				sections = append(sections, string(*rule.Name))
			}
		}
	default:
		ref.Kind, ref.Name = "Gateway", gwapiv1.ObjectName(c.subdomain())
	}
	switch c.intn(4) {
	case 0:
		if len(sections) > 0 {
			ref.SectionName = ptr.To(gwapiv1.SectionName(sections[c.intn(len(sections))]))
		}
	case 1:
		ref.SectionName = ptr.To(gwapiv1.SectionName(c.sectionName()))
	}
	return ref
}

// mergeType is a policy's mergeType: none, or (Envoy Gateway allows it only on policies that
// target routes alone) StrategicMerge or JSONMerge.
func (g *generator) mergeType(targets egv1a1.PolicyTargetReferences) *egv1a1.MergeType {
	t := pick(g.c, nil, ptr.To(egv1a1.StrategicMerge), ptr.To(egv1a1.JSONMerge))
	if !routesOnly(targets) {
		return nil
	}
	return t
}

// routesOnly tells whether every target of a policy is an HTTPRoute.
func routesOnly(targets egv1a1.PolicyTargetReferences) bool {
	for _, r := range targets.GetTargetRefs() {
		if r.Kind != "HTTPRoute" {
			return false
		}
	}
	for _, s := range targets.TargetSelectors {
		if s.Kind != "HTTPRoute" {
			return false
		}
	}
	return true
}

// secretRef references a Secret of the policy's namespace, implicitly or explicitly, or of
// another namespace.
func (g *generator) secretRef(ns string) gwapiv1.SecretObjectReference {
	ref := gwapiv1.SecretObjectReference{Name: gwapiv1.ObjectName(g.c.subdomain())}
	if g.c.bool() {
		ref.Namespace = ptr.To(gwapiv1.Namespace(pick(g.c, ns, g.namespace())))
	}
	return ref
}

// trafficSpec sets what the operator refuses on pool rules (loadBalancer, routingType Service),
// what it keeps (stream idle timeout), shared rate limits, and response overrides from ConfigMaps.
func (g *generator) trafficSpec(targets egv1a1.PolicyTargetReferences) egv1a1.BackendTrafficPolicySpec {
	c := g.c
	var spec egv1a1.BackendTrafficPolicySpec
	spec.MergeType = g.mergeType(targets)
	if c.oneIn(3) {
		spec.LoadBalancer = &egv1a1.LoadBalancer{Type: egv1a1.RoundRobinLoadBalancerType}
	}
	if c.oneIn(4) {
		spec.RoutingType = ptr.To(pick(c, egv1a1.ServiceRoutingType, egv1a1.EndpointRoutingType))
	}
	if c.oneIn(3) {
		spec.Timeout = &egv1a1.Timeout{HTTP: &egv1a1.HTTPTimeout{StreamIdleTimeout: maybe(c, gwapiv1.Duration("5m")), RequestTimeout: maybe(c, gwapiv1.Duration("30s"))}}
	}
	if c.oneIn(3) {
		spec.Retry = &egv1a1.Retry{NumRetries: ptr.To(int32(c.intn(5)))}
	}
	if c.oneIn(3) {
		rule := egv1a1.RateLimitRule{Limit: egv1a1.RateLimitValue{Requests: 10, Unit: egv1a1.RateLimitUnitSecond}, Shared: maybe(c, c.bool())}
		spec.RateLimit = &egv1a1.RateLimitSpec{Local: &egv1a1.LocalRateLimit{Rules: []egv1a1.RateLimitRule{rule}}}
		if c.bool() {
			spec.RateLimit = &egv1a1.RateLimitSpec{Global: &egv1a1.GlobalRateLimit{Rules: []egv1a1.RateLimitRule{rule}}}
		}
	}
	if c.oneIn(4) {
		body := &egv1a1.CustomResponseBody{Type: ptr.To(egv1a1.ResponseValueTypeInline), Inline: ptr.To(c.text(1000))}
		if c.bool() {
			body = &egv1a1.CustomResponseBody{Type: ptr.To(egv1a1.ResponseValueTypeValueRef), ValueRef: &gwapiv1.LocalObjectReference{Kind: "ConfigMap", Name: "body"}}
		}
		spec.ResponseOverride = []*egv1a1.ResponseOverride{{
			Match:    egv1a1.CustomResponseMatch{StatusCodes: []egv1a1.StatusCodeMatch{{Value: ptr.To(503)}}},
			Response: &egv1a1.CustomResponse{Body: body},
		}}
	}
	return spec
}

// clientSpec sets early request headers, the destination header among them, up to Envoy
// Gateway's 64 removals, and client certificate validation with CA Secrets here or elsewhere.
func (g *generator) clientSpec(ns string) egv1a1.ClientTrafficPolicySpec {
	c := g.c
	var spec egv1a1.ClientTrafficPolicySpec
	if c.bool() {
		h := &egv1a1.HTTPHeaderFilter{}
		if c.bool() {
			h.Set = []gwapiv1.HTTPHeader{{Name: pick[gwapiv1.HTTPHeaderName](c, translate.DestinationHeader, "X-Gateway-Destination-Endpoint", "x-other"), Value: c.headerValue(4096)}}
		}
		for n := c.count(2, 64); n > 0; n-- {
			name := fmt.Sprintf("x-h%d", n)
			if c.oneIn(8) {
				name = pick(c, translate.DestinationHeader, "X-GATEWAY-DESTINATION-ENDPOINT")
			}
			if !slices.Contains(h.Remove, name) {
				h.Remove = append(h.Remove, name)
			}
		}
		spec.Headers = &egv1a1.HeaderSettings{EarlyRequestHeaders: h}
	}
	if c.oneIn(3) {
		v := &egv1a1.ClientValidationContext{}
		for n := c.between(1, 3); n > 0; n-- {
			v.CACertificateRefs = append(v.CACertificateRefs, g.secretRef(ns))
		}
		spec.TLS = &egv1a1.ClientTLSSettings{ClientValidation: v}
	}
	return spec
}

// extensionSpec sets up to 16 ext_procs (backends here or there), Wasm code with pull secrets, Lua inline (any text) or from a ConfigMap, dynamic modules.
func (g *generator) extensionSpec(ns string, targets egv1a1.PolicyTargetReferences) egv1a1.EnvoyExtensionPolicySpec {
	c := g.c
	var spec egv1a1.EnvoyExtensionPolicySpec
	spec.MergeType = g.mergeType(targets)
	for n := c.count(2, 16); n > 0; n-- {
		ref := gwapiv1.BackendObjectReference{Name: gwapiv1.ObjectName(c.dns1035Label()), Port: ptr.To(gwapiv1.PortNumber(9000))}
		if c.oneIn(3) {
			ref.Namespace = ptr.To(gwapiv1.Namespace(pick(c, ns, g.namespace())))
		}
		if c.oneIn(4) {
			ref.Group, ref.Kind = ptr.To(gwapiv1.Group("gateway.envoyproxy.io")), ptr.To(gwapiv1.Kind("Backend"))
		}
		// Not the deprecated single backendRef: Envoy Gateway's CRD refuses it.
		ep := egv1a1.ExtProc{BackendCluster: egv1a1.BackendCluster{BackendRefs: []egv1a1.BackendRef{{BackendObjectReference: ref}}}}
		spec.ExtProc = append(spec.ExtProc, ep)
	}
	if c.oneIn(4) {
		pull := g.secretRef(ns)
		spec.Wasm = []egv1a1.Wasm{{Code: egv1a1.WasmCodeSource{Type: egv1a1.ImageWasmCodeSourceType, Image: &egv1a1.ImageWasmCodeSource{URL: "oci://example.com/wasm", PullSecretRef: &pull}}}}
	}
	if c.oneIn(3) {
		lua := egv1a1.Lua{Type: egv1a1.LuaValueTypeInline, Inline: ptr.To(c.text(4096))}
		if c.bool() {
			lua = egv1a1.Lua{Type: egv1a1.LuaValueTypeValueRef, ValueRef: &gwapiv1.LocalObjectReference{Kind: "ConfigMap", Name: "lua"}}
		}
		spec.Lua = []egv1a1.Lua{lua}
	}
	if c.oneIn(5) {
		spec.DynamicModule = []egv1a1.DynamicModule{{Name: "mod"}}
	}
	return spec
}
