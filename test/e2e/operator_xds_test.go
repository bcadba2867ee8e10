//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	mutationrulesv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	earlyheadermutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/early_header_mutation/header_mutation/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// Assertions on the Envoy configuration Envoy Gateway serves to a generated Gateway's proxy,
// read over xDS as that proxy (see test/xds).

// ruleCluster is Envoy Gateway's cluster (and route-name prefix) of rule index of a route.
func ruleCluster(ns, route string, index int) string {
	return fmt.Sprintf("httproute/%s/%s/rule/%d", ns, route, index)
}

// extProcFilterPrefix is the name prefix of the ext_proc filter Envoy Gateway makes for an
// EnvoyExtensionPolicy.
func extProcFilterPrefix(ns, policy string) string {
	return fmt.Sprintf("envoy.filters.http.ext_proc/envoyextensionpolicy/%s/%s/", ns, policy)
}

// proxyConfig reads the configuration served to the proxy of the generated Gateway <gw>-eg
// until ready accepts it, and returns that snapshot.
func proxyConfig(t *testing.T, ns, gw string, ready func(*xds.Snapshot) error) *xds.Snapshot {
	t.Helper()
	client, err := xds.ForGateway(context.Background(), env.cfg, ns, gw+"-eg")
	if err != nil {
		t.Fatal(err)
	}
	var snap *xds.Snapshot
	start := time.Now()
	eventually(t, fmt.Sprintf("xDS of %s/%s-eg", ns, gw), func(ctx context.Context) error {
		s, err := client.Fetch(ctx)
		if err != nil {
			return err
		}
		if err := ready(s); err != nil {
			return err
		}
		snap = s
		return nil
	})
	t.Logf("xDS of %s/%s-eg as expected after %v", ns, gw, time.Since(start).Round(time.Millisecond))
	return snap
}

// poolClusterIs checks the rule's cluster: override_host reading the destination header with
// fallback, over exactly the endpoints (pod IP:port).
func poolClusterIs(s *xds.Snapshot, cluster, fallback string, endpoints []string) error {
	cl, err := s.Cluster(cluster)
	if err != nil {
		return err
	}
	oh, err := xds.OverrideHost(cl)
	if err != nil {
		return err
	}
	if len(oh.OverrideHostSources) != 1 || oh.OverrideHostSources[0].Header != translate.DestinationHeader {
		return fmt.Errorf("cluster %s: override host sources %v, want the header %s", cluster, oh.OverrideHostSources, translate.DestinationHeader)
	}
	got, _, err := xds.LoadBalancingPolicies(oh.FallbackPolicy)
	if err != nil {
		return err
	}
	if !slices.Equal(got, []string{fallback}) {
		return fmt.Errorf("cluster %s: fallback policies %v, want %s", cluster, got, fallback)
	}
	addrs, err := s.EndpointAddresses(cl)
	if err != nil {
		return err
	}
	endpoints = slices.Sorted(slices.Values(endpoints)) // as "ip:port" strings, like addrs
	if !slices.Equal(addrs, endpoints) {
		return fmt.Errorf("cluster %s: endpoints %v, want %v", cluster, addrs, endpoints)
	}
	return nil
}

// withPort appends :port to each IP, sorted as xds.Snapshot.EndpointAddresses sorts: IPs sorted
// alone and "IP:port" strings differ when one IP is a prefix of another (10.244.0.2 and
// 10.244.0.21).
func withPort(ips []string, port int) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = fmt.Sprintf("%s:%d", ip, port)
	}
	slices.Sort(out)
	return out
}

// extProcFilter returns the ext_proc filter of policy ns/policy on any listener, or nil.
func extProcFilter(s *xds.Snapshot, ns, policy string) *hcmv3.HttpFilter {
	f, _ := listenerFilter(s, extProcFilterPrefix(ns, policy))
	return f
}

// extProcOnRule checks that the ext_proc filter of policy ns/policy exists (disabled on the
// listener) and is enabled on every route of the rule, and returns its configuration.
func extProcOnRule(s *xds.Snapshot, ns, policy, rule string) (*extprocv3.ExternalProcessor, error) {
	f := extProcFilter(s, ns, policy)
	if f == nil {
		return nil, fmt.Errorf("no listener has the ext_proc filter %s*", extProcFilterPrefix(ns, policy))
	}
	if !f.Disabled {
		return nil, fmt.Errorf("ext_proc filter %s is enabled for every route, want it disabled on the listener", f.Name)
	}
	routes := s.RoutesWithPrefix(rule + "/")
	if len(routes) == 0 {
		return nil, fmt.Errorf("no route of %s (routes %v)", rule, s.RouteNames())
	}
	for _, r := range routes {
		on, err := xds.FilterEnabledOnRoute(r, f.Name)
		if err != nil {
			return nil, err
		}
		if !on {
			return nil, fmt.Errorf("route %s does not enable %s", r.Name, f.Name)
		}
	}
	return xds.ExtProc(f)
}

// noExtProcOnRule checks that no ext_proc filter runs on the rule's routes.
func noExtProcOnRule(s *xds.Snapshot, rule string) error {
	routes := s.RoutesWithPrefix(rule + "/")
	if len(routes) == 0 {
		return fmt.Errorf("no route of %s (routes %v)", rule, s.RouteNames())
	}
	for _, r := range routes {
		for name := range r.GetTypedPerFilterConfig() {
			if strings.HasPrefix(name, "envoy.filters.http.ext_proc/") {
				if on, err := xds.FilterEnabledOnRoute(r, name); err != nil || on {
					return fmt.Errorf("route %s enables %s (%v)", r.Name, name, err)
				}
			}
		}
	}
	return nil
}

// extProcSettings checks an ext_proc configuration against what the operator asks for:
// full-duplex streamed bodies with trailers, the message timeout, fail-closed, the envoy.lb
// metadata namespaces. It returns the cluster it calls.
func extProcSettings(ep *extprocv3.ExternalProcessor, timeout time.Duration) (string, error) {
	pm := ep.GetProcessingMode()
	var errs []string
	if pm.GetRequestBodyMode() != extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED || pm.GetResponseBodyMode() != extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED {
		errs = append(errs, fmt.Sprintf("body modes %v/%v, want FULL_DUPLEX_STREAMED", pm.GetRequestBodyMode(), pm.GetResponseBodyMode()))
	}
	if pm.GetRequestTrailerMode() != extprocv3.ProcessingMode_SEND || pm.GetResponseTrailerMode() != extprocv3.ProcessingMode_SEND {
		errs = append(errs, fmt.Sprintf("trailer modes %v/%v, want SEND", pm.GetRequestTrailerMode(), pm.GetResponseTrailerMode()))
	}
	if pm.GetRequestHeaderMode() == extprocv3.ProcessingMode_SKIP {
		errs = append(errs, "request headers skipped")
	}
	if got := ep.GetMessageTimeout().AsDuration(); got != timeout {
		errs = append(errs, fmt.Sprintf("message timeout %v, want %v", got, timeout))
	}
	if ep.GetFailureModeAllow() {
		errs = append(errs, "failure_mode_allow is true, want fail-closed")
	}
	if md := ep.GetMetadataOptions().GetReceivingNamespaces().GetUntyped(); !slices.Equal(md, []string{"envoy.lb"}) {
		errs = append(errs, fmt.Sprintf("receiving metadata namespaces %v, want [envoy.lb]", md))
	}
	if md := ep.GetMetadataOptions().GetForwardingNamespaces().GetUntyped(); !slices.Equal(md, []string{"envoy.lb"}) {
		errs = append(errs, fmt.Sprintf("forwarding metadata namespaces %v, want [envoy.lb]", md))
	}
	cluster := ep.GetGrpcService().GetEnvoyGrpc().GetClusterName()
	if cluster == "" {
		errs = append(errs, "no envoy_grpc cluster")
	}
	if len(errs) > 0 {
		return cluster, fmt.Errorf("ext_proc: %s", strings.Join(errs, "; "))
	}
	return cluster, nil
}

// eppCluster describes how Envoy reaches an EPP.
type eppCluster struct {
	TLS       bool     // a TLS transport socket
	Verified  bool     // the TLS context validates the server's certificate
	SNI       string   // the TLS context's SNI, when set
	HTTP2     bool     // HTTP/2 to the upstream (gRPC)
	Endpoints []string // its load assignment's endpoints (EDS or static), host:port, sorted
	// GRPCHealthService is the service its gRPC health check asks for ("-" when it has no
	// health check); Outlier tells whether it has outlier detection.
	GRPCHealthService string
	Outlier           bool
}

// describeEPPCluster decodes the EPP cluster's transport, protocol and endpoints.
func describeEPPCluster(s *xds.Snapshot, name string) (eppCluster, error) {
	var d eppCluster
	cl, err := s.Cluster(name)
	if err != nil {
		return d, err
	}
	if ts := transportSocket(cl); ts != nil {
		d.TLS = true
		tc := &tlsv3.UpstreamTlsContext{}
		if err := ts.GetTypedConfig().UnmarshalTo(tc); err != nil {
			return d, fmt.Errorf("cluster %s transport socket: %w", name, err)
		}
		d.SNI = tc.GetSni()
		ctx := tc.GetCommonTlsContext()
		d.Verified = ctx.GetValidationContext() != nil || ctx.GetValidationContextSdsSecretConfig() != nil ||
			ctx.GetCombinedValidationContext() != nil
	}
	if a, ok := cl.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]; ok {
		po := &httpv3.HttpProtocolOptions{}
		if err := a.UnmarshalTo(po); err != nil {
			return d, err
		}
		d.HTTP2 = po.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
	}
	d.GRPCHealthService = "-"
	for _, hc := range cl.GetHealthChecks() {
		if g := hc.GetGrpcHealthCheck(); g != nil {
			d.GRPCHealthService = g.GetServiceName()
		}
	}
	d.Outlier = cl.GetOutlierDetection() != nil
	cla := cl.GetLoadAssignment()
	if cl.GetType() == clusterv3.Cluster_EDS {
		cla = s.LoadAssignments[cl.GetEdsClusterConfig().GetServiceName()]
		if cla == nil {
			cla = s.LoadAssignments[cl.Name]
		}
	}
	for _, l := range cla.GetEndpoints() {
		for _, e := range l.GetLbEndpoints() {
			addr := e.GetEndpoint().GetAddress().GetSocketAddress()
			d.Endpoints = append(d.Endpoints, net.JoinHostPort(addr.GetAddress(), strconv.Itoa(int(addr.GetPortValue()))))
		}
	}
	slices.Sort(d.Endpoints)
	return d, nil
}

// transportSocket returns the TLS transport socket Envoy uses for the cluster's endpoints.
// Envoy Gateway puts it in a transport socket match and leaves a placeholder named
// "dummy.transport_socket" as the cluster's own socket, which is never used.
func transportSocket(cl *clusterv3.Cluster) *corev3.TransportSocket {
	for _, m := range cl.GetTransportSocketMatches() {
		if ts := m.GetTransportSocket(); ts != nil {
			return ts
		}
	}
	if ts := cl.GetTransportSocket(); ts != nil && ts.GetName() != "dummy.transport_socket" {
		return ts
	}
	return nil
}

// earlyRemovedHeaders returns the headers that the listener's HTTP connection managers with
// routes (RDS) remove with an early header mutation, before routing and before any filter can
// read them, and whether it has such a connection manager at all (Envoy Gateway's own
// listeners, such as the readiness one, have none).
func earlyRemovedHeaders(l *listenerv3.Listener) (removed []string, routed bool, err error) {
	chains := append([]*listenerv3.FilterChain{}, l.GetFilterChains()...)
	if l.GetDefaultFilterChain() != nil {
		chains = append(chains, l.GetDefaultFilterChain())
	}
	for _, chain := range chains {
		for _, f := range chain.GetFilters() {
			hcm := &hcmv3.HttpConnectionManager{}
			if f.GetTypedConfig() == nil || f.GetTypedConfig().UnmarshalTo(hcm) != nil || hcm.GetRds() == nil {
				continue
			}
			routed = true
			for _, ext := range hcm.GetEarlyHeaderMutationExtensions() {
				hm := &earlyheadermutationv3.HeaderMutation{}
				if err := ext.GetTypedConfig().UnmarshalTo(hm); err != nil {
					return nil, true, fmt.Errorf("listener %s early header mutation %s: %w", l.Name, ext.GetName(), err)
				}
				for _, m := range hm.GetMutations() {
					if r, ok := m.GetAction().(*mutationrulesv3.HeaderMutation_Remove); ok {
						removed = append(removed, r.Remove)
					}
				}
			}
		}
	}
	return removed, routed, nil
}

// destinationHeaderStripped checks every listener of the proxy that routes requests removes the
// destination header early.
func destinationHeaderStripped(s *xds.Snapshot) error {
	routing := 0
	for name, l := range s.Listeners {
		removed, routed, err := earlyRemovedHeaders(l)
		if err != nil {
			return err
		}
		if !routed {
			continue
		}
		routing++
		if !slices.Contains(removed, translate.DestinationHeader) {
			return fmt.Errorf("listener %s removes %v early, not %s", name, removed, translate.DestinationHeader)
		}
	}
	if routing == 0 {
		return fmt.Errorf("no listener routes requests (listeners %d)", len(s.Listeners))
	}
	return nil
}

// directResponse returns the status of the direct response of the rule's routes (0 when they
// route to a cluster).
func directResponse(s *xds.Snapshot, rule string) (uint32, error) {
	routes := s.RoutesWithPrefix(rule + "/")
	if len(routes) == 0 {
		return 0, fmt.Errorf("no route of %s (routes %v)", rule, s.RouteNames())
	}
	var status uint32
	for _, r := range routes {
		if dr, ok := r.GetAction().(*routev3.Route_DirectResponse); ok {
			status = dr.DirectResponse.GetStatus()
		} else if status != 0 {
			return 0, fmt.Errorf("routes of %s disagree", rule)
		}
	}
	return status, nil
}
