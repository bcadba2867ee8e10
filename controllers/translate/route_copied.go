package translate

import (
	"fmt"

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
// not served Gateways of ours are dropped, as for HTTPRoutes. Nothing in these kinds reaches an
// InferencePool: the endpoint picker serves HTTPRoute rules (route.go).

// ForCopiedRoute renders the Envoy Gateway copy of a route of kind k on our Gateways, and the
// route's status entries for those Gateways: Envoy Gateway's verdict on the copy, mirrored.
func ForCopiedRoute(s *Snapshot, k *CopiedRouteKind, route client.Object) RouteResult {
	var res RouteResult
	desired := CopiedRoute(s, k, route)
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
		if IsPoolRef(ref.BackendObjectReference) {
			in.refProblem(gwapiv1.RouteReasonInvalidKind, fmt.Sprintf(
				"backendRef InferencePool %s: InferencePools are served on HTTPRoute rules only, a %s cannot reach one; its share of traffic goes nowhere",
				RefNamespace(ref.BackendObjectReference, route.GetNamespace())+"/"+string(ref.Name), k.Kind))
		}
	}
	res.Parents = mirroredParents(s, in)
	return res
}

// CopiedRoute renders the Envoy Gateway copy of route (of kind k), or nil when none of its
// parents is a served Gateway of ours.
func CopiedRoute(s *Snapshot, k *CopiedRouteKind, route client.Object) client.Object {
	refs, _ := k.Parts(route)
	served := s.servedParentRefs(route.GetNamespace(), *refs)
	if len(served) == 0 {
		return nil
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
	// A ref to an InferencePool becomes the Service that cannot exist, as on an HTTPRoute rule
	// whose pool is unusable: Envoy Gateway sends that share nowhere, and judges it by its own
	// rules for the kind, never by its own reading of an InferencePool.
	for _, ref := range k.BackendRefs(out) {
		if IsPoolRef(ref.BackendObjectReference) {
			ref.BackendObjectReference = gwapiv1.BackendObjectReference{
				Name: gwapiv1.ObjectName(UnresolvedServiceName(string(ref.Name))), Port: ptrTo(gwapiv1.PortNumber(unresolvedServicePort)),
			}
		}
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
