package translate_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// admissible tells whether the API server would accept every object of snap, as far as the
// invariants depend on it: metadata (names, labels, annotations), the names and list sizes the
// translation copies or adds to, weights, ports, and the conditions Envoy Gateway wrote. The
// operator only ever sees accepted objects, so the invariants are promised for those; the YAML
// target skips the rest, and the generator must never make any.
func admissible(snap *translate.Snapshot) error {
	var errs []error
	fail := func(obj client.Object, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%T %s/%s: %s", obj, obj.GetNamespace(), obj.GetName(), fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	for _, obj := range snapshotObjects(snap) {
		if seen[typedKey(obj)] {
			fail(obj, "a second object of that kind and name")
		}
		seen[typedKey(obj)] = true
		nameFn, namespaced := apivalidation.NameIsDNSSubdomain, true
		switch obj.(type) {
		case *corev1.Service:
			nameFn = apivalidation.NameIsDNS1035Label
		case *corev1.Namespace:
			nameFn, namespaced = apivalidation.ValidateNamespaceName, false
		case *gwapiv1.GatewayClass, *v1alpha1.InferenceGatewayParameters:
			namespaced = false
		}
		if list := apivalidation.ValidateObjectMetaAccessor(obj, namespaced, nameFn, field.NewPath("metadata")); len(list) > 0 {
			fail(obj, "%v", list.ToAggregate())
		}
		if obj.GetUID() == "" {
			fail(obj, "no uid (the API server always sets one)")
		}
		for _, problem := range specProblems(obj) {
			fail(obj, "%s", problem)
		}
	}
	return errors.Join(errs...)
}

// fillUIDs gives every object of snap without a UID one, as the API server would have: golden
// inputs leave out the UIDs nothing refers to.
func fillUIDs(snap *translate.Snapshot) {
	for _, obj := range snapshotObjects(snap) {
		if obj.GetUID() == "" {
			obj.SetUID(types.UID(typedKey(obj)))
		}
	}
}

// typedKey is "Type/namespace/name" (the snapshot's typed objects carry no kind).
func typedKey(obj client.Object) string {
	return fmt.Sprintf("%T/%s/%s", obj, obj.GetNamespace(), obj.GetName())
}

// snapshotObjects lists every object of snap (every exported list, by reflection, so lists the
// Snapshot gains later are checked too).
func snapshotObjects(snap *translate.Snapshot) []client.Object {
	var out []client.Object
	v := reflect.ValueOf(snap).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() || f.Kind() != reflect.Slice {
			continue
		}
		for j := 0; j < f.Len(); j++ {
			if obj, ok := f.Index(j).Addr().Interface().(client.Object); ok {
				out = append(out, obj)
			}
		}
	}
	return out
}

// specProblems lists what the CRDs' validation would refuse in the fields the translation uses.
func specProblems(obj client.Object) []string {
	var out []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	section := func(s gwapiv1.SectionName) bool { return len(validation.IsDNS1123Subdomain(string(s))) == 0 }
	conditions := func(where string, conds []metav1.Condition) {
		check(len(conds) <= 8, "%s: more than 8 conditions", where)
		for _, c := range conds {
			if c.LastTransitionTime.IsZero() {
				c.LastTransitionTime = metav1.Unix(1, 0)
			}
			check(len(metav1validation.ValidateCondition(c, field.NewPath(where))) == 0, "%s: invalid condition %s", where, c.Type)
		}
	}
	headers := func(where string, max int, h *gwapiv1.HTTPHeaderFilter) {
		if h != nil {
			check(len(h.Set) <= max && len(h.Add) <= max && len(h.Remove) <= max, "%s: more than %d headers", where, max)
		}
	}
	switch o := obj.(type) {
	case *gwapiv1.Gateway:
		check(len(o.Spec.Listeners) <= 64, "more than 64 listeners")
		names := map[gwapiv1.SectionName]bool{}
		for _, l := range o.Spec.Listeners {
			check(section(l.Name) && !names[l.Name], "listener name %q invalid or repeated", l.Name)
			names[l.Name] = true
		}
		conditions("status", o.Status.Conditions)
		check(len(o.Status.Listeners) <= 64 && len(o.Status.Addresses) <= 16, "status lists too long")
		for _, l := range o.Status.Listeners {
			conditions("listener status", l.Conditions)
		}
	case *gwapiv1.HTTPRoute:
		check(len(o.Spec.ParentRefs) <= 32 && len(o.Spec.Rules) <= 16, "more than 32 parentRefs or 16 rules")
		for _, p := range o.Spec.ParentRefs {
			check(p.SectionName == nil || section(*p.SectionName), "parentRef sectionName %q", ptrValue(p.SectionName))
		}
		for _, r := range o.Spec.Rules {
			check(r.Name == nil || section(*r.Name), "rule name %q", ptrValue(r.Name))
			check(len(r.BackendRefs) <= 16, "more than 16 backendRefs")
			for _, f := range r.Filters {
				headers("rule filter", 16, f.RequestHeaderModifier)
			}
			for _, b := range r.BackendRefs {
				check(b.Weight == nil || (*b.Weight >= 0 && *b.Weight <= 1000000), "weight %d", ptrValue(b.Weight))
				for _, f := range b.Filters {
					headers("backendRef filter", 16, f.RequestHeaderModifier)
				}
			}
		}
		check(len(o.Status.Parents) <= 32, "more than 32 status parents")
		for _, p := range o.Status.Parents {
			conditions("parent status", p.Conditions)
		}
	case *giev1.InferencePool:
		check(len(o.Spec.TargetPorts) <= 8, "more than 8 targetPorts")
		for _, p := range o.Spec.TargetPorts {
			check(p.Number >= 1 && p.Number <= 65535, "targetPort %d", p.Number)
		}
		for k, v := range o.Spec.Selector.MatchLabels {
			check(len(validation.IsQualifiedName(string(k)))+len(validation.IsValidLabelValue(string(v))) == 0, "selector label %s=%s", k, v)
		}
		if e := o.Spec.EndpointPickerRef; e != nil && e.Port != nil {
			check(e.Port.Number >= 1 && e.Port.Number <= 65535, "endpointPickerRef port %d", e.Port.Number)
		}
	case *egv1a1.ClientTrafficPolicy:
		if h := o.Spec.Headers; h != nil && h.EarlyRequestHeaders != nil {
			e := h.EarlyRequestHeaders
			check(len(e.Set) <= 64 && len(e.Add) <= 64 && len(e.Remove) <= 64, "more than 64 early request headers")
		}
	case *egv1a1.EnvoyExtensionPolicy:
		s := o.Spec
		check(len(s.ExtProc) <= 16 && len(s.Wasm) <= 16 && len(s.Lua) <= 16 && len(s.DynamicModule) <= 16, "more than 16 extensions of a type")
		for _, ep := range s.ExtProc {
			check(ep.BackendRef == nil, "BackendRefs must be used, backendRef is not supported")
		}
	}
	if refs, status, ok := policyParts(obj); ok {
		// Envoy Gateway's CEL rules on targets (the golden inputs abbreviate the spec of
		// generated policies, which stand for what the cluster holds: only the user's count).
		user := obj.GetLabels()[translate.LabelManagedBy] != translate.ManagedByValue
		check(!user || (refs.TargetRef != nil) != (len(refs.TargetRefs) > 0) || len(refs.TargetSelectors) > 0, "either targetRef or targetRefs must be used")
		kinds := policyTargetKinds[fmt.Sprintf("%T", obj)]
		for _, r := range refs.GetTargetRefs() {
			check(r.Group == gwapiv1.GroupName && slices.Contains(kinds, string(r.Kind)), "targetRef %s.%s", r.Kind, r.Group)
			check(r.SectionName == nil || section(*r.SectionName), "targetRef sectionName %q", ptrValue(r.SectionName))
		}
		for _, s := range refs.TargetSelectors {
			check(s.Group == nil || *s.Group == gwapiv1.GroupName, "targetSelector group")
			check(s.Namespaces == nil || s.Namespaces.From != egv1a1.TargetNamespaceFromSelector || s.Namespaces.Selector != nil, "targetSelector namespaces from Selector without a selector")
			check(len(metav1validation.ValidateLabels(s.MatchLabels, field.NewPath("matchLabels"))) == 0, "targetSelector labels")
		}
		check(mergeType(obj) == nil || routesOnly(refs), "mergeType can only be used with xRoute targets")
		check(len(status.Ancestors) <= 16, "more than 16 status ancestors")
		for _, a := range status.Ancestors {
			conditions("ancestor status", a.Conditions)
		}
	}
	return out
}

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

// ptrValue is *p, or the zero value for nil.
func ptrValue[T any](p *T) T {
	var zero T
	return ptr.Deref(p, zero)
}
