package translate_test

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// The CRDs' rules (OpenAPI and CEL) that the generator once broke, or that the invariants depend
// on: each was checked against the real CRDs by dry-run creates on a test API server.

// specCheck collects what the CRDs' validation would refuse.
type specCheck []string

func (p *specCheck) check(ok bool, format string, args ...any) {
	if !ok {
		*p = append(*p, fmt.Sprintf(format, args...))
	}
}

// specProblems lists what the CRDs' validation would refuse in the fields the translation uses.
func specProblems(obj client.Object) []string {
	var p specCheck
	switch o := obj.(type) {
	case *gwapiv1.Gateway:
		p.gateway(o)
	case *gwapiv1.HTTPRoute:
		p.route(o)
	case *giev1.InferencePool:
		p.pool(o)
	case *v1alpha1.InferenceGatewayParameters:
		if t := o.Spec.RouteTimeouts; t != nil && t.Request != nil && t.BackendRequest != nil && *t.Request != "0s" {
			req, err1 := time.ParseDuration(string(*t.Request))
			backend, err2 := time.ParseDuration(string(*t.BackendRequest))
			p.check(err1 != nil || err2 != nil || backend <= req, "backendRequest longer than request")
		}
	case *egv1a1.ClientTrafficPolicy:
		if h := o.Spec.Headers; h != nil && h.EarlyRequestHeaders != nil {
			e := h.EarlyRequestHeaders
			p.check(len(e.Set) <= 64 && len(e.Add) <= 64 && len(e.Remove) <= 64, "more than 64 early request headers")
			p.headerValues("early request headers", append(append([]gwapiv1.HTTPHeader{}, e.Set...), e.Add...)...)
		}
	case *egv1a1.EnvoyExtensionPolicy:
		s := o.Spec
		p.check(len(s.ExtProc) <= 16 && len(s.Wasm) <= 16 && len(s.Lua) <= 16 && len(s.DynamicModule) <= 16, "more than 16 extensions of a type")
		for _, ep := range s.ExtProc {
			p.check(ep.BackendRef == nil, "BackendRefs must be used, backendRef is not supported")
		}
	}
	if refs, status, ok := policyParts(obj); ok {
		p.policy(obj, refs, status)
	}
	return p
}

func (p *specCheck) gateway(o *gwapiv1.Gateway) {
	p.check(len(o.Spec.Listeners) >= 1 && len(o.Spec.Listeners) <= 64, "not 1 to 64 listeners")
	names, combos := map[gwapiv1.SectionName]bool{}, map[string]bool{}
	for _, l := range o.Spec.Listeners {
		p.check(isSection(l.Name) && !names[l.Name], "listener name %q invalid or repeated", l.Name)
		names[l.Name] = true
		combo := fmt.Sprintf("%d/%s/%s", l.Port, l.Protocol, ptrValue(l.Hostname))
		p.check(!combos[combo], "two listeners on %s", combo)
		combos[combo] = true
	}
	p.conditions("status", o.Status.Conditions)
	p.check(len(o.Status.Listeners) <= 64 && len(o.Status.Addresses) <= 16, "status lists too long")
	for _, l := range o.Status.Listeners {
		p.conditions("listener status", l.Conditions)
	}
}

func (p *specCheck) route(o *gwapiv1.HTTPRoute) {
	p.check(len(o.Spec.ParentRefs) <= 32 && len(o.Spec.Rules) <= 16, "more than 32 parentRefs or 16 rules")
	for i, ref := range o.Spec.ParentRefs {
		p.check(ref.SectionName == nil || isSection(*ref.SectionName), "parentRef sectionName %q", ptrValue(ref.SectionName))
		p.check(parentRefAllowed(o.Spec.ParentRefs[:i], ref), "parentRef %s repeats a parent without a distinct sectionName or port", ref.Name)
	}
	ruleNames := map[gwapiv1.SectionName]bool{}
	for _, r := range o.Spec.Rules {
		// Unique names: the experimental channel's rule, which Envoy Gateway installs.
		p.check(r.Name == nil || (isSection(*r.Name) && !ruleNames[*r.Name]), "rule name %q invalid or repeated", ptrValue(r.Name))
		if r.Name != nil {
			ruleNames[*r.Name] = true
		}
		for _, m := range r.Matches {
			for _, h := range m.Headers {
				p.headerValues("header match", gwapiv1.HTTPHeader{Name: h.Name, Value: h.Value})
			}
		}
		p.check(len(r.BackendRefs) <= 16, "more than 16 backendRefs")
		p.filters("rule filter", r.Filters)
		for _, b := range r.BackendRefs {
			p.check(b.Weight == nil || (*b.Weight >= 0 && *b.Weight <= 1000000), "weight %d", ptrValue(b.Weight))
			p.filters("backendRef filter", b.Filters)
		}
	}
	p.check(len(o.Status.Parents) <= 32, "more than 32 status parents")
	for _, parent := range o.Status.Parents {
		p.conditions("parent status", parent.Conditions)
	}
}

func (p *specCheck) pool(o *giev1.InferencePool) {
	p.check(len(o.Spec.TargetPorts) >= 1 && len(o.Spec.TargetPorts) <= 8, "not 1 to 8 targetPorts")
	for i, port := range o.Spec.TargetPorts {
		p.check(port.Number >= 1 && port.Number <= 65535 && !slices.Contains(o.Spec.TargetPorts[:i], port), "targetPort %d invalid or repeated", port.Number)
	}
	for k, v := range o.Spec.Selector.MatchLabels {
		p.check(len(validation.IsQualifiedName(string(k)))+len(validation.IsValidLabelValue(string(v))) == 0, "selector label %s=%s", k, v)
	}
	if e := o.Spec.EndpointPickerRef; e != nil {
		p.check(e.Port != nil || (e.Kind != "" && e.Kind != "Service"), "endpointPickerRef to a Service without a port")
		p.check(e.Port == nil || (e.Port.Number >= 1 && e.Port.Number <= 65535), "endpointPickerRef port %d", ptrValue(e.Port).Number)
	}
}

// policy applies Envoy Gateway's CEL rules on targets (to the user's policies: the golden inputs
// abbreviate the spec of generated ones, which stand for what the cluster holds) and Gateway
// API's limits on the status.
func (p *specCheck) policy(obj client.Object, refs egv1a1.PolicyTargetReferences, status gwapiv1.PolicyStatus) {
	user := obj.GetLabels()[translate.LabelManagedBy] != translate.ManagedByValue
	p.check(!user || (refs.TargetRef != nil) != (len(refs.TargetRefs) > 0) || len(refs.TargetSelectors) > 0, "either targetRef or targetRefs must be used")
	kinds := policyTargetKinds[fmt.Sprintf("%T", obj)]
	for _, r := range refs.GetTargetRefs() {
		p.check(r.Group == gwapiv1.GroupName && slices.Contains(kinds, string(r.Kind)), "targetRef %s.%s", r.Kind, r.Group)
		p.check(r.SectionName == nil || isSection(*r.SectionName), "targetRef sectionName %q", ptrValue(r.SectionName))
	}
	for _, s := range refs.TargetSelectors {
		p.check(s.Group == nil || *s.Group == gwapiv1.GroupName, "targetSelector group")
		p.check(s.Namespaces == nil || s.Namespaces.From != egv1a1.TargetNamespaceFromSelector || s.Namespaces.Selector != nil, "targetSelector namespaces from Selector without a selector")
		p.check(len(metav1validation.ValidateLabels(s.MatchLabels, field.NewPath("matchLabels"))) == 0, "targetSelector labels")
	}
	p.check(mergeType(obj) == nil || routesOnly(refs), "mergeType can only be used with xRoute targets")
	p.check(len(status.Ancestors) <= 16, "more than 16 status ancestors")
	for _, a := range status.Ancestors {
		p.conditions("ancestor status", a.Conditions)
	}
}

func isSection(s gwapiv1.SectionName) bool {
	return len(validation.IsDNS1123Subdomain(string(s))) == 0
}

// conditions: at most 8, each valid (a timestamp given where the writer has not set one yet).
func (p *specCheck) conditions(where string, conds []metav1.Condition) {
	p.check(len(conds) <= 8, "%s: more than 8 conditions", where)
	for _, c := range conds {
		if c.LastTransitionTime.IsZero() {
			c.LastTransitionTime = metav1.Unix(1, 0)
		}
		p.check(len(metav1validation.ValidateCondition(c, field.NewPath(where))) == 0, "%s: invalid condition %s", where, c.Type)
	}
}

// filters: Gateway API's 16 headers a header filter, and its header values.
func (p *specCheck) filters(where string, filters []gwapiv1.HTTPRouteFilter) {
	for _, f := range filters {
		if h := f.RequestHeaderModifier; h != nil {
			p.check(len(h.Set) <= 16 && len(h.Add) <= 16 && len(h.Remove) <= 16, "%s: more than 16 headers", where)
			p.headerValues(where, append(append([]gwapiv1.HTTPHeader{}, h.Set...), h.Add...)...)
		}
	}
}

func (p *specCheck) headerValues(where string, headers ...gwapiv1.HTTPHeader) {
	for _, h := range headers {
		p.check(headerValue.MatchString(h.Value) && len(h.Value) <= 4096, "%s: header value %q", where, h.Value)
	}
}

// headerValue is Gateway API's pattern of header values: printable ASCII, words separated by a
// space or a tab.
var headerValue = regexp.MustCompile(`^[!-~]+([\t ]?[!-~]+)*$`)

// policyTargetKinds are the kinds Envoy Gateway's CRDs let each policy type target.
var policyTargetKinds = map[string][]string{
	"*v1alpha1.SecurityPolicy":       {"Gateway", "ListenerSet", "HTTPRoute", "GRPCRoute", "TCPRoute"},
	"*v1alpha1.BackendTrafficPolicy": {"Gateway", "ListenerSet", "HTTPRoute", "GRPCRoute", "UDPRoute", "TCPRoute", "TLSRoute"},
	"*v1alpha1.EnvoyExtensionPolicy": {"Gateway", "ListenerSet", "HTTPRoute", "GRPCRoute", "UDPRoute", "TCPRoute", "TLSRoute"},
	"*v1alpha1.ClientTrafficPolicy":  {"Gateway", "ListenerSet"},
}

// mergeType is the mergeType of a policy that has one.
func mergeType(obj client.Object) *egv1a1.MergeType {
	switch o := obj.(type) {
	case *egv1a1.SecurityPolicy:
		return o.Spec.MergeType
	case *egv1a1.BackendTrafficPolicy:
		return o.Spec.MergeType
	case *egv1a1.EnvoyExtensionPolicy:
		return o.Spec.MergeType
	}
	return nil
}

// policyParts returns the targets and status of a policy of a carried-over kind.
func policyParts(obj client.Object) (egv1a1.PolicyTargetReferences, gwapiv1.PolicyStatus, bool) {
	switch o := obj.(type) {
	case *egv1a1.SecurityPolicy:
		return o.Spec.PolicyTargetReferences, o.Status, true
	case *egv1a1.BackendTrafficPolicy:
		return o.Spec.PolicyTargetReferences, o.Status, true
	case *egv1a1.ClientTrafficPolicy:
		return o.Spec.PolicyTargetReferences, o.Status, true
	case *egv1a1.EnvoyExtensionPolicy:
		return o.Spec.PolicyTargetReferences, o.Status, true
	}
	return egv1a1.PolicyTargetReferences{}, gwapiv1.PolicyStatus{}, false
}
