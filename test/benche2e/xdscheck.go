//go:build benche2e

package benche2e

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"

	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// servedPool is what one pool must be in xDS: Envoy Gateway's route and cluster of rule 0 of
// route (its names are "httproute/<namespace>/<route>/rule/0[/match/...]"), the ext_proc
// filter enabled on the route, override_host on the cluster, and endpoint among its endpoints.
type servedPool struct {
	route    string
	endpoint string
}

func (p servedPool) rule() string { return "httproute/" + namespace + "/" + p.route + "/rule/0" }

// extProcPrefix is the name prefix of every ext_proc filter Envoy Gateway makes from an
// EnvoyExtensionPolicy.
const extProcPrefix = "envoy.filters.http.ext_proc/"

// served returns how many pools s serves, and why the first one that is not is not.
func served(s *xds.Snapshot, pools []servedPool) (int, error) {
	routes := map[string]*routev3.Route{} // by rule: the first route of each
	for _, rc := range s.Routes {
		for _, vh := range rc.VirtualHosts {
			for _, r := range vh.Routes {
				if rule, _, ok := strings.Cut(r.Name, "/match/"); ok {
					if _, seen := routes[rule]; !seen {
						routes[rule] = r
					}
				}
			}
		}
	}
	n := 0
	var first error
	for _, p := range pools {
		if err := poolServed(s, routes, p); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		n++
	}
	return n, first
}

func poolServed(s *xds.Snapshot, routes map[string]*routev3.Route, p servedPool) error {
	r, ok := routes[p.rule()]
	if !ok {
		return fmt.Errorf("no route of %s", p.rule())
	}
	enabled := false
	for name := range r.TypedPerFilterConfig {
		if strings.HasPrefix(name, extProcPrefix) {
			on, err := xds.FilterEnabledOnRoute(r, name)
			if err != nil {
				return err
			}
			enabled = enabled || on
		}
	}
	if !enabled {
		return fmt.Errorf("route %s: no ext_proc enabled", r.Name)
	}
	c, ok := s.Clusters[p.rule()]
	if !ok {
		return fmt.Errorf("no cluster %s", p.rule())
	}
	if _, err := xds.OverrideHost(c); err != nil {
		return err
	}
	cla := s.LoadAssignment(c)
	if cla == nil {
		return fmt.Errorf("cluster %s: no endpoints", c.Name)
	}
	for _, loc := range cla.Endpoints {
		for _, lb := range loc.LbEndpoints {
			a := lb.GetEndpoint().GetAddress().GetSocketAddress()
			if a != nil && net.JoinHostPort(a.Address, strconv.Itoa(int(a.GetPortValue()))) == p.endpoint {
				return nil
			}
		}
	}
	return fmt.Errorf("cluster %s: endpoints lack %s", c.Name, p.endpoint)
}

// xdsSize is what a proxy holds: bytes (serialized) and numbers of each resource type.
type xdsSize struct {
	ClusterBytes, EndpointBytes, RouteBytes, ListenerBytes int
	Clusters, Endpoints, Routes, HTTPFilters               int
	// FilterNames holds a few HTTP filter names, to show what names cost.
	FilterNames []string
}

func (z xdsSize) total() int {
	return z.ClusterBytes + z.EndpointBytes + z.RouteBytes + z.ListenerBytes
}

func sizeOf(s *xds.Snapshot) (xdsSize, error) {
	var z xdsSize
	for _, c := range s.Clusters {
		z.ClusterBytes += proto.Size(c)
		z.Clusters++
		if cla := s.LoadAssignment(c); cla != nil {
			z.EndpointBytes += proto.Size(cla)
			for _, loc := range cla.Endpoints {
				z.Endpoints += len(loc.LbEndpoints)
			}
		}
		// Clusters of hostnames (a Backend's FQDN) carry their endpoints inline.
		for _, loc := range c.GetLoadAssignment().GetEndpoints() {
			z.Endpoints += len(loc.LbEndpoints)
		}
	}
	for _, rc := range s.Routes {
		z.RouteBytes += proto.Size(rc)
		for _, vh := range rc.VirtualHosts {
			z.Routes += len(vh.Routes)
		}
	}
	for _, l := range s.Listeners {
		z.ListenerBytes += proto.Size(l)
		fs, err := xds.HTTPFilters(l)
		if err != nil {
			return z, err
		}
		z.HTTPFilters += len(fs)
		for _, f := range fs {
			if strings.HasPrefix(f.Name, extProcPrefix) && len(z.FilterNames) < 1 {
				z.FilterNames = append(z.FilterNames, f.Name)
			}
		}
	}
	slices.Sort(z.FilterNames)
	return z, nil
}
