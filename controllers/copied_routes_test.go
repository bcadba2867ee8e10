package controllers

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// ourRefusal checks that the route's status has exactly one entry of ours, for parent gw,
// Accepted=False/NotAllowedByListeners naming the kind.
func ourRefusal(kind string, st gwapiv1.RouteStatus, gw string) error {
	var ours []gwapiv1.RouteParentStatus
	for _, p := range st.Parents {
		if string(p.ControllerName) == translate.ControllerName {
			ours = append(ours, p)
		}
	}
	if len(ours) != 1 || string(ours[0].ParentRef.Name) != gw {
		return fmt.Errorf("entries of ours %+v, want one for Gateway %s", ours, gw)
	}
	c := findCond(ours[0].Conditions, "Accepted")
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != string(gwapiv1.RouteReasonNotAllowedByListeners) || !strings.Contains(c.Message, kind) {
		return fmt.Errorf("Accepted %+v, want False/NotAllowedByListeners naming %s", c, kind)
	}
	return nil
}

// A GRPCRoute and a TCPRoute attached to a Gateway of ours are refused in their own status,
// never dropped without a word; another controller's entry is left alone, and a route on a
// Gateway of another class gets nothing from the operator.
func TestUnservedRouteKindsRefused(t *testing.T) {
	ns := newNamespace(t)
	class := uniqueName(ns, "class")
	mustCreate(t, ourClass(class))
	mustCreate(t, newGateway(ns, "gw", class))
	mustCreate(t, newGateway(ns, "other", "someone-elses"))
	parent := func(names ...string) gwapiv1.CommonRouteSpec {
		var refs []gwapiv1.ParentReference
		for _, n := range names {
			refs = append(refs, gwapiv1.ParentReference{Name: gwapiv1.ObjectName(n)})
		}
		return gwapiv1.CommonRouteSpec{ParentRefs: refs}
	}
	backend := gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{Name: "svc", Port: ptrTo(gwapiv1.PortNumber(9000))}}
	grpc := &gwapiv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "grpc"},
		Spec: gwapiv1.GRPCRouteSpec{CommonRouteSpec: parent("gw", "other")}}
	mustCreate(t, grpc)
	tcp := &gwapiv1.TCPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tcp"},
		Spec: gwapiv1.TCPRouteSpec{CommonRouteSpec: parent("gw"), Rules: []gwapiv1.TCPRouteRule{{BackendRefs: []gwapiv1.BackendRef{backend}}}}}
	mustCreate(t, tcp)
	elsewhere := &gwapiv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "elsewhere"},
		Spec: gwapiv1.GRPCRouteSpec{CommonRouteSpec: parent("other")}}
	mustCreate(t, elsewhere)

	waitUntil(t, &gwapiv1.GRPCRoute{}, client.ObjectKeyFromObject(grpc), func(r *gwapiv1.GRPCRoute) error {
		return ourRefusal("GRPCRoute", r.Status.RouteStatus, "gw")
	})
	waitUntil(t, &gwapiv1.TCPRoute{}, client.ObjectKeyFromObject(tcp), func(r *gwapiv1.TCPRoute) error {
		return ourRefusal("TCPRoute", r.Status.RouteStatus, "gw")
	})
	consistently(t, pollInterval*10, func() error {
		r := &gwapiv1.GRPCRoute{}
		if err := get(r, client.ObjectKeyFromObject(elsewhere)); err != nil {
			return err
		}
		if len(r.Status.Parents) != 0 {
			return fmt.Errorf("a route on another class's Gateway got status %+v", r.Status.Parents)
		}
		return nil
	})

	// Detached from our Gateway, the route loses our entry.
	mustUpdate(t, grpc, func(r *gwapiv1.GRPCRoute) { r.Spec.ParentRefs = r.Spec.ParentRefs[1:] })
	waitUntil(t, &gwapiv1.GRPCRoute{}, client.ObjectKeyFromObject(grpc), func(r *gwapiv1.GRPCRoute) error {
		for _, p := range r.Status.Parents {
			if string(p.ControllerName) == translate.ControllerName {
				return fmt.Errorf("our entry %+v is still there", p)
			}
		}
		return nil
	})
}
