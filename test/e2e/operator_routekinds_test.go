//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// routeKindsGatewayYAML is a Gateway with a listener per protocol Envoy Gateway serves routes
// on besides HTTP: TLS passthrough, TCP and UDP; and a second HTTP listener, llm, for the
// GRPCRoute to a pool (one route per listener).
const routeKindsGatewayYAML = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: {{.Namespace}}}
spec:
  gatewayClassName: {{.Class}}
  listeners:
  - {name: http, protocol: HTTP, port: 80}
  - {name: llm, protocol: HTTP, port: 8080}
  - {name: tls, protocol: TLS, port: 443, tls: {mode: Passthrough}}
  - {name: tcp, protocol: TCP, port: 5432}
  - {name: udp, protocol: UDP, port: 5353}
`

// routeKindsYAML attaches one route of each kind served by copy to the Gateway's listener of
// its protocol, each to the pods app=echo: through the Service echo (TCP 8000), the UDPRoute
// through echo-udp (UDP 5353; Envoy Gateway wants a UDP port for it). A second GRPCRoute,
// chat-llm, sends its rule to the InferencePool grpc-llm of gRPC model servers.
const routeKindsYAML = `
apiVersion: v1
kind: Service
metadata: {name: echo-udp, namespace: {{.Namespace}}}
spec:
  selector: {app: echo}
  ports: [{name: dns, protocol: UDP, port: 5353, targetPort: 5353}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: chat, namespace: {{.Namespace}}}
spec:
  parentRefs: [{name: gw, sectionName: http}]
  hostnames: [grpc.example.com]
  rules:
  - matches: [{method: {service: chat.Chat, method: Send}}]
    backendRefs: [{name: echo, port: 8000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: chat-llm, namespace: {{.Namespace}}}
spec:
  parentRefs: [{name: gw, sectionName: llm}]
  hostnames: [llm.example.com]
  rules:
  - matches: [{method: {service: chat.Chat, method: Generate}}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: grpc-llm}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: secure, namespace: {{.Namespace}}}
spec:
  parentRefs: [{name: gw, sectionName: tls}]
  hostnames: [secure.example.com]
  rules:
  - backendRefs: [{name: echo, port: 8000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: {name: db, namespace: {{.Namespace}}}
spec:
  parentRefs: [{name: gw, sectionName: tcp}]
  rules:
  - backendRefs: [{name: echo, port: 8000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: UDPRoute
metadata: {name: dns, namespace: {{.Namespace}}}
spec:
  parentRefs: [{name: gw, sectionName: udp}]
  rules:
  - backendRefs: [{name: echo-udp, port: 5353}]
`

// TestRouteKindsServed: on the real Envoy Gateway, a GRPCRoute, a TLSRoute, a TCPRoute and a
// UDPRoute attached to a Gateway of the operator's class are served as on a Gateway of Envoy
// Gateway's own class: each route's status mirrors Envoy Gateway's acceptance of its copy, and
// the proxy's xDS has, for each, what Envoy Gateway makes of such a route: the GRPCRoute's
// method match as a route on its hostname to an HTTP/2 cluster of the Service's endpoints, the
// TLSRoute's SNI in a filter chain proxying TCP to its cluster, the TCPRoute's TCP proxy, and the
// UDPRoute's UDP listener with its cluster (of the pods' UDP port).
func TestRouteKindsServed(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, "{}")
	applyTemplate(t, routeKindsGatewayYAML, map[string]any{"Namespace": ns, "Class": class})
	applyTemplate(t, modelServersYAML, map[string]any{"Namespace": ns, "Name": "echo", "Replicas": 2})
	applyTemplate(t, serviceYAML, map[string]any{"Namespace": ns, "Name": "echo", "Headless": false})
	model{Namespace: ns, Name: "grpc-llm", Replicas: 2, AppProtocol: translate.AppProtocolH2C}.apply(t)
	applyTemplate(t, routeKindsYAML, map[string]any{"Namespace": ns})
	waitGatewayProgrammed(t, c, ns, "gw", 1)

	routes := []client.Object{
		&gwapiv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Name: "chat"}},
		&gwapiv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Name: "chat-llm"}},
		&gwapiv1.TLSRoute{ObjectMeta: metav1.ObjectMeta{Name: "secure"}},
		&gwapiv1.TCPRoute{ObjectMeta: metav1.ObjectMeta{Name: "db"}},
		&gwapiv1.UDPRoute{ObjectMeta: metav1.ObjectMeta{Name: "dns"}},
	}
	for _, r := range routes {
		kind := strings.TrimPrefix(fmt.Sprintf("%T", r), "*v1.")
		k := translate.CopiedRouteKindOf(kind)
		eventually(t, kind+" accepted through its copy", func(ctx context.Context) error {
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: r.GetName()}, r); err != nil {
				return err
			}
			_, st := k.Parts(r)
			if len(st.Parents) != 1 || string(st.Parents[0].ControllerName) != translate.ControllerName {
				return fmt.Errorf("parents %+v, want one entry, ours", st.Parents)
			}
			for _, typ := range []string{"Accepted", "ResolvedRefs"} {
				if err := conditionIs(st.Parents[0].Conditions, typ, metav1.ConditionTrue, "", r.GetGeneration()); err != nil {
					return err
				}
			}
			return nil
		})
	}

	waitPoolStatus(t, c, ns, "grpc-llm", ns, "gw", "True", "ResolvedRefs")
	waitAccepted(t, c, waitGenerated(t, c, kindBackendTraffic, ns, "grpc-llm", 1))
	eep := waitGenerated(t, c, kindEnvoyExtension, ns, "grpc-llm", 1)
	waitAccepted(t, c, eep)

	ips := readyPodIPs(t, c, ns, "app=echo", 2)
	endpoints := withPort(ips, 8000)
	poolEndpoints := withPort(readyPodIPs(t, c, ns, "app=grpc-llm", 2), 8000)
	proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
		var problems []string
		for _, check := range []func(*xds.Snapshot) error{
			func(s *xds.Snapshot) error { return grpcRouteServed(s, ns, endpoints) },
			func(s *xds.Snapshot) error { return grpcPoolRouteServed(s, ns, eep[0].GetName(), poolEndpoints) },
			func(s *xds.Snapshot) error { return tlsPassthroughServed(s, ns, endpoints) },
			func(s *xds.Snapshot) error { return tcpRouteServed(s, ns, endpoints) },
			func(s *xds.Snapshot) error { return udpRouteServed(s, ns, withPort(ips, 5353)) },
		} {
			if err := check(s); err != nil {
				problems = append(problems, err.Error())
			}
		}
		if len(problems) > 0 {
			return fmt.Errorf("%s", strings.Join(problems, "; "))
		}
		return nil
	})
}

// grpcRouteServed: the GRPCRoute's copy is a route on grpc.example.com matching the path
// /chat.Chat/Send, to a cluster that speaks HTTP/2 to the Service's endpoints.
func grpcRouteServed(s *xds.Snapshot, ns string, endpoints []string) error {
	prefix := fmt.Sprintf("grpcroute/%s/%s/", ns, translate.GeneratedRouteName("chat"))
	var found []*routev3.Route
	for _, rc := range s.Routes {
		for _, vh := range rc.VirtualHosts {
			for _, r := range vh.Routes {
				if strings.HasPrefix(r.Name, prefix) {
					if !slices.Contains(vh.Domains, "grpc.example.com") {
						return fmt.Errorf("GRPCRoute route %s on domains %v", r.Name, vh.Domains)
					}
					found = append(found, r)
				}
			}
		}
	}
	if len(found) != 1 {
		return fmt.Errorf("%d routes named %s*, want 1", len(found), prefix)
	}
	r := found[0]
	if p := r.GetMatch().GetPath(); p != "/chat.Chat/Send" {
		return fmt.Errorf("GRPCRoute route matches %v, want path /chat.Chat/Send", r.GetMatch())
	}
	cl, err := s.Cluster(r.GetRoute().GetCluster())
	if err != nil {
		return err
	}
	po := &httpv3.HttpProtocolOptions{}
	a, ok := cl.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
	if !ok || a.UnmarshalTo(po) != nil || po.GetExplicitHttpConfig().GetHttp2ProtocolOptions() == nil {
		return fmt.Errorf("GRPCRoute cluster %s does not speak HTTP/2: %v", cl.Name, cl.GetTypedExtensionProtocolOptions())
	}
	return clusterEndpointsAre(s, cl, endpoints)
}

// grpcPoolRouteServed: the GRPCRoute chat-llm's rule to the h2c pool grpc-llm is a route on
// llm.example.com matching /chat.Chat/Generate, to ONE cluster that speaks HTTP/2 (the shadow
// Service's appProtocol kubernetes.io/h2c; Envoy Gateway's GRPCRoute clusters do anyway) with
// override_host on the endpoint picker's header over the pool's pods, the picker's ext_proc
// enabled on the route, and the route timeout switched off (0s, instead of Envoy's 15 s
// RouteAction timeout default) with a 1 h idle bound: the pool's policy's requestTimeout, as a
// GRPCRoute rule has no timeouts.
func grpcPoolRouteServed(s *xds.Snapshot, ns, eep string, endpoints []string) error {
	rule := fmt.Sprintf("grpcroute/%s/%s/rule/0", ns, translate.GeneratedRouteName("chat-llm"))
	routes := s.RoutesWithPrefix(rule + "/")
	if len(routes) != 1 {
		return fmt.Errorf("%d routes of %s, want 1 (routes %v)", len(routes), rule, s.RouteNames())
	}
	if p := routes[0].GetMatch().GetPath(); p != "/chat.Chat/Generate" {
		return fmt.Errorf("route %s matches %v, want path /chat.Chat/Generate", routes[0].Name, routes[0].GetMatch())
	}
	a, err := routeAction(s, rule)
	if err != nil {
		return err
	}
	if a.GetCluster() != rule {
		return fmt.Errorf("rule routes to %v, want the single cluster %s", a.GetClusterSpecifier(), rule)
	}
	cl, err := s.Cluster(rule)
	if err != nil {
		return err
	}
	po := &httpv3.HttpProtocolOptions{}
	if a, ok := cl.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]; !ok || a.UnmarshalTo(po) != nil || po.GetExplicitHttpConfig().GetHttp2ProtocolOptions() == nil {
		return fmt.Errorf("pool cluster %s does not speak HTTP/2: %v", cl.Name, cl.GetTypedExtensionProtocolOptions())
	}
	if err := poolClusterIs(s, rule, leastRequest, endpoints); err != nil {
		return err
	}
	if _, err := extProcOnRule(s, ns, eep, rule); err != nil {
		return err
	}
	return routeTimeouts(s, rule, 0, time.Hour)
}

// tlsPassthroughServed: a filter chain matching the SNI secure.example.com proxies TCP, without
// terminating TLS, to the TLSRoute's cluster.
func tlsPassthroughServed(s *xds.Snapshot, ns string, endpoints []string) error {
	prefix := fmt.Sprintf("tlsroute/%s/%s/", ns, translate.GeneratedRouteName("secure"))
	for _, l := range s.Listeners {
		for _, fc := range l.FilterChains {
			if !slices.Contains(fc.GetFilterChainMatch().GetServerNames(), "secure.example.com") {
				continue
			}
			if fc.TransportSocket != nil {
				return fmt.Errorf("the TLSRoute's filter chain terminates TLS (%s): passthrough must not", fc.TransportSocket.Name)
			}
			return tcpProxyTo(s, fc, prefix, endpoints)
		}
	}
	return fmt.Errorf("no filter chain matches SNI secure.example.com")
}

// tcpRouteServed: a TCP listener's filter chain proxies to the TCPRoute's cluster.
func tcpRouteServed(s *xds.Snapshot, ns string, endpoints []string) error {
	prefix := fmt.Sprintf("tcproute/%s/%s/", ns, translate.GeneratedRouteName("db"))
	for _, l := range s.Listeners {
		for _, fc := range l.FilterChains {
			if err := tcpProxyTo(s, fc, prefix, endpoints); err == nil {
				return nil
			}
		}
	}
	return fmt.Errorf("no filter chain proxies TCP to a cluster %s*", prefix)
}

// tcpProxyTo checks that fc's network filters end in a TCP proxy to a cluster named prefix*
// with the endpoints.
func tcpProxyTo(s *xds.Snapshot, fc *listenerv3.FilterChain, prefix string, endpoints []string) error {
	for _, f := range fc.Filters {
		tp := &tcpproxyv3.TcpProxy{}
		if f.GetTypedConfig() == nil || f.GetTypedConfig().UnmarshalTo(tp) != nil {
			continue
		}
		if !strings.HasPrefix(tp.GetCluster(), prefix) {
			return fmt.Errorf("TCP proxy to %q, want %s*", tp.GetCluster(), prefix)
		}
		cl, err := s.Cluster(tp.GetCluster())
		if err != nil {
			return err
		}
		return clusterEndpointsAre(s, cl, endpoints)
	}
	return fmt.Errorf("filter chain %s has no TCP proxy", fc.Name)
}

// udpRouteServed: a UDP listener exists and the UDPRoute's cluster has the endpoints.
func udpRouteServed(s *xds.Snapshot, ns string, endpoints []string) error {
	udp := false
	for _, l := range s.Listeners {
		if l.GetAddress().GetSocketAddress().GetProtocol() == corev3.SocketAddress_UDP && len(l.ListenerFilters) > 0 {
			udp = true
		}
	}
	if !udp {
		return fmt.Errorf("no UDP listener with a listener filter")
	}
	clusters := s.ClustersWithPrefix(fmt.Sprintf("udproute/%s/%s/", ns, translate.GeneratedRouteName("dns")))
	if len(clusters) != 1 {
		return fmt.Errorf("%d UDPRoute clusters, want 1", len(clusters))
	}
	return clusterEndpointsAre(s, clusters[0], endpoints)
}

// clusterEndpointsAre checks a cluster's endpoints ("ip:port", sorted).
func clusterEndpointsAre(s *xds.Snapshot, cl *clusterv3.Cluster, want []string) error {
	got, err := s.EndpointAddresses(cl)
	if err != nil {
		return err
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("cluster %s endpoints %v, want %v", cl.Name, got, want)
	}
	return nil
}
