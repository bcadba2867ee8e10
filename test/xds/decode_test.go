package xds

import (
	"slices"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	least_requestv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/least_request/v3"
	override_hostv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/override_host/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

func mustAny(t *testing.T, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func policy(t *testing.T, name string, m proto.Message) *clusterv3.LoadBalancingPolicy {
	return &clusterv3.LoadBalancingPolicy{Policies: []*clusterv3.LoadBalancingPolicy_Policy{{
		TypedExtensionConfig: &corev3.TypedExtensionConfig{Name: name, TypedConfig: mustAny(t, m)},
	}}}
}

func TestOverrideHost(t *testing.T) {
	c := &clusterv3.Cluster{
		Name: "httproute/ns/route/rule/0",
		LoadBalancingPolicy: policy(t, OverrideHostPolicyName, &override_hostv3.OverrideHost{
			OverrideHostSources: []*override_hostv3.OverrideHost_OverrideHostSource{{Header: "x-gateway-destination-endpoint"}},
			FallbackPolicy:      policy(t, "envoy.load_balancing_policies.least_request", &least_requestv3.LeastRequest{}),
		}),
	}
	oh, err := OverrideHost(c)
	if err != nil {
		t.Fatal(err)
	}
	if oh.OverrideHostSources[0].Header != "x-gateway-destination-endpoint" {
		t.Errorf("sources %v", oh.OverrideHostSources)
	}
	names, configs, err := LoadBalancingPolicies(oh.FallbackPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"envoy.load_balancing_policies.least_request"}) {
		t.Errorf("fallback names %v", names)
	}
	if _, ok := configs[0].(*least_requestv3.LeastRequest); !ok {
		t.Errorf("fallback config %T, want *LeastRequest", configs[0])
	}

	plain := &clusterv3.Cluster{Name: "plain", LbPolicy: clusterv3.Cluster_LEAST_REQUEST}
	if _, err := OverrideHost(plain); err == nil {
		t.Error("OverrideHost of a cluster without the policy: want an error")
	}
}

func TestHTTPFiltersAndRouteConfigNames(t *testing.T) {
	ep := &extprocv3.ExternalProcessor{FailureModeAllow: false}
	hcm := &hcmv3.HttpConnectionManager{
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{RouteConfigName: "ns/gw/http"}},
		HttpFilters: []*hcmv3.HttpFilter{
			{Name: "envoy.filters.http.ext_proc/envoyextensionpolicy/ns/pool/extproc/0", Disabled: true,
				ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(t, ep)}},
			{Name: "envoy.filters.http.router"},
		},
	}
	l := &listenerv3.Listener{
		Name: "ns/gw/http",
		FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
			Name: "envoy.filters.network.http_connection_manager", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(t, hcm)},
		}}}},
	}
	filters, err := HTTPFilters(l)
	if err != nil {
		t.Fatal(err)
	}
	if got := FilterNames(filters); len(got) != 2 || got[1] != "envoy.filters.http.router" {
		t.Errorf("filters %v", got)
	}
	f := HTTPFilter(filters, "envoy.filters.http.ext_proc/")
	if f == nil || !f.Disabled {
		t.Fatalf("ext_proc filter %v", f)
	}
	if _, err := ExtProc(f); err != nil {
		t.Error(err)
	}
	if _, err := ExtProc(filters[1]); err == nil {
		t.Error("ExtProc of the router filter: want an error")
	}
	if HTTPFilter(filters, "envoy.filters.http.ext_authz") != nil {
		t.Error("found a filter that is not there")
	}
	names, err := routeConfigNames(l)
	if err != nil || !slices.Equal(names, []string{"ns/gw/http"}) {
		t.Errorf("route config names %v (%v)", names, err)
	}
}

func TestFilterEnabledOnRoute(t *testing.T) {
	const filter = "envoy.filters.http.ext_proc/envoyextensionpolicy/ns/pool/extproc/0"
	route := func(cfg proto.Message) *routev3.Route {
		r := &routev3.Route{Name: "r"}
		if cfg != nil {
			r.TypedPerFilterConfig = map[string]*anypb.Any{filter: mustAny(t, cfg)}
		}
		return r
	}
	for _, tc := range []struct {
		name string
		cfg  proto.Message
		want bool
	}{
		{"no per-route config", nil, false},
		{"FilterConfig enabling it (as Envoy Gateway writes it)", &routev3.FilterConfig{Config: &anypb.Any{}}, true},
		{"FilterConfig disabling it", &routev3.FilterConfig{Disabled: true}, false},
		{"a filter-specific per-route config", &extprocv3.ExtProcPerRoute{}, true},
	} {
		got, err := FilterEnabledOnRoute(route(tc.cfg), filter)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: enabled %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSnapshotLookups(t *testing.T) {
	lb := func(ip string, port uint32) *endpointv3.LbEndpoint {
		return &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
			Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
				Address: ip, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}},
		}}}
	}
	eds := &clusterv3.Cluster{
		Name:                 "httproute/ns/route/rule/0",
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig:     &clusterv3.Cluster_EdsClusterConfig{ServiceName: "httproute/ns/route/rule/0"},
	}
	s := &Snapshot{
		Clusters: map[string]*clusterv3.Cluster{eds.Name: eds, "httproute/ns/route/rule/10": {Name: "httproute/ns/route/rule/10"}},
		LoadAssignments: map[string]*endpointv3.ClusterLoadAssignment{eds.Name: {
			ClusterName: eds.Name,
			Endpoints:   []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{lb("10.244.0.9", 8000), lb("10.244.0.10", 8000)}}},
		}},
		Routes: map[string]*routev3.RouteConfiguration{"ns/gw/http": {VirtualHosts: []*routev3.VirtualHost{{
			Routes: []*routev3.Route{{Name: "httproute/ns/route/rule/0/match/0/*"}, {Name: "httproute/ns/other/rule/0/match/0/*"}},
		}}}},
	}
	if c, err := s.Cluster("httproute/ns/route/rule/1"); err == nil {
		t.Errorf("Cluster is an exact lookup; rule/1 found %s", c.Name)
	}
	if got := len(s.ClustersWithPrefix("httproute/ns/route/rule/")); got != 2 {
		t.Errorf("%d clusters with the prefix, want 2", got)
	}
	got, err := s.EndpointAddresses(eds)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"10.244.0.10:8000", "10.244.0.9:8000"}) {
		t.Errorf("endpoints %v", got)
	}
	if _, err := s.Endpoints(&clusterv3.Cluster{Name: "missing"}); err == nil {
		t.Error("Endpoints of a cluster without a load assignment: want an error")
	}
	if rs := s.RoutesWithPrefix("httproute/ns/route/"); len(rs) != 1 {
		t.Errorf("routes %v", rs)
	}
}
