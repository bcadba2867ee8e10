package xds

import (
	"fmt"
	"sort"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Type URLs of the four resource types read.
const (
	ClusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	EndpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	ListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	RouteType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

// reader runs the state-of-the-world ADS exchange Envoy runs at start: clusters and listeners
// by wildcard, then the endpoints of the EDS clusters and the route configurations the
// listeners name, ACKing each response.
type reader struct {
	stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node   *corev3.Node
	snap   *Snapshot
	done   map[string]bool
	wanted map[string][]string // the resource names last requested, for EDS and RDS
}

func newReader(stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient, node *corev3.Node) *reader {
	return &reader{
		stream: stream,
		node:   node,
		snap: &Snapshot{
			Clusters:        map[string]*clusterv3.Cluster{},
			LoadAssignments: map[string]*endpointv3.ClusterLoadAssignment{},
			Listeners:       map[string]*listenerv3.Listener{},
			Routes:          map[string]*routev3.RouteConfiguration{},
		},
		done:   map[string]bool{},
		wanted: map[string][]string{},
	}
}

func (r *reader) read() (*Snapshot, error) {
	for _, t := range []string{ClusterType, ListenerType} {
		if err := r.request(t, nil, "", ""); err != nil {
			return nil, err
		}
	}
	for !(r.done[ClusterType] && r.done[EndpointType] && r.done[ListenerType] && r.done[RouteType]) {
		resp, err := r.stream.Recv()
		if err != nil {
			return nil, fmt.Errorf("xds: waiting for %v (node %s, cluster %s): %w", r.pending(), r.node.Id, r.node.Cluster, err)
		}
		if err := r.handle(resp); err != nil {
			return nil, err
		}
	}
	return r.snap, nil
}

// watch reads as read does, then goes on receiving pushes; fn sees the snapshot each time it
// is complete after a response.
func (r *reader) watch(fn func(*Snapshot) (bool, error)) error {
	for _, t := range []string{ClusterType, ListenerType} {
		if err := r.request(t, nil, "", ""); err != nil {
			return err
		}
	}
	for {
		resp, err := r.stream.Recv()
		if err != nil {
			return fmt.Errorf("xds: watching (node %s, cluster %s): %w", r.node.Id, r.node.Cluster, err)
		}
		if err := r.handle(resp); err != nil {
			return err
		}
		if len(r.pending()) > 0 {
			continue
		}
		if stop, err := fn(r.snap); stop || err != nil {
			return err
		}
	}
}

func (r *reader) handle(resp *discoveryv3.DiscoveryResponse) error {
	ack := func() error {
		return r.request(resp.TypeUrl, r.wanted[resp.TypeUrl], resp.VersionInfo, resp.Nonce)
	}
	switch resp.TypeUrl {
	case ClusterType:
		clusters, err := decodeAll[*clusterv3.Cluster](resp.Resources)
		if err != nil {
			return err
		}
		r.snap.Clusters = map[string]*clusterv3.Cluster{}
		var eds []string
		for _, c := range clusters {
			r.snap.Clusters[c.Name] = c
			if c.GetType() == clusterv3.Cluster_EDS {
				eds = append(eds, edsName(c))
			}
		}
		r.done[ClusterType] = true
		if err := ack(); err != nil {
			return err
		}
		return r.follow(EndpointType, eds)
	case ListenerType:
		listeners, err := decodeAll[*listenerv3.Listener](resp.Resources)
		if err != nil {
			return err
		}
		r.snap.Listeners = map[string]*listenerv3.Listener{}
		var rds []string
		for _, l := range listeners {
			r.snap.Listeners[l.Name] = l
			names, err := routeConfigNames(l)
			if err != nil {
				return err
			}
			rds = append(rds, names...)
		}
		r.done[ListenerType] = true
		if err := ack(); err != nil {
			return err
		}
		return r.follow(RouteType, rds)
	case EndpointType:
		cla, err := decodeAll[*endpointv3.ClusterLoadAssignment](resp.Resources)
		if err != nil {
			return err
		}
		for _, e := range cla {
			r.snap.LoadAssignments[e.ClusterName] = e
		}
		r.done[EndpointType] = true
		return ack()
	case RouteType:
		routes, err := decodeAll[*routev3.RouteConfiguration](resp.Resources)
		if err != nil {
			return err
		}
		for _, rc := range routes {
			r.snap.Routes[rc.Name] = rc
		}
		r.done[RouteType] = true
		return ack()
	default:
		return ack()
	}
}

// follow subscribes to the named resources of typeURL (endpoints of the EDS clusters, routes
// of the listeners); with no names there is nothing to wait for.
func (r *reader) follow(typeURL string, names []string) error {
	names = uniqueSorted(names)
	if len(names) == 0 {
		r.done[typeURL] = true
		return nil
	}
	if equal(names, r.wanted[typeURL]) {
		return nil
	}
	r.wanted[typeURL] = names
	r.done[typeURL] = false
	return r.request(typeURL, names, "", "")
}

func (r *reader) request(typeURL string, names []string, version, nonce string) error {
	return r.stream.Send(&discoveryv3.DiscoveryRequest{
		Node:          r.node,
		TypeUrl:       typeURL,
		ResourceNames: names,
		VersionInfo:   version,
		ResponseNonce: nonce,
	})
}

func (r *reader) pending() []string {
	var p []string
	for _, t := range []string{ClusterType, EndpointType, ListenerType, RouteType} {
		if !r.done[t] {
			p = append(p, t)
		}
	}
	return p
}

// edsName is the name a cluster's endpoints are requested (and served) under.
func edsName(c *clusterv3.Cluster) string {
	if n := c.GetEdsClusterConfig().GetServiceName(); n != "" {
		return n
	}
	return c.Name
}

func decodeAll[T proto.Message](resources []*anypb.Any) ([]T, error) {
	out := make([]T, 0, len(resources))
	for _, a := range resources {
		m, err := a.UnmarshalNew()
		if err != nil {
			return nil, fmt.Errorf("xds: decoding %s: %w", a.TypeUrl, err)
		}
		t, ok := m.(T)
		if !ok {
			return nil, fmt.Errorf("xds: unexpected %T", m)
		}
		out = append(out, t)
	}
	return out, nil
}

func uniqueSorted(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
