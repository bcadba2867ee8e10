//go:build conformance

package gatewayapi

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/utils/config"
	"sigs.k8s.io/gateway-api/conformance/utils/kubernetes"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
)

// The statusOnlyChecks of the TLSRoute, TCPRoute and UDPRoute tests that send. Those tests dial
// the Gateway themselves (TLS and TCP connections, UDP datagrams), past the clients the harness
// replaces, so nothing can end them at their first connection. Each check here is its test's
// body as the suite's source has it (gateway-api v1.6.3, conformance/tests/*route-*.go), step by
// step, with the suite's helpers and in the same subtests: the Gateways and routes waited for,
// every status assertion, the Kubernetes objects read, created or deleted; where the test
// connects, send. When a test changes, its check here must follow.

// withL4Checks adds l4Checks to checks.
func withL4Checks(checks map[string]statusOnlyCheck) map[string]statusOnlyCheck {
	maps.Copy(checks, l4Checks)
	return checks
}

var l4Checks = map[string]statusOnlyCheck{
	"TLSRouteHostnameIntersection": tlsRouteHostnameIntersection,
	"TLSRouteInvalidBackendRefNonexistent": tlsRouteInvalidBackend("invalid-backend-ref-nonexistent",
		"gateway-tlsroute-invalid-backend-ref-nonexistent", gwapiv1.RouteReasonBackendNotFound),
	"TLSRouteInvalidBackendRefUnknownKind": tlsRouteInvalidBackend("invalid-backend-ref-unknown-kind",
		"gateway-tlsroute-invalid-backend-ref-unknown-kind", gwapiv1.RouteReasonInvalidKind),
	"TLSRouteSimpleSameNamespace":          tlsRouteSimple(suite.InfrastructureGatewayName, "gateway-tlsroute"),
	"TLSRouteTerminateSimpleSameNamespace": tlsRouteSimple("tlsroute-terminated-test", "gateway-tlsroute-terminate"),

	"TCPRouteMultipleRoutesAttachment": multipleRoutesAttachment(tcpRoutes, "tcp-multi-route-attach-gateway", "tcp",
		"tcproute-attach-older", "tcproute-attach-newer", "tcp-attach-backend-2", 3000),
	"TCPRouteParentRefAttachAll": parentRefAttachAll(tcpRoutes, "tcp-attach-all-gateway", "tcp-route-attach-all",
		[]string{"one", "two", "three", "four"}, false),
	"TCPRouteParentRefPortAndSectionName": parentRefPortAndSectionName(tcpRoutes, "tcp-multi-listener-gateway", map[string]string{
		"tcp-route-by-port": "one", "tcp-route-by-section": "two", "tcp-route-by-section-and-port": "three",
	}),
	"TCPRouteReferenceGrant": referenceGrant(tcpRoutes, referenceGrantTest{
		gateway: kubernetes.NewGatewayRef(infra("tcp-reference-grant-gateway"), "tcp"), route: "tcp-reference-grant",
		grant:      types.NamespacedName{Namespace: suite.WebBackendNamespace, Name: "tcp-reference-grant"},
		namespaces: []string{suite.InfrastructureNamespace, suite.WebBackendNamespace},
	}),
	"TCPRouteWeightedRouting": weightedRouting(tcpRoutes, kubernetes.NewGatewayRef(infra("tcp-weighted-gateway"), "tcp"), "tcp-weighted-route"),

	"UDPRoute": udpRouteSimple,
	"UDPRouteMultipleRoutesAttachment": multipleRoutesAttachment(udpRoutes, "udp-multi-route-attach-gateway", "udp",
		"udproute-attach-older", "udproute-attach-newer", "udp-attach-backend-2", 8080),
	"UDPRouteParentRefAttachAllListeners": parentRefAttachAll(udpRoutes, "udp-attach-all-listeners-gateway", "udp-route-attach-all",
		[]string{"udp-1", "udp-2", "udp-3"}, true),
	"UDPRouteParentRefPortAndSectionName": parentRefPortAndSectionName(udpRoutes, "udp-multi-listener-gateway", map[string]string{
		"udp-route-by-port": "by-port", "udp-route-by-section": "by-section", "udp-route-by-section-and-port": "by-section-and-port",
	}),
	"UDPRouteReferenceGrant": referenceGrant(udpRoutes, referenceGrantTest{
		gateway: kubernetes.NewGatewayRef(infra("udp-gateway-reference-grant")), route: "udp-route-reference-grant",
		grant:                    types.NamespacedName{Namespace: suite.AppBackendNamespace, Name: "udp-reference-grant"},
		namespaces:               []string{suite.InfrastructureNamespace},
		resolvedBeforeConnecting: true,
	}),
	"UDPRouteWeightedRouting": weightedRouting(udpRoutes, kubernetes.NewGatewayRef(infra("udp-weighted-gateway"), "udp"), "udp-weighted-route"),
}

// infra names an object of the suite's infrastructure namespace.
func infra(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: suite.InfrastructureNamespace, Name: name}
}

func condition(typ gwapiv1.RouteConditionType, status metav1.ConditionStatus, reason gwapiv1.RouteConditionReason) metav1.Condition {
	return metav1.Condition{Type: string(typ), Status: status, Reason: string(reason)}
}

// acceptedBy is the route parent status the tests expect: accepted by gw, named without a
// section or port.
func acceptedBy(s *suite.ConformanceTestSuite, gw types.NamespacedName) []gwapiv1.RouteParentStatus {
	group, kind, ns := gwapiv1.Group(gwapiv1.GroupName), gwapiv1.Kind("Gateway"), gwapiv1.Namespace(gw.Namespace)
	return []gwapiv1.RouteParentStatus{{
		ParentRef:      gwapiv1.ParentReference{Group: &group, Kind: &kind, Name: gwapiv1.ObjectName(gw.Name), Namespace: &ns},
		ControllerName: gwapiv1.GatewayController(s.ControllerName),
		Conditions:     []metav1.Condition{condition(gwapiv1.RouteConditionAccepted, metav1.ConditionTrue, gwapiv1.RouteReasonAccepted)},
	}}
}

// gatewayAddressed waits, as the tests do before connecting to a listener, for gw's address.
func gatewayAddressed(t *testing.T, s *suite.ConformanceTestSuite, gw kubernetes.GatewayRef) {
	t.Helper()
	if _, err := kubernetes.WaitForGatewayAddress(t, s.Client, s.TimeoutConfig, gw); err != nil {
		t.Fatalf("no address for the Gateway's listener: %v", err)
	}
}

// TLSRoute.

// tlsRouteHostnameIntersection: for each of four Gateways (a TLS listener with an exact, a more
// specific wildcard, a less specific wildcard and no hostname), the Gateway and its routes
// accepted, each route's references resolved; then TLS requests and connections.
func tlsRouteHostnameIntersection(t *testing.T, s *suite.ConformanceTestSuite, send func(t *testing.T)) {
	kubernetes.NamespacesMustBeReady(t, s.Client, s.TimeoutConfig, []string{suite.InfrastructureNamespace})
	cert, _, err := kubernetes.GetTLSSecret(s.Client, infra("tls-checks-certificate"))
	require.NoError(t, err, "the TLS secret")
	require.NotEmpty(t, cert, "the server certificate")
	for _, c := range []struct {
		name, gateway string
		routes        []string
	}{
		{"exact listener hostname", "gw-tlsroute-exact-hostname-x-1",
			[]string{"tlsroute-more-specific-wc-hostname-x-1"}},
		{"more specific wildcard listener hostname", "gw-tlsroute-more-specific-wc-hostname-x-2",
			[]string{"tlsroute-exact-hostname-x-2", "tlsroute-less-specific-wc-hostname-x-2"}},
		{"less specific wildcard listener hostname", "gw-tlsroute-less-specific-wc-hostname-x-3",
			[]string{"tlsroute-exact-hostname-x-3", "tlsroute-more-specific-wc-hostname-x-3"}},
		{"empty listener hostname", "gw-tlsroute-empty-hostname-x-4",
			[]string{"tlsroute-exact-hostname-x-4", "tlsroute-less-specific-wc-hostname-x-4"}},
	} {
		t.Run("TLSRoutes intersect with "+c.name, func(t *testing.T) {
			var routes []types.NamespacedName
			for _, r := range c.routes {
				routes = append(routes, infra(r))
			}
			kubernetes.GatewayAndTLSRoutesMustBeAccepted(t, s.Client, s.TimeoutConfig, s.ControllerName,
				kubernetes.NewGatewayRef(infra(c.gateway)), routes...)
			for _, route := range routes {
				kubernetes.TLSRouteMustHaveResolvedRefsConditionsTrue(t, s.Client, s.TimeoutConfig, route, infra(c.gateway))
			}
			t.Run("TLS requests and connections", send)
		})
	}
}

// tlsRouteInvalidBackend: the Gateway and the route accepted, the route's references not
// resolved for reason; then a connection, expected rejected.
func tlsRouteInvalidBackend(route, gateway string, reason gwapiv1.RouteConditionReason) statusOnlyCheck {
	return func(t *testing.T, s *suite.ConformanceTestSuite, send func(t *testing.T)) {
		kubernetes.NamespacesMustBeReady(t, s.Client, s.TimeoutConfig, []string{suite.InfrastructureNamespace})
		kubernetes.GatewayAndTLSRoutesMustBeAccepted(t, s.Client, s.TimeoutConfig, s.ControllerName,
			kubernetes.NewGatewayRef(infra(gateway)), infra(route))
		t.Run("ResolvedRefs False, reason "+string(reason), func(t *testing.T) {
			kubernetes.TLSRouteMustHaveCondition(t, s.Client, s.TimeoutConfig, infra(route), infra(gateway),
				condition(gwapiv1.RouteConditionResolvedRefs, metav1.ConditionFalse, reason))
		})
		t.Run("TLS connection rejected", send)
	}
}

// tlsRouteSimple (Passthrough, and Terminate): the Gateway and the route accepted, the route
// with one hostname, the CA's ConfigMap holding ca.crt; then a TLS connection.
func tlsRouteSimple(route, gateway string) statusOnlyCheck {
	return func(t *testing.T, s *suite.ConformanceTestSuite, send func(t *testing.T)) {
		kubernetes.NamespacesMustBeReady(t, s.Client, s.TimeoutConfig, []string{suite.InfrastructureNamespace})
		_, hostnames := kubernetes.GatewayAndTLSRoutesMustBeAccepted(t, s.Client, s.TimeoutConfig, s.ControllerName,
			kubernetes.NewGatewayRef(infra(gateway)), infra(route))
		require.Len(t, hostnames, 1, "the route's hostnames")
		ca, err := kubernetes.GetConfigMapData(s.Client, s.TimeoutConfig, infra("tls-checks-ca-certificate"))
		require.NoError(t, err, "the CA's ConfigMap")
		require.Contains(t, ca, "ca.crt", "the CA's ConfigMap")
		t.Run("TLS request through the Gateway", send)
	}
}

// TCPRoute and UDPRoute, whose tests are alike.

// l4Routes are the suite's helpers for TCPRoutes or UDPRoutes, and a constructor.
type l4Routes struct {
	kind         gwapiv1.Kind
	accepted     func(t *testing.T, c client.Client, tc config.TimeoutConfig, controller string, gw kubernetes.GatewayRef, routes ...types.NamespacedName) string
	hasCondition func(t *testing.T, c client.Client, tc config.TimeoutConfig, route, gw types.NamespacedName, cond metav1.Condition)
	hasParents   func(t *testing.T, c client.Client, tc config.TimeoutConfig, route types.NamespacedName, parents []gwapiv1.RouteParentStatus, namespaceRequired bool)
	// newRoute is a route named nn whose one parentRef is gateway's listener and whose one rule
	// has one backendRef.
	newRoute func(nn types.NamespacedName, parent gwapiv1.ParentReference, backend gwapiv1.BackendRef) client.Object
}

var tcpRoutes = l4Routes{
	kind:         "TCPRoute",
	accepted:     kubernetes.GatewayAndTCPRoutesMustBeAccepted,
	hasCondition: kubernetes.TCPRouteMustHaveCondition,
	hasParents:   kubernetes.TCPRouteMustHaveParents,
	newRoute: func(nn types.NamespacedName, parent gwapiv1.ParentReference, backend gwapiv1.BackendRef) client.Object {
		return &gwapiv1.TCPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: nn.Namespace, Name: nn.Name},
			Spec: gwapiv1.TCPRouteSpec{
				CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{parent}},
				Rules:           []gwapiv1.TCPRouteRule{{BackendRefs: []gwapiv1.BackendRef{backend}}},
			},
		}
	},
}

var udpRoutes = l4Routes{
	kind:         "UDPRoute",
	accepted:     kubernetes.GatewayAndUDPRoutesMustBeAccepted,
	hasCondition: kubernetes.UDPRouteMustHaveCondition,
	hasParents:   kubernetes.UDPRouteMustHaveParents,
	newRoute: func(nn types.NamespacedName, parent gwapiv1.ParentReference, backend gwapiv1.BackendRef) client.Object {
		return &gwapiv1.UDPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: nn.Namespace, Name: nn.Name},
			Spec: gwapiv1.UDPRouteSpec{
				CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{parent}},
				Rules:           []gwapiv1.UDPRouteRule{{BackendRefs: []gwapiv1.BackendRef{backend}}},
			},
		}
	},
}

// multipleRoutesAttachment: the Gateway and the older route accepted on listener; a second,
// newer route to the same listener created (one second later, creation timestamps having
// second precision); both routes accepted, the listener Accepted with the kind supported and
// two routes attached; then traffic, expected to reach the older route's backend only.
func multipleRoutesAttachment(k l4Routes, gateway, listener, older, newer, newerBackend string, port gwapiv1.PortNumber) statusOnlyCheck {
	return func(t *testing.T, s *suite.ConformanceTestSuite, send func(t *testing.T)) {
		gwNN := infra(gateway)
		kubernetes.NamespacesMustBeReady(t, s.Client, s.TimeoutConfig, []string{suite.InfrastructureNamespace})
		k.accepted(t, s.Client, s.TimeoutConfig, s.ControllerName, kubernetes.NewGatewayRef(gwNN, listener), infra(older))
		time.Sleep(time.Second)
		section := gwapiv1.SectionName(listener)
		route := k.newRoute(infra(newer),
			gwapiv1.ParentReference{Name: gwapiv1.ObjectName(gateway), SectionName: &section},
			gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{Name: gwapiv1.ObjectName(newerBackend), Port: &port}})
		s.Applier.MustApplyObjectsWithCleanup(t, s.Client, s.TimeoutConfig, []client.Object{route}, s.CleanupTestResources)

		accepted := condition(gwapiv1.RouteConditionAccepted, metav1.ConditionTrue, gwapiv1.RouteReasonAccepted)
		t.Run("Both "+string(k.kind)+"s accepted", func(t *testing.T) {
			k.hasCondition(t, s.Client, s.TimeoutConfig, infra(older), gwNN, accepted)
			k.hasCondition(t, s.Client, s.TimeoutConfig, infra(newer), gwNN, accepted)
		})
		t.Run("The listener has 2 attached routes", func(t *testing.T) {
			group := gwapiv1.Group(gwapiv1.GroupName)
			kubernetes.GatewayStatusMustHaveListeners(t, s.Client, s.TimeoutConfig, gwNN, []gwapiv1.ListenerStatus{{
				Name:           section,
				SupportedKinds: []gwapiv1.RouteGroupKind{{Group: &group, Kind: k.kind}},
				Conditions: []metav1.Condition{{
					Type: string(gwapiv1.ListenerConditionAccepted), Status: metav1.ConditionTrue, Reason: string(gwapiv1.ListenerReasonAccepted),
				}},
				AttachedRoutes: 2,
			}})
		})
		t.Run("Only the older route gets traffic", send)
	}
}

// parentRefAttachAll: the route, whose parentRef names neither a section nor a port, accepted
// by the Gateway; for UDPRoute (checkListeners) every listener Accepted and ResolvedRefs with the
// kind supported and the route attached; then for each listener its address, and traffic.
func parentRefAttachAll(k l4Routes, gateway, route string, listeners []string, checkListeners bool) statusOnlyCheck {
	return func(t *testing.T, s *suite.ConformanceTestSuite, send func(t *testing.T)) {
		gwNN := infra(gateway)
		kubernetes.NamespacesMustBeReady(t, s.Client, s.TimeoutConfig, []string{suite.InfrastructureNamespace})
		t.Run(string(k.kind)+" accepted by the Gateway", func(t *testing.T) {
			k.hasParents(t, s.Client, s.TimeoutConfig, infra(route), acceptedBy(s, gwNN), false)
		})
		if checkListeners {
			t.Run("Every listener has the route attached", func(t *testing.T) {
				group := gwapiv1.Group(gwapiv1.GroupName)
				var want []gwapiv1.ListenerStatus
				for _, l := range listeners {
					want = append(want, gwapiv1.ListenerStatus{
						Name:           gwapiv1.SectionName(l),
						SupportedKinds: []gwapiv1.RouteGroupKind{{Group: &group, Kind: k.kind}},
						AttachedRoutes: 1,
						Conditions: []metav1.Condition{ // any reason
							{Type: string(gwapiv1.ListenerConditionAccepted), Status: metav1.ConditionTrue},
							{Type: string(gwapiv1.ListenerConditionResolvedRefs), Status: metav1.ConditionTrue},
						},
					})
				}
				kubernetes.GatewayStatusMustHaveListeners(t, s.Client, s.TimeoutConfig, gwNN, want)
			})
		}
		for _, l := range listeners {
			t.Run("Traffic through listener "+l, func(t *testing.T) {
				gatewayAddressed(t, s, kubernetes.NewGatewayRef(gwNN, l))
				send(t)
			})
		}
	}
}

// parentRefPortAndSectionName: for each route (to a listener by port, by sectionName, by both),
// the route accepted by the Gateway, the listener's address; then traffic to that listener.
func parentRefPortAndSectionName(k l4Routes, gateway string, listenerOfRoute map[string]string) statusOnlyCheck {
	return func(t *testing.T, s *suite.ConformanceTestSuite, send func(t *testing.T)) {
		gwNN := infra(gateway)
		kubernetes.NamespacesMustBeReady(t, s.Client, s.TimeoutConfig, []string{suite.InfrastructureNamespace})
		for _, route := range slices.Sorted(maps.Keys(listenerOfRoute)) { // by port, by section, by both
			t.Run(route+" attaches to listener "+listenerOfRoute[route], func(t *testing.T) {
				k.hasParents(t, s.Client, s.TimeoutConfig, infra(route), acceptedBy(s, gwNN), false)
				gatewayAddressed(t, s, kubernetes.NewGatewayRef(gwNN, listenerOfRoute[route]))
				send(t)
			})
		}
	}
}

type referenceGrantTest struct {
	gateway    kubernetes.GatewayRef
	route      string
	grant      types.NamespacedName // the ReferenceGrant letting the route reach its backend
	namespaces []string             // waited for
	// resolvedBeforeConnecting: the route's references resolved is asserted before traffic
	// (UDPRoute's test).
	resolvedBeforeConnecting bool
}

// referenceGrant: the Gateway and the route (to a backend in another namespace, granted)
// accepted, (for UDPRoute) its references resolved; traffic; then the ReferenceGrant deleted and
// the route's references no longer permitted.
func referenceGrant(k l4Routes, c referenceGrantTest) statusOnlyCheck {
	return func(t *testing.T, s *suite.ConformanceTestSuite, send func(t *testing.T)) {
		gwNN, routeNN := c.gateway.NamespacedName, infra(c.route)
		kubernetes.NamespacesMustBeReady(t, s.Client, s.TimeoutConfig, c.namespaces)
		k.accepted(t, s.Client, s.TimeoutConfig, s.ControllerName, c.gateway, routeNN)
		if c.resolvedBeforeConnecting {
			t.Run("ResolvedRefs True", func(t *testing.T) {
				k.hasCondition(t, s.Client, s.TimeoutConfig, routeNN, gwNN,
					condition(gwapiv1.RouteConditionResolvedRefs, metav1.ConditionTrue, gwapiv1.RouteReasonResolvedRefs))
			})
		}
		t.Run("Traffic reaches the backend in the other namespace", send)

		ctx, cancel := context.WithTimeout(context.Background(), s.TimeoutConfig.DeleteTimeout)
		defer cancel()
		grant := &gwapiv1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Namespace: c.grant.Namespace, Name: c.grant.Name}}
		require.NoError(t, s.Client.Delete(ctx, grant))
		t.Run("ResolvedRefs False, reason RefNotPermitted, once the ReferenceGrant is deleted", func(t *testing.T) {
			k.hasCondition(t, s.Client, s.TimeoutConfig, routeNN, gwNN,
				condition(gwapiv1.RouteConditionResolvedRefs, metav1.ConditionFalse, gwapiv1.RouteReasonRefNotPermitted))
		})
	}
}

// weightedRouting: the Gateway and the route accepted; then traffic, expected spread by weight.
func weightedRouting(k l4Routes, gateway kubernetes.GatewayRef, route string) statusOnlyCheck {
	return func(t *testing.T, s *suite.ConformanceTestSuite, send func(t *testing.T)) {
		kubernetes.NamespacesMustBeReady(t, s.Client, s.TimeoutConfig, []string{suite.InfrastructureNamespace})
		k.accepted(t, s.Client, s.TimeoutConfig, s.ControllerName, gateway, infra(route))
		t.Run("Traffic spread by weight", send)
	}
}

// udpRouteSimple: in one subtest, the Gateway and the route accepted, then a DNS query.
func udpRouteSimple(t *testing.T, s *suite.ConformanceTestSuite, send func(t *testing.T)) {
	t.Run("UDP request reaches the DNS backend", func(t *testing.T) {
		udpRoutes.accepted(t, s.Client, s.TimeoutConfig, s.ControllerName, kubernetes.NewGatewayRef(infra("udp-gateway")), infra("udp-coredns"))
		send(t)
	})
}
