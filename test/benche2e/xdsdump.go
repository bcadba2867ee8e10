//go:build benche2e

package benche2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	// Types inside the Any fields of what is dumped; importing registers them.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"

	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// dumpPool writes what the proxy holds for one pool, as JSON, to dir/xds-<what>.json: its route,
// its cluster and load assignment, its ext_proc filter and the cluster that filter calls. Both
// ways write the same files, so a diff shows what makes one larger.
func dumpPool(s *xds.Snapshot, p servedPool, dir string) error {
	write := func(what string, m proto.Message) error {
		if m == nil {
			return nil
		}
		data, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
		if err != nil {
			// A type the imports above miss: the dump is for reading, not worth failing the run.
			data = []byte(fmt.Sprintf("%v\n%v\n", err, m))
		}
		return os.WriteFile(filepath.Join(dir, "xds-"+what+".json"), data, 0o644)
	}
	for _, rc := range s.Routes {
		for _, vh := range rc.VirtualHosts {
			for _, r := range vh.Routes {
				if !strings.HasPrefix(r.Name, p.rule()+"/") {
					continue
				}
				if err := write("route", r); err != nil {
					return err
				}
				for name := range r.TypedPerFilterConfig {
					if err := dumpExtProc(s, name, write); err != nil {
						return err
					}
				}
			}
		}
	}
	if c, ok := s.Clusters[p.rule()]; ok {
		if err := write("cluster", c); err != nil {
			return err
		}
		if err := write("endpoints", s.LoadAssignment(c)); err != nil {
			return err
		}
	}
	return nil
}

// dumpExtProc writes the listener's ext_proc filter named name and the cluster it calls.
func dumpExtProc(s *xds.Snapshot, name string, write func(string, proto.Message) error) error {
	if !strings.HasPrefix(name, extProcPrefix) {
		return nil
	}
	for _, l := range s.Listeners {
		fs, err := xds.HTTPFilters(l)
		if err != nil {
			return err
		}
		f := xds.HTTPFilter(fs, name)
		if f == nil {
			continue
		}
		if err := write("extproc-filter", f); err != nil {
			return err
		}
		ep, err := xds.ExtProc(f)
		if err != nil {
			return err
		}
		cluster := ep.GetGrpcService().GetEnvoyGrpc().GetClusterName()
		c, ok := s.Clusters[cluster]
		if !ok {
			return fmt.Errorf("ext_proc filter %s calls cluster %s, which is not served", name, cluster)
		}
		if err := write("extproc-cluster", c); err != nil {
			return err
		}
		return write("extproc-endpoints", s.LoadAssignment(c))
	}
	return nil
}
