package translate_test

import (
	"reflect"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// egController is Envoy Gateway's controllerName in the statuses it writes.
const egController = "gateway.envoyproxy.io/gatewayclass-controller"

// genEGState adds, for some of what the operator generates from the user's objects, the object
// as the cluster holds it: written from the current desired state (stamped with its desired
// hash) or an older one, with Envoy Gateway's verdict in its status; or an object of the user's
// that happens to have the generated name (not managed by the operator).
func (g *generator) genEGState() {
	desired := translate.All(copySnapshot(g.snap)).Objects
	taken := map[string]bool{}
	for _, obj := range snapshotObjects(g.snap) {
		taken[typedKey(obj)] = true
	}
	for _, obj := range desired {
		if taken[typedKey(obj)] {
			continue // the user has an object of that name: the cluster holds one per name
		}
		list := snapshotList(g.snap, obj)
		if !list.IsValid() {
			continue // kinds the snapshot does not hold
		}
		state := obj.DeepCopyObject().(client.Object)
		switch o := state.(type) {
		case *gwapiv1.Gateway:
			o.Status = g.gatewayStatus(o)
		case *gwapiv1.HTTPRoute:
			o.Status.RouteStatus = g.routeStatus(o, o.Spec.ParentRefs)
		case *egv1a1.SecurityPolicy:
			o.Status = g.policyStatus(o.Namespace)
		case *egv1a1.BackendTrafficPolicy:
			o.Status = g.policyStatus(o.Namespace)
		case *egv1a1.ClientTrafficPolicy:
			o.Status = g.policyStatus(o.Namespace)
		case *egv1a1.EnvoyExtensionPolicy:
			o.Status = g.policyStatus(o.Namespace)
		default:
			if k := translate.CopiedRouteKindOf(obj.GetObjectKind().GroupVersionKind().Kind); k != nil {
				parents, status := k.Parts(state)
				*status = g.routeStatus(state, *parents)
			}
		}
		if g.stamp(obj, state) {
			list.Set(reflect.Append(list, reflect.ValueOf(state).Elem()))
		}
	}
}

// snapshotList is the list of snap that holds objects of obj's type (invalid when none does).
func snapshotList(snap *translate.Snapshot, obj client.Object) reflect.Value {
	v := reflect.ValueOf(snap).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); v.Type().Field(i).IsExported() && f.Kind() == reflect.Slice && f.Type().Elem() == reflect.TypeOf(obj).Elem() {
			return f
		}
	}
	return reflect.Value{}
}

// stamp decides whether the generated object exists (false: not yet written) and how: current
// (its desired hash), stale, or not managed by the operator. It gives it what the API server
// sets: a UID, a creation time, a generation.
func (g *generator) stamp(desired, state client.Object) bool {
	c := g.c
	how := c.intn(4)
	if how == 0 {
		return false
	}
	meta := g.meta(state.GetNamespace(), state.GetName())
	state.SetUID(meta.UID)
	state.SetCreationTimestamp(meta.CreationTimestamp)
	if state.GetGeneration() == 0 {
		state.SetGeneration(meta.Generation) // Gateways and routes got theirs with their status
	}
	ann := map[string]string{}
	for k, v := range state.GetAnnotations() {
		ann[k] = v
	}
	switch how {
	case 1:
		h, err := translate.DesiredHash(desired)
		if err != nil {
			panic(err)
		}
		ann[translate.AnnotationDesiredHash] = h
	case 2:
		ann[translate.AnnotationDesiredHash] = "0123456789abcdef" // written from an older state
	case 3:
		state.SetLabels(nil) // the user's own object, named like the generated one
		ann = map[string]string{"note": c.text(100)}
	}
	state.SetAnnotations(ann)
	return true
}

// conditions are Envoy Gateway's conditions of types, each True or False with a valid reason,
// about this generation or an older one, with messages up to the API's 32768 bytes.
func (g *generator) conditions(generation int64, types ...string) []metav1.Condition {
	c := g.c
	var out []metav1.Condition
	for _, t := range types {
		if c.oneIn(6) {
			continue
		}
		out = append(out, metav1.Condition{
			Type:               t,
			Status:             pick(c, metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown),
			Reason:             pick(c, "Accepted", "Invalid", "Programmed", "ResolvedRefs", "BackendNotFound", "Conflicted", "Merged"),
			Message:            pick(c, "ok", c.text(200), c.text(32768)),
			ObservedGeneration: generation - int64(c.intn(2)),
			LastTransitionTime: metav1.Unix(1767225600, 0),
		})
	}
	return out
}

func (g *generator) gatewayStatus(gw *gwapiv1.Gateway) gwapiv1.GatewayStatus {
	c := g.c
	gen := int64(c.between(1, 3))
	gw.Generation = gen
	st := gwapiv1.GatewayStatus{Conditions: g.conditions(gen, "Accepted", "Programmed")}
	if c.bool() {
		st.Addresses = []gwapiv1.GatewayStatusAddress{{Type: ptr.To(gwapiv1.IPAddressType), Value: "10.0.0.10"}}
	}
	for _, l := range gw.Spec.Listeners {
		if c.oneIn(4) {
			continue
		}
		st.Listeners = append(st.Listeners, gwapiv1.ListenerStatus{
			Name: l.Name, AttachedRoutes: int32(c.intn(5)),
			SupportedKinds: []gwapiv1.RouteGroupKind{{Group: ptr.To(gwapiv1.Group(gwapiv1.GroupName)), Kind: "HTTPRoute"}},
			Conditions:     g.conditions(gen, "Accepted", "Programmed", "ResolvedRefs"),
		})
	}
	return st
}

func (g *generator) routeStatus(r client.Object, parentRefs []gwapiv1.ParentReference) gwapiv1.RouteStatus {
	c := g.c
	gen := int64(c.between(1, 3))
	r.SetGeneration(gen)
	var st gwapiv1.RouteStatus
	for _, ref := range parentRefs {
		if c.oneIn(4) {
			continue
		}
		ref := *ref.DeepCopy()
		if ref.Namespace == nil && c.bool() {
			ref.Namespace = ptr.To(gwapiv1.Namespace(r.GetNamespace())) // Envoy Gateway may spell it out
		}
		st.Parents = append(st.Parents, gwapiv1.RouteParentStatus{ParentRef: ref, ControllerName: egController,
			Conditions: g.conditions(gen, "Accepted", "ResolvedRefs")})
	}
	return st
}

// policyStatus is Envoy Gateway's verdict per ancestor: the generated Gateways (and listeners)
// of the snapshot, as Envoy Gateway names them.
func (g *generator) policyStatus(ns string) gwapiv1.PolicyStatus {
	c := g.c
	var st gwapiv1.PolicyStatus
	for _, gw := range g.snap.Gateways {
		if c.bool() || len(st.Ancestors) == 16 { // Envoy Gateway truncates to the API's 16
			continue
		}
		ref := gwapiv1.ParentReference{Group: ptr.To(gwapiv1.Group(gwapiv1.GroupName)), Kind: ptr.To(gwapiv1.Kind("Gateway")),
			Name: gwapiv1.ObjectName(translate.GeneratedGatewayName(gw.Name))}
		if gw.Namespace != ns || c.bool() {
			ref.Namespace = ptr.To(gwapiv1.Namespace(gw.Namespace))
		}
		if len(gw.Spec.Listeners) > 0 && c.oneIn(3) {
			ref.SectionName = ptr.To(gw.Spec.Listeners[c.intn(len(gw.Spec.Listeners))].Name)
		}
		st.Ancestors = append(st.Ancestors, gwapiv1.PolicyAncestorStatus{AncestorRef: ref, ControllerName: egController,
			Conditions: g.conditions(int64(c.between(1, 3)), "Accepted", "Merged", "Overridden", "Warning")})
	}
	return st
}
