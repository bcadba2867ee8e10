package translate_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// output indexes a translation's generated objects.
type output struct {
	byKey  map[string]client.Object // kindKey
	objs   []client.Object
	grants []gwapiv1beta1.ReferenceGrant
}

func indexOutput(objs []client.Object) output {
	o := output{byKey: map[string]client.Object{}, objs: objs}
	for _, obj := range objs {
		o.byKey[kindKey(obj)] = obj
		if g, ok := obj.(*gwapiv1beta1.ReferenceGrant); ok {
			o.grants = append(o.grants, *g)
		}
	}
	return o
}

// checkReferences checks what generated objects point at: every policy targets generated objects
// (and their listeners or rules) only, except the BackendTLSPolicy, which targets the user's EPP
// Service; every generated route's parents are generated Gateways; every cross-namespace
// reference to something the operator generated is allowed by a generated ReferenceGrant; the
// user's references the operator carries into other namespaces still point at the same objects;
// and the lists the operator adds to stay within the API's maxima.
func checkReferences(t *testing.T, snap *translate.Snapshot, objs []client.Object) {
	t.Helper()
	out := indexOutput(objs)
	for _, obj := range objs {
		key := kindKey(obj)
		switch o := obj.(type) {
		case *gwapiv1.HTTPRoute:
			checkRoute(t, o, out)
		case *gwapiv1.GRPCRoute:
			checkGRPCRoute(t, o, out)
		case *egv1a1.SecurityPolicy:
			checkPolicyTargets(t, snap, obj, translate.KindSecurityPolicy, o.Spec.PolicyTargetReferences, out)
		case *egv1a1.BackendTrafficPolicy:
			checkPolicyTargets(t, snap, obj, translate.KindBackendTrafficPolicy, o.Spec.PolicyTargetReferences, out)
		case *egv1a1.ClientTrafficPolicy:
			checkPolicyTargets(t, snap, obj, translate.KindClientTrafficPolicy, o.Spec.PolicyTargetReferences, out)
			if h := o.Spec.Headers; h != nil && h.EarlyRequestHeaders != nil {
				e := h.EarlyRequestHeaders
				maxItems(t, key+" earlyRequestHeaders", 64, len(e.Set), len(e.Add), len(e.Remove))
			}
			if sourceKind(obj) == "Gateway" && o.Spec.TLS != nil && o.Spec.TLS.ClientValidation != nil {
				for _, ref := range o.Spec.TLS.ClientValidation.CACertificateRefs {
					checkCarriedRef(t, snap, obj, translate.KindClientTrafficPolicy, secretTarget(ref, obj.GetNamespace()), out)
				}
			}
		case *egv1a1.EnvoyExtensionPolicy:
			checkPolicyTargets(t, snap, obj, translate.KindEnvoyExtensionPolicy, o.Spec.PolicyTargetReferences, out)
			maxItems(t, key+" extensions", 16, len(o.Spec.ExtProc), len(o.Spec.Wasm), len(o.Spec.Lua), len(o.Spec.DynamicModule))
			if sourceKind(obj) == translate.InferencePoolKind {
				for _, ep := range o.Spec.ExtProc {
					for _, ref := range extProcRefs(ep) {
						checkCarriedRef(t, snap, obj, translate.KindEnvoyExtensionPolicy, backendTarget(ref, obj.GetNamespace()), out)
					}
				}
			}
		case *gwapiv1.BackendTLSPolicy:
			for _, ref := range o.Spec.TargetRefs {
				if ref.Group != "" || ref.Kind != "Service" || snap.Service(types.NamespacedName{Namespace: o.Namespace, Name: string(ref.Name)}) == nil {
					t.Errorf("%s targets %s %s/%s, which is not a Service of the snapshot", key, ref.Kind, o.Namespace, ref.Name)
				}
			}
		}
	}
}

func sourceKind(obj client.Object) string {
	kind, _, _ := strings.Cut(obj.GetAnnotations()[translate.AnnotationSource], "/")
	return kind
}

func maxItems(t *testing.T, where string, max int, lens ...int) {
	t.Helper()
	for _, n := range lens {
		if n > max {
			t.Errorf("%s: a list of %d items, the API allows %d", where, n, max)
		}
	}
}

// checkRoute: parents are generated Gateways; at most 16 backendRefs a rule with weights in
// [0, 1000000]; header filters within Gateway API's 16 entries; cross-namespace refs to
// generated Services granted.
func checkRoute(t *testing.T, r *gwapiv1.HTTPRoute, out output) {
	t.Helper()
	key := kindKey(r)
	for _, p := range r.Spec.ParentRefs {
		gw := translate.ParentGateway(p, r.Namespace)
		if !translate.IsGatewayParentRef(p) || out.byKey["Gateway/"+gw.String()] == nil {
			t.Errorf("%s: parentRef %s is not a generated Gateway", key, gw)
		}
	}
	headerLimits := func(where string, filters []gwapiv1.HTTPRouteFilter) {
		for _, f := range filters {
			for _, h := range []*gwapiv1.HTTPHeaderFilter{f.RequestHeaderModifier, f.ResponseHeaderModifier} {
				if h != nil {
					maxItems(t, where, 16, len(h.Set), len(h.Add), len(h.Remove))
				}
			}
		}
	}
	for i, rule := range r.Spec.Rules {
		where := key + " rule " + ruleLabel(rule, i)
		if len(rule.BackendRefs) > 16 {
			t.Errorf("%s: %d backendRefs, Gateway API allows 16", where, len(rule.BackendRefs))
		}
		headerLimits(where+" filters", rule.Filters)
		for _, br := range rule.BackendRefs {
			if br.Weight != nil && (*br.Weight < 0 || *br.Weight > 1000000) {
				t.Errorf("%s: backendRef %s weight %d is outside [0, 1000000]", where, br.Name, *br.Weight)
			}
			headerLimits(where+" backendRef "+string(br.Name)+" filters", br.Filters)
			ref := backendTarget(br.BackendObjectReference, r.Namespace)
			if ref.namespace != r.Namespace && out.byKey[ref.kind+"/"+ref.namespace+"/"+ref.name] != nil &&
				!translate.ReferencePermitted(out.grants, gwapiv1.GroupName, "HTTPRoute", r.Namespace, ref.group, ref.kind, ref.namespace, ref.name) {
				t.Errorf("%s: backendRef to generated %s %s/%s is not allowed by a generated ReferenceGrant", where, ref.kind, ref.namespace, ref.name)
			}
		}
	}
}

// checkGRPCRoute: a GRPCRoute copy whose rules reach pools has at most 16 backendRefs a rule,
// and its cross-namespace refs to generated Services (shadow Services) are granted to
// GRPCRoutes.
func checkGRPCRoute(t *testing.T, r *gwapiv1.GRPCRoute, out output) {
	t.Helper()
	for i, rule := range r.Spec.Rules {
		where := fmt.Sprintf("%s rule #%d", kindKey(r), i)
		if rule.Name == nil {
			t.Errorf("%s: unnamed, so the pool's policies cannot target it", where)
		}
		if len(rule.BackendRefs) > 16 {
			t.Errorf("%s: %d backendRefs, Gateway API allows 16", where, len(rule.BackendRefs))
		}
		for _, br := range rule.BackendRefs {
			if translate.IsPoolRef(br.BackendObjectReference) {
				t.Errorf("%s: the copy still names InferencePool %s, which Envoy Gateway cannot read", where, br.Name)
			}
			ref := backendTarget(br.BackendObjectReference, r.Namespace)
			if ref.namespace != r.Namespace && out.byKey[ref.kind+"/"+ref.namespace+"/"+ref.name] != nil &&
				!translate.ReferencePermitted(out.grants, gwapiv1.GroupName, "GRPCRoute", r.Namespace, ref.group, ref.kind, ref.namespace, ref.name) {
				t.Errorf("%s: backendRef to generated %s %s/%s is not allowed by a generated ReferenceGrant", where, ref.kind, ref.namespace, ref.name)
			}
		}
	}
}

func ruleLabel(rule gwapiv1.HTTPRouteRule, i int) string {
	if rule.Name != nil {
		return string(*rule.Name)
	}
	return "#" + strconv.Itoa(i)
}

// checkPolicyTargets: targetRefs name generated Gateways and routes of the policy's namespace
// (with a listener or rule they have); targetSelectors select at least one generated object, in
// other namespaces only where a generated ReferenceGrant allows it.
func checkPolicyTargets(t *testing.T, snap *translate.Snapshot, obj client.Object, kind string, refs egv1a1.PolicyTargetReferences, out output) {
	t.Helper()
	key, ns := kindKey(obj), obj.GetNamespace()
	if len(refs.GetTargetRefs())+len(refs.TargetSelectors) == 0 {
		t.Errorf("%s targets nothing", key)
	}
	for _, r := range refs.GetTargetRefs() {
		target := out.byKey[string(r.Kind)+"/"+ns+"/"+string(r.Name)]
		if r.Group != gwapiv1.GroupName || target == nil {
			t.Errorf("%s targets %s.%s %s/%s, which is not generated", key, r.Kind, r.Group, ns, r.Name)
			continue
		}
		if r.SectionName != nil && !hasSection(target, string(*r.SectionName)) {
			t.Errorf("%s targets section %q of %s, which it does not have", key, *r.SectionName, kindKey(target))
		}
	}
	for _, sel := range refs.TargetSelectors {
		selector, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchLabels: sel.MatchLabels, MatchExpressions: sel.MatchExpressions})
		if err != nil {
			t.Errorf("%s: invalid targetSelector: %v", key, err)
			continue
		}
		matched := 0
		for _, o := range out.objs {
			if o.GetObjectKind().GroupVersionKind().Kind != string(sel.Kind) || !selectorNamespace(snap, sel, ns, o.GetNamespace()) || !selector.Matches(labels.Set(o.GetLabels())) {
				continue
			}
			matched++
			if o.GetNamespace() != ns && !translate.ReferencePermitted(out.grants, egv1a1.GroupName, kind, ns, gwapiv1.GroupName, string(sel.Kind), o.GetNamespace(), o.GetName()) {
				t.Errorf("%s selects %s in another namespace without a generated ReferenceGrant allowing it", key, kindKey(o))
			}
		}
		if matched == 0 {
			t.Errorf("%s: a targetSelector of kind %s selects no generated object", key, sel.Kind)
		}
	}
}

// selectorNamespace applies a targetSelector's namespaces field, as Envoy Gateway does.
func selectorNamespace(snap *translate.Snapshot, sel egv1a1.TargetSelector, policyNS, ns string) bool {
	if sel.Namespaces == nil || sel.Namespaces.From == egv1a1.TargetNamespaceFromSame {
		return ns == policyNS
	}
	if sel.Namespaces.From == egv1a1.TargetNamespaceFromAll {
		return true
	}
	selector, err := metav1.LabelSelectorAsSelector(sel.Namespaces.Selector)
	if err != nil {
		return false
	}
	for _, n := range snap.Namespaces {
		if n.Name == ns {
			return selector.Matches(labels.Set(n.Labels))
		}
	}
	return false
}

// hasSection tells whether a generated Gateway has the listener, or a generated route the rule.
func hasSection(obj client.Object, section string) bool {
	switch o := obj.(type) {
	case *gwapiv1.Gateway:
		for _, l := range o.Spec.Listeners {
			if string(l.Name) == section {
				return true
			}
		}
	case *gwapiv1.HTTPRoute:
		for _, r := range o.Spec.Rules {
			if r.Name != nil && string(*r.Name) == section {
				return true
			}
		}
	default:
		if k := translate.CopiedRouteKindOf(obj.GetObjectKind().GroupVersionKind().Kind); k != nil {
			return slices.Contains(k.RuleNames(obj), section)
		}
	}
	return false
}
