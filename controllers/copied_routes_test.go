package controllers

import (
	"fmt"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// ourEntry returns the route status entry of ours for parent gw, and checks it is the only one.
func ourEntry(st gwapiv1.RouteStatus, gw string) (*gwapiv1.RouteParentStatus, error) {
	var ours []gwapiv1.RouteParentStatus
	for _, p := range st.Parents {
		if string(p.ControllerName) == translate.ControllerName {
			ours = append(ours, p)
		}
	}
	if len(ours) != 1 || string(ours[0].ParentRef.Name) != gw {
		return nil, fmt.Errorf("entries of ours %+v, want one for Gateway %s", ours, gw)
	}
	return &ours[0], nil
}

// copiedParents checks that a generated copy's parentRefs are the generated Gateway of gw alone,
// with sectionName kept.
func copiedParents(refs []gwapiv1.ParentReference, gw, section string) error {
	if len(refs) != 1 || string(refs[0].Name) != translate.GeneratedGatewayName(gw) || ptrString(refs[0].SectionName) != section {
		return fmt.Errorf("parentRefs %+v, want %s/%s only", refs, translate.GeneratedGatewayName(gw), section)
	}
	return nil
}

func ptrString[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// A GRPCRoute and a TCPRoute attached to a Gateway of ours are served by a copy on the generated
// Gateway: parents of other classes dropped, sectionName kept, the rest of the spec as written;
// the user's status mirrors Envoy Gateway's verdict on the copy, and a policy of the user on the
// route is carried over to its copy. A user edit to the copy is
// reverted, a route that leaves our Gateway loses its copy and our status entry, and a route
// on a Gateway of another class gets nothing from the operator.
func TestCopiedRouteKindsServed(t *testing.T) {
	ns := newNamespace(t)
	class := uniqueName(ns, "class")
	mustCreate(t, ourClass(class))
	gw := newGateway(ns, "gw", class)
	gw.Spec.Listeners = append(gw.Spec.Listeners, gwapiv1.Listener{Name: "tcp", Protocol: gwapiv1.TCPProtocolType, Port: 5432})
	mustCreate(t, gw)
	mustCreate(t, newGateway(ns, "other", "someone-elses"))
	parent := func(name, section string) gwapiv1.ParentReference {
		ref := gwapiv1.ParentReference{Name: gwapiv1.ObjectName(name)}
		if section != "" {
			ref.SectionName = ptrTo(gwapiv1.SectionName(section))
		}
		return ref
	}
	backend := gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{Name: "svc", Port: ptrTo(gwapiv1.PortNumber(9000))}}
	grpc := &gwapiv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "grpc"},
		Spec: gwapiv1.GRPCRouteSpec{
			CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{parent("gw", "http"), parent("other", "")}},
			Hostnames:       []gwapiv1.Hostname{"grpc.example.com"},
			Rules: []gwapiv1.GRPCRouteRule{{
				Name:        ptrTo(gwapiv1.SectionName("echo")),
				Matches:     []gwapiv1.GRPCRouteMatch{{Method: &gwapiv1.GRPCMethodMatch{Service: ptrTo("echo.Echo")}}},
				BackendRefs: []gwapiv1.GRPCBackendRef{{BackendRef: backend}},
			}},
		}}
	mustCreate(t, grpc)
	tcp := &gwapiv1.TCPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tcp"},
		Spec: gwapiv1.TCPRouteSpec{CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{parent("gw", "tcp")}},
			Rules: []gwapiv1.TCPRouteRule{{BackendRefs: []gwapiv1.BackendRef{backend}}}}}
	mustCreate(t, tcp)
	elsewhere := &gwapiv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "elsewhere"},
		Spec: gwapiv1.GRPCRouteSpec{CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{parent("other", "")}}}}
	mustCreate(t, elsewhere)

	grpcCopy := client.ObjectKey{Namespace: ns, Name: translate.GeneratedRouteName("grpc")}
	waitUntil(t, &gwapiv1.GRPCRoute{}, grpcCopy, func(r *gwapiv1.GRPCRoute) error {
		if len(r.Spec.Hostnames) != 1 || len(r.Spec.Rules) != 1 || r.Spec.Rules[0].Matches[0].Method == nil || r.Labels[translate.LabelManagedBy] != translate.ManagedByValue {
			return fmt.Errorf("copy %+v does not keep the user's spec and our label", r.Spec)
		}
		return copiedParents(r.Spec.ParentRefs, "gw", "http")
	})
	waitUntil(t, &gwapiv1.TCPRoute{}, client.ObjectKey{Namespace: ns, Name: translate.GeneratedRouteName("tcp")}, func(r *gwapiv1.TCPRoute) error {
		return copiedParents(r.Spec.ParentRefs, "gw", "tcp")
	})
	// Until Envoy Gateway judges the copy, the route waits; then it mirrors the verdict.
	waitUntil(t, &gwapiv1.TCPRoute{}, client.ObjectKeyFromObject(tcp), func(r *gwapiv1.TCPRoute) error {
		e, err := ourEntry(r.Status.RouteStatus, "gw")
		if err != nil {
			return err
		}
		return hasCondition(e.Conditions, "Accepted", metav1.ConditionUnknown, "Pending")
	})
	setStatus(t, &gwapiv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: grpcCopy.Name}}, func(r *gwapiv1.GRPCRoute) {
		r.Status.Parents = []gwapiv1.RouteParentStatus{{ParentRef: r.Spec.ParentRefs[0], ControllerName: egControllerName,
			Conditions: []metav1.Condition{egCondition("Accepted", "True", "Accepted", r.Generation), egCondition("ResolvedRefs", "False", "BackendNotFound", r.Generation)}}}
	})
	waitUntil(t, &gwapiv1.GRPCRoute{}, client.ObjectKeyFromObject(grpc), func(r *gwapiv1.GRPCRoute) error {
		e, err := ourEntry(r.Status.RouteStatus, "gw")
		if err != nil {
			return err
		}
		if err := hasCondition(e.Conditions, "Accepted", metav1.ConditionTrue, "Accepted"); err != nil {
			return err
		}
		return hasCondition(e.Conditions, "ResolvedRefs", metav1.ConditionFalse, "BackendNotFound")
	})
	consistently(t, pollInterval*10, func() error {
		r := &gwapiv1.GRPCRoute{}
		if err := get(r, client.ObjectKeyFromObject(elsewhere)); err != nil {
			return err
		}
		if len(r.Status.Parents) != 0 {
			return fmt.Errorf("a route on another class's Gateway got status %+v", r.Status.Parents)
		}
		return absent(&gwapiv1.GRPCRoute{}, client.ObjectKey{Namespace: ns, Name: translate.GeneratedRouteName("elsewhere")})
	})

	// The user's policy on the GRPCRoute's rule is carried over to a copy targeting the route's
	// copy, rule kept.
	mustCreate(t, &egv1a1.BackendTrafficPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "grpc-retries"},
		Spec: egv1a1.BackendTrafficPolicySpec{PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: []gwapiv1.LocalPolicyTargetReferenceWithSectionName{{
			LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{Group: gwapiv1.GroupName, Kind: "GRPCRoute", Name: "grpc"},
			SectionName:                ptrTo(gwapiv1.SectionName("echo")),
		}}}}})
	waitUntil(t, &egv1a1.BackendTrafficPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.CarriedPolicyName("grpc-retries")}, func(p *egv1a1.BackendTrafficPolicy) error {
		refs := p.Spec.TargetRefs
		if len(refs) != 1 || refs[0].Kind != "GRPCRoute" || string(refs[0].Name) != grpcCopy.Name || ptrString(refs[0].SectionName) != "echo" {
			return fmt.Errorf("carried copy targets %+v, want GRPCRoute %s rule echo", refs, grpcCopy.Name)
		}
		return nil
	})

	// A user edit to the copy is reverted.
	mustUpdate(t, &gwapiv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: grpcCopy.Name}}, func(r *gwapiv1.GRPCRoute) {
		r.Spec.Hostnames = []gwapiv1.Hostname{"edited.example.com"}
	})
	waitUntil(t, &gwapiv1.GRPCRoute{}, grpcCopy, func(r *gwapiv1.GRPCRoute) error {
		if len(r.Spec.Hostnames) != 1 || r.Spec.Hostnames[0] != "grpc.example.com" {
			return fmt.Errorf("hostnames %v, want the user's back", r.Spec.Hostnames)
		}
		return nil
	})

	// Detached from our Gateway, the route loses its copy and our entry.
	mustUpdate(t, grpc, func(r *gwapiv1.GRPCRoute) { r.Spec.ParentRefs = r.Spec.ParentRefs[1:] })
	waitUntil(t, &gwapiv1.GRPCRoute{}, client.ObjectKeyFromObject(grpc), func(r *gwapiv1.GRPCRoute) error {
		for _, p := range r.Status.Parents {
			if string(p.ControllerName) == translate.ControllerName {
				return fmt.Errorf("our entry %+v is still there", p)
			}
		}
		return absent(&gwapiv1.GRPCRoute{}, grpcCopy)
	})
	// Deleted, the TCPRoute's copy goes too.
	mustDelete(t, tcp)
	eventually(t, func() error {
		return absent(&gwapiv1.TCPRoute{}, client.ObjectKey{Namespace: ns, Name: translate.GeneratedRouteName("tcp")})
	})
}
