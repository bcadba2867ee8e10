//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/test/envoygateway"
	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// endpointPicker is, written by hand, the shape of what the operator generates for an
// InferencePool: an HTTPRoute rule (named, so policies can target it) to a headless Service
// of the pool's pods, a BackendTrafficPolicy that routes to the pod the EPP names in
// x-gateway-destination-endpoint (falling back to LeastRequest), and an EnvoyExtensionPolicy
// that calls the EPP (a Backend by FQDN with TLS verification off) over ext_proc.
const endpointPicker = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route
  namespace: {{.Namespace}}
spec:
  parentRefs:
  - name: gw
  rules:
  - name: pool
    matches:
    - path: {type: PathPrefix, value: /}
    backendRefs:
    - name: model
      port: 8000
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: Backend
metadata:
  name: epp
  namespace: {{.Namespace}}
spec:
  endpoints:
  - fqdn:
      hostname: epp.{{.Namespace}}.svc.cluster.local
      port: 9002
  tls:
    insecureSkipVerify: true
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: pool
  namespace: {{.Namespace}}
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    name: route
    sectionName: pool
  loadBalancer:
    type: LeastRequest
    endpointOverride:
      extractFrom:
      - header: x-gateway-destination-endpoint
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyExtensionPolicy
metadata:
  name: pool
  namespace: {{.Namespace}}
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    name: route
    sectionName: pool
  extProc:
  - backendRefs:
    - group: gateway.envoyproxy.io
      kind: Backend
      name: epp
      port: 9002
    processingMode:
      request:
        body: FullDuplexStreamed
      response:
        body: FullDuplexStreamed
    messageTimeout: 10s
    failOpen: false
    metadata:
      writableNamespaces: [envoy.lb]
      accessibleNamespaces: [envoy.lb]
`

// TestEndpointPickerPoliciesProgrammed applies endpointPicker and checks Envoy Gateway accepts
// every object and serves the intended Envoy configuration: the rule's cluster load-balances
// with override_host reading x-gateway-destination-endpoint (least_request fallback) over the
// pod IPs, and the ext_proc filter, disabled on the listener, is enabled on the rule's route
// with the EPP's cluster, full-duplex streamed bodies, a 10 s message timeout and fail-closed.
func TestEndpointPickerPoliciesProgrammed(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	data := map[string]any{"Namespace": ns, "Name": "gw", "Class": envoygateway.DefaultGatewayClass}
	applyTemplate(t, modelServersYAML, map[string]any{"Namespace": ns, "Name": "model", "Replicas": 3})
	applyTemplate(t, serviceYAML, map[string]any{"Namespace": ns, "Name": "model", "Headless": true})
	applyTemplate(t, gatewayYAML, data)
	applyTemplate(t, endpointPicker, data)

	waitConditions(t, c, "gateway.networking.k8s.io/v1", "Gateway", ns, "gw",
		[]string{string(gwapiv1.GatewayConditionAccepted), string(gwapiv1.GatewayConditionProgrammed)})
	waitConditions(t, c, "gateway.networking.k8s.io/v1", "HTTPRoute", ns, "route",
		[]string{string(gwapiv1.RouteConditionAccepted), string(gwapiv1.RouteConditionResolvedRefs)})
	waitConditions(t, c, "gateway.envoyproxy.io/v1alpha1", "Backend", ns, "epp", []string{"Accepted"}, "Invalid")
	for _, kind := range []string{"BackendTrafficPolicy", "EnvoyExtensionPolicy"} {
		waitConditions(t, c, "gateway.envoyproxy.io/v1alpha1", kind, ns, "pool", []string{"Accepted"}, "Conflicted", "Invalid")
	}
	podIPs := readyPodIPs(t, c, ns, "app=model", 3)

	client, err := xds.ForGateway(context.Background(), env.cfg, ns, "gw")
	if err != nil {
		t.Fatal(err)
	}
	ruleCluster := fmt.Sprintf("httproute/%s/route/rule/0", ns)
	extProcFilter := fmt.Sprintf("envoy.filters.http.ext_proc/envoyextensionpolicy/%s/pool/", ns)
	wantEndpoints := withPort(podIPs, 8000)

	// EG translates asynchronously: poll until the snapshot has everything, then assert on it.
	var snap *xds.Snapshot
	start := time.Now()
	eventually(t, "xDS snapshot with the rule's cluster, its endpoints and the ext_proc filter", func(ctx context.Context) error {
		s, err := client.Fetch(ctx)
		if err != nil {
			return err
		}
		cl, err := s.Cluster(ruleCluster)
		if err != nil {
			return err
		}
		if got, err := s.EndpointAddresses(cl); err != nil || !slices.Equal(got, wantEndpoints) {
			return fmt.Errorf("endpoints %v (%v), want %v", got, err, wantEndpoints)
		}
		if f, _ := listenerFilter(s, extProcFilter); f == nil {
			return fmt.Errorf("no listener has a filter %s*", extProcFilter)
		}
		snap = s
		return nil
	})
	t.Logf("xDS converged %v after the objects were Accepted", time.Since(start).Round(time.Millisecond))

	t.Run("override_host load balancing", func(t *testing.T) {
		cl, err := snap.Cluster(ruleCluster)
		if err != nil {
			t.Fatal(err)
		}
		oh, err := xds.OverrideHost(cl)
		if err != nil {
			t.Fatal(err)
		}
		if len(oh.OverrideHostSources) != 1 || oh.OverrideHostSources[0].Header != "x-gateway-destination-endpoint" {
			t.Errorf("override host sources %v, want the header x-gateway-destination-endpoint", oh.OverrideHostSources)
		}
		fallback, _, err := xds.LoadBalancingPolicies(oh.FallbackPolicy)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(fallback, []string{"envoy.load_balancing_policies.least_request"}) {
			t.Errorf("fallback policies %v, want least_request", fallback)
		}
	})

	t.Run("ext_proc filter", func(t *testing.T) {
		f, listener := listenerFilter(snap, extProcFilter)
		if !f.Disabled {
			t.Errorf("ext_proc filter %s is enabled on listener %s for every route; want disabled by default", f.Name, listener)
		}
		ep, err := xds.ExtProc(f)
		if err != nil {
			t.Fatal(err)
		}
		pm := ep.GetProcessingMode()
		if pm.GetRequestBodyMode() != extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED ||
			pm.GetResponseBodyMode() != extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED {
			t.Errorf("body modes request %v response %v, want FULL_DUPLEX_STREAMED", pm.GetRequestBodyMode(), pm.GetResponseBodyMode())
		}
		if pm.GetRequestTrailerMode() != extprocv3.ProcessingMode_SEND || pm.GetResponseTrailerMode() != extprocv3.ProcessingMode_SEND {
			t.Errorf("trailer modes request %v response %v, want SEND (full-duplex streaming needs them)", pm.GetRequestTrailerMode(), pm.GetResponseTrailerMode())
		}
		if got := ep.GetMessageTimeout().AsDuration(); got != 10*time.Second {
			t.Errorf("message timeout %v, want 10s", got)
		}
		if ep.GetFailureModeAllow() {
			t.Error("failure_mode_allow is true, want fail-closed")
		}
		md := ep.GetMetadataOptions().GetReceivingNamespaces().GetUntyped()
		if !slices.Equal(md, []string{"envoy.lb"}) {
			t.Errorf("receiving (writable) metadata namespaces %v, want [envoy.lb]", md)
		}
		forwarding := ep.GetMetadataOptions().GetForwardingNamespaces().GetUntyped()
		if !slices.Equal(forwarding, []string{"envoy.lb"}) {
			t.Errorf("forwarding (accessible) metadata namespaces %v, want [envoy.lb]", forwarding)
		}
		eppCluster := ep.GetGrpcService().GetEnvoyGrpc().GetClusterName()
		if _, ok := snap.Clusters[eppCluster]; !ok || !strings.Contains(eppCluster, "envoyextensionpolicy/"+ns+"/pool") {
			t.Errorf("ext_proc calls cluster %q, which is not the policy's cluster in CDS %v", eppCluster, snap.ClusterNames())
		}
		if eppCl := snap.Clusters[eppCluster]; eppCl != nil && eppCl.GetTransportSocket() == nil &&
			len(eppCl.GetTransportSocketMatches()) == 0 {
			t.Errorf("EPP cluster %s has no TLS transport socket; the Backend asks for TLS", eppCluster)
		}

		routes := snap.RoutesWithPrefix(ruleCluster + "/")
		if len(routes) == 0 {
			t.Fatalf("no route of rule %s; routes %v", ruleCluster, snap.RouteNames())
		}
		for _, r := range routes {
			on, err := xds.FilterEnabledOnRoute(r, f.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !on {
				t.Errorf("route %s does not enable %s (typedPerFilterConfig %v)", r.Name, f.Name, r.GetTypedPerFilterConfig())
			}
		}
	})
}

// listenerFilter returns the first HTTP filter named prefix* of any listener, and the
// listener's name.
func listenerFilter(s *xds.Snapshot, prefix string) (*hcmv3.HttpFilter, string) {
	for name, l := range s.Listeners {
		filters, err := xds.HTTPFilters(l)
		if err != nil {
			continue
		}
		if f := xds.HTTPFilter(filters, prefix); f != nil {
			return f, name
		}
	}
	return nil, ""
}
