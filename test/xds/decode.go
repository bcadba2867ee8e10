package xds

import (
	"fmt"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	override_hostv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/override_host/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	// Types that appear inside the Any fields the helpers unpack; importing registers them.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/client_side_weighted_round_robin/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/least_request/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/maglev/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/random/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/ring_hash/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/round_robin/v3"
)

// OverrideHostPolicyName is the load-balancing policy Envoy Gateway uses for a
// BackendTrafficPolicy with loadBalancer.endpointOverride.
const OverrideHostPolicyName = "envoy.load_balancing_policies.override_host"

// LoadBalancingPolicies returns the names and unpacked configurations of a cluster's
// load_balancing_policy entries (empty when the cluster uses the legacy lb_policy field).
func LoadBalancingPolicies(p *clusterv3.LoadBalancingPolicy) (names []string, configs []proto.Message, err error) {
	for _, policy := range p.GetPolicies() {
		tec := policy.GetTypedExtensionConfig()
		m, err := unpack(tec.GetTypedConfig())
		if err != nil {
			return nil, nil, fmt.Errorf("policy %s: %w", tec.GetName(), err)
		}
		names = append(names, tec.GetName())
		configs = append(configs, m)
	}
	return names, configs, nil
}

// OverrideHost returns the cluster's override_host policy: the sources it reads the
// destination from (OverrideHostSources[].Header) and its FallbackPolicy.
func OverrideHost(c *clusterv3.Cluster) (*override_hostv3.OverrideHost, error) {
	names, configs, err := LoadBalancingPolicies(c.GetLoadBalancingPolicy())
	if err != nil {
		return nil, err
	}
	for i, name := range names {
		if oh, ok := configs[i].(*override_hostv3.OverrideHost); ok && name == OverrideHostPolicyName {
			return oh, nil
		}
	}
	return nil, fmt.Errorf("cluster %s has no %s policy (policies %v, lb_policy %v)", c.Name, OverrideHostPolicyName, names, c.GetLbPolicy())
}

// HTTPFilters returns the HTTP filters of every HTTP connection manager of the listener (all
// filter chains, the default one included), in order.
func HTTPFilters(l *listenerv3.Listener) ([]*hcmv3.HttpFilter, error) {
	var out []*hcmv3.HttpFilter
	err := eachHCM(l, func(hcm *hcmv3.HttpConnectionManager) {
		out = append(out, hcm.HttpFilters...)
	})
	return out, err
}

// ConnectionManagers returns the HTTP connection managers of the listener (all filter chains,
// the default one included).
func ConnectionManagers(l *listenerv3.Listener) ([]*hcmv3.HttpConnectionManager, error) {
	var out []*hcmv3.HttpConnectionManager
	err := eachHCM(l, func(hcm *hcmv3.HttpConnectionManager) { out = append(out, hcm) })
	return out, err
}

// HTTPFilter returns the first filter whose name starts with prefix, or nil. Envoy Gateway
// names an EnvoyExtensionPolicy's ext_proc filter
// "envoy.filters.http.ext_proc/envoyextensionpolicy/<namespace>/<name>/extproc/<index>".
func HTTPFilter(filters []*hcmv3.HttpFilter, prefix string) *hcmv3.HttpFilter {
	for _, f := range filters {
		if strings.HasPrefix(f.Name, prefix) {
			return f
		}
	}
	return nil
}

// FilterNames returns the filters' names (for failure messages).
func FilterNames(filters []*hcmv3.HttpFilter) []string {
	out := make([]string, len(filters))
	for i, f := range filters {
		out[i] = f.Name
	}
	return out
}

// ExtProc unpacks an ext_proc filter's configuration.
func ExtProc(f *hcmv3.HttpFilter) (*extprocv3.ExternalProcessor, error) {
	m, err := unpack(f.GetTypedConfig())
	if err != nil {
		return nil, fmt.Errorf("filter %s: %w", f.Name, err)
	}
	ep, ok := m.(*extprocv3.ExternalProcessor)
	if !ok {
		return nil, fmt.Errorf("filter %s is a %T, not ext_proc", f.Name, m)
	}
	return ep, nil
}

// TypedPerFilterConfig returns the unpacked per-route configuration of filter on route, or nil
// when the route has none. Envoy Gateway enables a filter it adds disabled to the listener by
// giving each route that uses it a *routev3.FilterConfig (Disabled false).
func TypedPerFilterConfig(r *routev3.Route, filter string) (proto.Message, error) {
	a, ok := r.GetTypedPerFilterConfig()[filter]
	if !ok {
		return nil, nil
	}
	return unpack(a)
}

// FilterEnabledOnRoute reports whether a filter that is disabled on the listener runs for r:
// its per-route configuration is present and not a FilterConfig with Disabled set.
func FilterEnabledOnRoute(r *routev3.Route, filter string) (bool, error) {
	m, err := TypedPerFilterConfig(r, filter)
	if err != nil || m == nil {
		return false, err
	}
	if fc, ok := m.(*routev3.FilterConfig); ok {
		return !fc.Disabled, nil
	}
	return true, nil
}

// routeConfigNames returns the RDS route configurations the listener's connection managers use.
func routeConfigNames(l *listenerv3.Listener) ([]string, error) {
	var names []string
	err := eachHCM(l, func(hcm *hcmv3.HttpConnectionManager) {
		if n := hcm.GetRds().GetRouteConfigName(); n != "" {
			names = append(names, n)
		}
	})
	return names, err
}

func eachHCM(l *listenerv3.Listener, fn func(*hcmv3.HttpConnectionManager)) error {
	chains := append([]*listenerv3.FilterChain{}, l.FilterChains...)
	if l.DefaultFilterChain != nil {
		chains = append(chains, l.DefaultFilterChain)
	}
	for _, chain := range chains {
		for _, f := range chain.Filters {
			a := f.GetTypedConfig()
			if a == nil || !strings.HasSuffix(a.TypeUrl, "/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager") {
				continue
			}
			hcm := &hcmv3.HttpConnectionManager{}
			if err := a.UnmarshalTo(hcm); err != nil {
				return fmt.Errorf("listener %s: %w", l.Name, err)
			}
			fn(hcm)
		}
	}
	return nil
}

// unpack decodes an Any whose type is registered (the imports of this file register the ones
// Envoy Gateway uses in the places the helpers read). An empty Any decodes to nil.
func unpack(a *anypb.Any) (proto.Message, error) {
	if a == nil || a.TypeUrl == "" {
		return nil, nil
	}
	return a.UnmarshalNew()
}
