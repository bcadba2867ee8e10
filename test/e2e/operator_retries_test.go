//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// Retries to the endpoint picker's next choice and health-checked EPP replicas, by default, on
// the real Envoy Gateway. Envoy's override_host sends a request to the first address of the
// header's list and each retry to the next one, but only when the route has a retry policy
// (OverrideHost.override_host_sources); the operator gives pool rules one that retries only
// failures before the request reached a model server. The EPP's ext_proc cluster gets an active
// gRPC health check and outlier detection, so streams go only to replicas that serve.

// defaultRetryOn is Envoy's retry_on for the operator's default retry (RetryPolicy.retry_on:
// connect-failure: the connection to the pod failed; refused-stream: the pod refused the
// stream (REFUSED_STREAM); reset-before-request: the stream was reset before any of the request
// was sent).
const defaultRetryOn = "connect-failure,refused-stream,reset-before-request"

// retryPolicyIs checks the retry policy of every route of the rule: retry_on, num_retries
// (0: no retry policy at all), no per_try_timeout (one attempt may take as long as the route
// allows: a generation is long), and Envoy Gateway's previous_hosts predicate (a retry never
// goes back to a pod it already tried).
func retryPolicyIs(s *xds.Snapshot, rule, retryOn string, n uint32) error {
	a, err := routeAction(s, rule)
	if err != nil {
		return err
	}
	rp := a.GetRetryPolicy()
	if n == 0 {
		if rp != nil {
			return fmt.Errorf("rule %s has a retry policy (%v), want none", rule, rp)
		}
		return nil
	}
	if rp == nil {
		return fmt.Errorf("rule %s has no retry policy", rule)
	}
	if rp.GetRetryOn() != retryOn || rp.GetNumRetries().GetValue() != n {
		return fmt.Errorf("rule %s retries %d times on %q, want %d on %q", rule, rp.GetNumRetries().GetValue(), rp.GetRetryOn(), n, retryOn)
	}
	if rp.GetPerTryTimeout() != nil {
		return fmt.Errorf("rule %s has a per-try timeout %v, want none", rule, rp.GetPerTryTimeout().AsDuration())
	}
	for _, p := range rp.GetRetryHostPredicate() {
		if p.GetName() == "envoy.retry_host_predicates.previous_hosts" {
			return nil
		}
	}
	return fmt.Errorf("rule %s: no previous_hosts retry predicate in %v", rule, rp.GetRetryHostPredicate())
}

// listenerBuffersAre checks every listener that routes requests keeps want bytes per connection
// (Listener.per_connection_buffer_limit_bytes: with no per-route limit, what Envoy buffers of a
// request to retry it).
func listenerBuffersAre(s *xds.Snapshot, want uint32) error {
	routing := 0
	for name, l := range s.Listeners {
		if _, routed, err := earlyRemovedHeaders(l); err != nil || !routed {
			continue
		}
		routing++
		if got := l.GetPerConnectionBufferLimitBytes().GetValue(); got != want {
			return fmt.Errorf("listener %s buffers %d bytes per connection, want %d", name, got, want)
		}
	}
	if routing == 0 {
		return fmt.Errorf("no listener routes requests")
	}
	return nil
}

// eppHealthChecked checks the EPP cluster's active gRPC health check (Envoy's
// HealthCheck.grpc_health_check with the class's service name, interval, timeout and
// thresholds) and outlier detection (local-origin failures split from the EPP's errors, three in
// a row eject a replica, at most half of them).
func eppHealthChecked(s *xds.Snapshot, name string) error {
	cl, err := s.Cluster(name)
	if err != nil {
		return err
	}
	if len(cl.GetHealthChecks()) != 1 {
		return fmt.Errorf("EPP cluster %s has %d health checks, want 1", name, len(cl.GetHealthChecks()))
	}
	hc := cl.GetHealthChecks()[0]
	if got := hc.GetGrpcHealthCheck().GetServiceName(); got != v1alpha1.DefaultHealthCheckService {
		return fmt.Errorf("EPP cluster %s health check: gRPC service %q (%v), want %s", name, got, hc.GetHealthChecker(), v1alpha1.DefaultHealthCheckService)
	}
	if hc.GetInterval().AsDuration() != 2*time.Second || hc.GetTimeout().AsDuration() != time.Second ||
		hc.GetUnhealthyThreshold().GetValue() != 2 || hc.GetHealthyThreshold().GetValue() != 1 {
		return fmt.Errorf("EPP cluster %s health check: interval %v timeout %v thresholds %d/%d, want 2s, 1s, 2 unhealthy, 1 healthy", name,
			hc.GetInterval().AsDuration(), hc.GetTimeout().AsDuration(), hc.GetUnhealthyThreshold().GetValue(), hc.GetHealthyThreshold().GetValue())
	}
	return outlierDetectionIs(cl)
}

func outlierDetectionIs(cl *clusterv3.Cluster) error {
	od := cl.GetOutlierDetection()
	if od == nil {
		return fmt.Errorf("EPP cluster %s has no outlier detection", cl.Name)
	}
	if !od.GetSplitExternalLocalOriginErrors() || od.GetConsecutiveLocalOriginFailure().GetValue() != 3 ||
		od.GetBaseEjectionTime().AsDuration() != 10*time.Second || od.GetMaxEjectionPercent().GetValue() != 50 {
		return fmt.Errorf("EPP cluster %s outlier detection %v, want local-origin failures split, 3 in a row, 10s, at most 50%%", cl.Name, od)
	}
	return nil
}

// TestRetriesAndEPPHealthChecks: a class with default parameters retries a pool rule's request
// twice on the picker's next choices, with override_host kept on the rule's cluster and a 4 MiB
// buffer on the listeners; health-checks the EPP; and a user's retry replaces the operator's.
func TestRetriesAndEPPHealthChecks(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, "{}")
	eppCluster := singlePoolScenario(t, c, ns, class)
	rule := ruleCluster(ns, "llm-eg", 0)
	ips := withPort(readyPodIPs(t, c, ns, "app=pool", 3), 8000)

	t.Run("defaults", func(t *testing.T) {
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			if err := retryPolicyIs(s, rule, defaultRetryOn, 2); err != nil {
				return err
			}
			if err := poolClusterIs(s, rule, leastRequest, ips); err != nil {
				return err
			}
			if err := listenerBuffersAre(s, 4<<20); err != nil {
				return err
			}
			if err := destinationHeaderStripped(s); err != nil {
				return err
			}
			return eppHealthChecked(s, eppCluster)
		})
	})

	t.Run("a user's retry wins", func(t *testing.T) {
		applyTemplate(t, `
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: llm-retries, namespace: {{.Namespace}}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm}]
  retry:
    numRetries: 4
    retryOn: {triggers: [connect-failure, retriable-status-codes], httpStatusCodes: [503]}
`, map[string]any{"Namespace": ns})
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			if err := retryPolicyIs(s, rule, "connect-failure,retriable-status-codes", 4); err != nil {
				return err
			}
			return poolClusterIs(s, rule, leastRequest, ips)
		})
		// Removing it brings the operator's retry back.
		if err := c.Delete(context.Background(), newUnstructured("gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy", ns, "llm-retries")); err != nil {
			t.Fatal(err)
		}
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error { return retryPolicyIs(s, rule, defaultRetryOn, 2) })
	})
}

// TestRetriesAndEPPHealthChecksOff: a class that turns both off gets no retry policy on its
// pool rules, Envoy Gateway's own 32 KiB listener buffer, and an EPP cluster without health
// checks or outlier detection.
func TestRetriesAndEPPHealthChecksOff(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, `{retry: {numRetries: 0}, endpointPicker: {healthCheck: {enabled: false}}}`)
	eppCluster := singlePoolScenario(t, c, ns, class)
	rule := ruleCluster(ns, "llm-eg", 0)
	proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
		if err := retryPolicyIs(s, rule, "", 0); err != nil {
			return err
		}
		if err := listenerBuffersAre(s, 32768); err != nil {
			return err
		}
		d, err := describeEPPCluster(s, eppCluster)
		if err != nil {
			return err
		}
		if d.GRPCHealthService != "-" || d.Outlier {
			return fmt.Errorf("EPP cluster %s: %+v, want no health check and no outlier detection", eppCluster, d)
		}
		return nil
	})
}

// TestEPPHealthCheckTuned: a class that checks the EPP's health on another port, with another
// service, and panic mode off (Cluster.common_lb_config.healthy_panic_threshold 0: Envoy never
// sends a stream to a replica that fails its checks, however few pass).
func TestEPPHealthCheckTuned(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, `{endpointPicker: {healthCheck: {serviceName: readiness, port: 9003, panicThreshold: 0}}}`)
	eppCluster := singlePoolScenario(t, c, ns, class)
	proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
		cl, err := s.Cluster(eppCluster)
		if err != nil {
			return err
		}
		if hc := cl.GetHealthChecks(); len(hc) != 1 || hc[0].GetGrpcHealthCheck().GetServiceName() != "readiness" {
			return fmt.Errorf("EPP cluster %s health checks %v, want one of gRPC service readiness", eppCluster, hc)
		}
		if p := cl.GetCommonLbConfig().GetHealthyPanicThreshold(); p == nil || p.GetValue() != 0 {
			return fmt.Errorf("EPP cluster %s healthy panic threshold %v, want 0", eppCluster, p)
		}
		ports, err := healthCheckPorts(s, cl)
		if err != nil {
			return err
		}
		if len(ports) == 0 || slices.ContainsFunc(ports, func(p uint32) bool { return p != 9003 }) {
			return fmt.Errorf("EPP cluster %s endpoints are health-checked on ports %v, want 9003", eppCluster, ports)
		}
		return outlierDetectionIs(cl)
	})
}

// healthCheckPorts lists the health check port of each endpoint of the cluster
// (LbEndpoint.endpoint.health_check_config.port_value; 0: the endpoint's own port).
func healthCheckPorts(s *xds.Snapshot, cl *clusterv3.Cluster) ([]uint32, error) {
	cla := cl.GetLoadAssignment()
	if cl.GetType() == clusterv3.Cluster_EDS {
		if cla = s.LoadAssignments[cl.GetEdsClusterConfig().GetServiceName()]; cla == nil {
			cla = s.LoadAssignments[cl.Name]
		}
	}
	if cla == nil {
		return nil, fmt.Errorf("cluster %s has no load assignment", cl.Name)
	}
	var out []uint32
	for _, l := range cla.GetEndpoints() {
		for _, e := range l.GetLbEndpoints() {
			out = append(out, e.GetEndpoint().GetHealthCheckConfig().GetPortValue())
		}
	}
	return out, nil
}
