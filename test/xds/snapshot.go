package xds

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
)

// Snapshot is the configuration served to one proxy, keyed by resource name.
type Snapshot struct {
	Clusters        map[string]*clusterv3.Cluster
	LoadAssignments map[string]*endpointv3.ClusterLoadAssignment // by EDS service name
	Listeners       map[string]*listenerv3.Listener
	Routes          map[string]*routev3.RouteConfiguration
}

// ClustersWithPrefix returns the clusters whose name starts with prefix, by name. Envoy
// Gateway names a route rule's cluster "httproute/<namespace>/<name>/rule/<index>".
func (s *Snapshot) ClustersWithPrefix(prefix string) []*clusterv3.Cluster {
	var out []*clusterv3.Cluster
	for _, name := range sortedKeys(s.Clusters) {
		if strings.HasPrefix(name, prefix) {
			out = append(out, s.Clusters[name])
		}
	}
	return out
}

// Cluster returns the cluster named name.
func (s *Snapshot) Cluster(name string) (*clusterv3.Cluster, error) {
	c, ok := s.Clusters[name]
	if !ok {
		return nil, fmt.Errorf("no cluster %s (have %v)", name, sortedKeys(s.Clusters))
	}
	return c, nil
}

// Endpoint is one address of a cluster's load assignment.
type Endpoint struct {
	IP     string
	Port   uint32
	Health corev3.HealthStatus
}

// String is "ip:port", the form override_host matches against.
func (e Endpoint) String() string { return net.JoinHostPort(e.IP, strconv.Itoa(int(e.Port))) }

// Endpoints returns the socket addresses of an EDS cluster's load assignment, sorted.
func (s *Snapshot) Endpoints(c *clusterv3.Cluster) ([]Endpoint, error) {
	cla, ok := s.LoadAssignments[edsName(c)]
	if !ok {
		return nil, fmt.Errorf("no load assignment for cluster %s (EDS name %s)", c.Name, edsName(c))
	}
	var out []Endpoint
	for _, locality := range cla.Endpoints {
		for _, lb := range locality.LbEndpoints {
			addr := lb.GetEndpoint().GetAddress().GetSocketAddress()
			if addr == nil {
				continue
			}
			out = append(out, Endpoint{IP: addr.Address, Port: addr.GetPortValue(), Health: lb.HealthStatus})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// LoadAssignment returns an EDS cluster's load assignment, or nil.
func (s *Snapshot) LoadAssignment(c *clusterv3.Cluster) *endpointv3.ClusterLoadAssignment {
	return s.LoadAssignments[edsName(c)]
}

// EndpointAddresses returns Endpoints as "ip:port" strings.
func (s *Snapshot) EndpointAddresses(c *clusterv3.Cluster) ([]string, error) {
	eps, err := s.Endpoints(c)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(eps))
	for i, e := range eps {
		out[i] = e.String()
	}
	return out, nil
}

// Listener returns the listener named name.
func (s *Snapshot) Listener(name string) (*listenerv3.Listener, error) {
	l, ok := s.Listeners[name]
	if !ok {
		return nil, fmt.Errorf("no listener %s (have %v)", name, sortedKeys(s.Listeners))
	}
	return l, nil
}

// RoutesWithPrefix returns every route (of every route configuration and virtual host) whose
// name starts with prefix. Envoy Gateway names them
// "httproute/<namespace>/<name>/rule/<index>/match/<index>/<hostname>".
func (s *Snapshot) RoutesWithPrefix(prefix string) []*routev3.Route {
	var out []*routev3.Route
	for _, name := range sortedKeys(s.Routes) {
		for _, vh := range s.Routes[name].VirtualHosts {
			for _, r := range vh.Routes {
				if strings.HasPrefix(r.Name, prefix) {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// ClusterNames lists the cluster names, sorted (for failure messages).
func (s *Snapshot) ClusterNames() []string { return sortedKeys(s.Clusters) }

// RouteNames lists every route's name, sorted (for failure messages).
func (s *Snapshot) RouteNames() []string {
	var out []string
	for _, r := range s.RoutesWithPrefix("") {
		out = append(out, r.Name)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
