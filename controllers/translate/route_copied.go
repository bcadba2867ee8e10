package translate

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// A GRPCRoute, TLSRoute, TCPRoute or UDPRoute on our Gateways is served as Envoy Gateway would
// serve it on a Gateway of its own class: by a copy on the generated Gateway. The copy keeps the
// spec as the user wrote it (rules, hostnames, filters, backendRefs, and each parentRef's
// sectionName and port) with the parentRefs renamed to the generated Gateways; parents that are
// not served Gateways of ours are dropped, as for HTTPRoutes.
//
// A GRPCRoute rule may send traffic to InferencePools of gRPC model servers (appProtocol
// kubernetes.io/h2c): in its copy, every rule is named (as in a generated HTTPRoute, so the
// pool's policies can target it) and a pool rule's backendRefs become the shadow Service refs
// an HTTPRoute rule gets (route_backendrefs.go). The pool's policies bring the rest
// (pool_policies.go). The other kinds carry no HTTP: a ref to a pool sends its share nowhere.

// ForCopiedRoute renders the Envoy Gateway copy of a route of kind k on our Gateways, and the
// route's status entries for those Gateways: Envoy Gateway's verdict on the copy, mirrored.
func ForCopiedRoute(s *Snapshot, k *CopiedRouteKind, route client.Object) RouteResult {
	var res RouteResult
	desired, events := copiedRoute(s, k, route)
	parents, _ := k.Parts(route)
	in := mirrorInput{kind: k.Kind, route: route, parentRefs: *parents}
	if desired != nil {
		res.Objects = []client.Object{desired}
		nn := types.NamespacedName{Namespace: route.GetNamespace(), Name: desired.GetName()}
		if generated := k.find(s, nn); isCurrent(generated, desired) {
			_, verdict := k.Parts(generated)
			in.verdict, in.verdictGeneration = verdict, generated.GetGeneration()
		}
	}
	for _, ref := range k.BackendRefs(route) {
		if !IsPoolRef(ref.BackendObjectReference) {
			continue
		}
		if !k.ReachesPools() {
			in.refProblem(gwapiv1.RouteReasonInvalidKind, fmt.Sprintf(
				"backendRef InferencePool %s: InferencePools are served on HTTPRoute and GRPCRoute rules only, a %s cannot reach one; its share of traffic goes nowhere",
				RefNamespace(ref.BackendObjectReference, route.GetNamespace())+"/"+string(ref.Name), k.Kind))
		} else if reason, msg := refProblem(s, k.Kind, route.GetNamespace(), ref.BackendObjectReference); reason != "" {
			in.refProblem(reason, msg)
		}
	}
	if r, ok := route.(*gwapiv1.GRPCRoute); ok {
		res.Events = grpcPoolRoute(r).multiPoolWarnings(s)
	}
	res.Events = append(res.Events, events...)
	res.Parents = mirroredParents(s, in)
	return res
}

// CopiedRoute renders the Envoy Gateway copy of route (of kind k), or nil when none of its
// parents is a served Gateway of ours.
func CopiedRoute(s *Snapshot, k *CopiedRouteKind, route client.Object) client.Object {
	out, _ := copiedRoute(s, k, route)
	return out
}

// copiedRoute is CopiedRoute, with the warnings about how Envoy will serve its pool rules.
func copiedRoute(s *Snapshot, k *CopiedRouteKind, route client.Object) (client.Object, []Event) {
	refs, _ := k.Parts(route)
	served := s.servedParentRefs(route.GetNamespace(), *refs)
	if len(served) == 0 {
		return nil, nil
	}
	src := Source{Kind: k.Kind, Namespace: route.GetNamespace(), Name: route.GetName()}
	out, err := copySpec(k, route, objectMeta(src, route.GetNamespace(), GeneratedRouteName(route.GetName()),
		controllerRef(gwapiv1.GroupVersion.String(), k.Kind, route)))
	if err != nil {
		// Only a type the converter cannot handle gets here: none of CopiedRouteKinds.
		panic(fmt.Sprintf("copying %s %s/%s: %v", k.Kind, route.GetNamespace(), route.GetName(), err))
	}
	parents, _ := k.Parts(out)
	*parents = make([]gwapiv1.ParentReference, len(served))
	for i, p := range served {
		(*parents)[i] = generatedParentRef(p)
	}
	if g, ok := out.(*gwapiv1.GRPCRoute); ok {
		return out, grpcPoolRules(s, route.(*gwapiv1.GRPCRoute), g)
	}
	// A ref to an InferencePool becomes the Service that cannot exist, as on an HTTPRoute rule
	// whose pool is unusable: Envoy Gateway sends that share nowhere, and judges it by its own
	// rules for the kind, never by its own reading of an InferencePool.
	for _, ref := range k.BackendRefs(out) {
		if IsPoolRef(ref.BackendObjectReference) {
			ref.BackendObjectReference = unresolvedPoolRef(string(ref.Name))
		}
	}
	return out, nil
}

// grpcPoolRules makes out, the copy of the GRPCRoute route, serve its rules' pools: every rule
// named as the pool's policies target it, and each pool rule's backendRefs those an HTTPRoute
// rule's would become (the same GRPCRoute filter types are HTTPRoute ones). It returns the
// pool rules' warnings.
func grpcPoolRules(s *Snapshot, route, out *gwapiv1.GRPCRoute) []Event {
	pr := grpcPoolRoute(route)
	var events []Event
	for i := range out.Spec.Rules {
		rule := &out.Spec.Rules[i]
		rule.Name = ptrTo(gwapiv1.SectionName(pr.ruleNames[i]))
		if !slices.ContainsFunc(pr.ruleRefs[i], IsPoolRef) {
			continue
		}
		refs := make([]gwapiv1.HTTPBackendRef, len(route.Spec.Rules[i].BackendRefs))
		for j, br := range route.Spec.Rules[i].BackendRefs {
			refs[j] = gwapiv1.HTTPBackendRef{BackendRef: *br.BackendRef.DeepCopy(), Filters: httpFilters(br.Filters)}
		}
		generated, warnings := ruleBackendRefs(s, pr, pr.ruleNames[i], refs)
		events = append(events, warnings...)
		rule.BackendRefs = make([]gwapiv1.GRPCBackendRef, len(generated))
		for j, br := range generated {
			rule.BackendRefs[j] = gwapiv1.GRPCBackendRef{BackendRef: br.BackendRef, Filters: grpcFilters(br.Filters)}
		}
	}
	return events
}

// httpFilters are GRPCRoute filters as the HTTPRoute filters of the same types.
func httpFilters(in []gwapiv1.GRPCRouteFilter) []gwapiv1.HTTPRouteFilter {
	var out []gwapiv1.HTTPRouteFilter
	for _, f := range in {
		f := *f.DeepCopy()
		out = append(out, gwapiv1.HTTPRouteFilter{Type: gwapiv1.HTTPRouteFilterType(f.Type),
			RequestHeaderModifier: f.RequestHeaderModifier, ResponseHeaderModifier: f.ResponseHeaderModifier,
			RequestMirror: f.RequestMirror, ExtensionRef: f.ExtensionRef})
	}
	return out
}

// grpcFilters are httpFilters' results back as GRPCRoute filters.
func grpcFilters(in []gwapiv1.HTTPRouteFilter) []gwapiv1.GRPCRouteFilter {
	var out []gwapiv1.GRPCRouteFilter
	for _, f := range in {
		out = append(out, gwapiv1.GRPCRouteFilter{Type: gwapiv1.GRPCRouteFilterType(f.Type),
			RequestHeaderModifier: f.RequestHeaderModifier, ResponseHeaderModifier: f.ResponseHeaderModifier,
			RequestMirror: f.RequestMirror, ExtensionRef: f.ExtensionRef})
	}
	return out
}

// copySpec makes an object of kind k with route's spec, the given metadata and no status.
// Through the unstructured form, so one function serves every kind.
func copySpec(k *CopiedRouteKind, route client.Object, meta metav1.ObjectMeta) (client.Object, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(route)
	if err != nil {
		return nil, err
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&meta)
	if err != nil {
		return nil, err
	}
	u["apiVersion"], u["kind"], u["metadata"] = gwapiv1.GroupVersion.String(), k.Kind, m
	delete(u, "status")
	out := k.New()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u, out); err != nil {
		return nil, err
	}
	return out, nil
}

// find returns the Snapshot's route of the kind named nn, or nil.
func (k *CopiedRouteKind) find(s *Snapshot, nn types.NamespacedName) client.Object {
	for _, o := range k.inSnapshot(s) {
		if o.GetNamespace() == nn.Namespace && o.GetName() == nn.Name {
			return o
		}
	}
	return nil
}
