//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// What Envoy is told for the shapes of inference traffic that a single pool on a single rule
// does not cover: a data-parallel pool with several target ports, a rule that weights two
// pools (a canary), a weighted rule whose second pool is missing or is a plain Service, and the
// route timeouts. Where a claim rests on how Envoy acts on a field (no Envoy runs here), the
// comment names the field.

// serviceYAML is a Service on 8000 in front of the fake model servers labelled app=Name,
// headless (clusterIP None, as the operator's shadow Services are) when Headless is true.
const serviceYAML = `
apiVersion: v1
kind: Service
metadata:
  name: {{.Name}}
  namespace: {{.Namespace}}
spec:
  {{if .Headless}}clusterIP: None{{end}}
  selector: {app: {{.Name}}}
  ports:
  - {name: http, port: 8000, targetPort: 8000}
`

const leastRequest = "envoy.load_balancing_policies.least_request"

// routeAction returns the route action shared by every route of the rule (one per match and
// hostname), failing when they differ or when one is not a route to clusters.
func routeAction(s *xds.Snapshot, rule string) (*routev3.RouteAction, error) {
	routes := s.RoutesWithPrefix(rule + "/")
	if len(routes) == 0 {
		return nil, fmt.Errorf("no route of %s (routes %v)", rule, s.RouteNames())
	}
	var action *routev3.RouteAction
	for _, r := range routes {
		a := r.GetRoute()
		if a == nil {
			return nil, fmt.Errorf("route %s is not a route to clusters: %v", r.Name, r.GetAction())
		}
		if action != nil && action.String() != a.String() {
			return nil, fmt.Errorf("routes of %s have different actions", rule)
		}
		action = a
	}
	return action, nil
}

// routeTimeouts checks the rule's RouteAction.timeout (Envoy: the whole-response timeout, 15 s
// when unset, 0 disables it) and RouteAction.idle_timeout (Envoy: the stream idle timeout of
// the route, overriding the connection manager's).
func routeTimeouts(s *xds.Snapshot, rule string, timeout, idle time.Duration) error {
	a, err := routeAction(s, rule)
	if err != nil {
		return err
	}
	if a.GetTimeout() == nil {
		return fmt.Errorf("rule %s has no route timeout: Envoy would apply its 15s default", rule)
	}
	if got := a.GetTimeout().AsDuration(); got != timeout {
		return fmt.Errorf("rule %s: route timeout %v, want %v", rule, got, timeout)
	}
	if a.GetIdleTimeout() == nil || a.GetIdleTimeout().AsDuration() != idle {
		return fmt.Errorf("rule %s: idle timeout %v, want %v", rule, a.GetIdleTimeout(), idle)
	}
	return nil
}

// weightedCluster is one entry of a route's weighted_clusters.
type weightedCluster struct {
	Name   string
	Weight uint32
	Pool   string // the value of the pool header the entry sets, if any
}

// weightedClusters returns the rule's weighted_clusters entries (sorted by name) and the
// response code for entries naming no cluster.
func weightedClusters(s *xds.Snapshot, rule string) ([]weightedCluster, routev3.RouteAction_ClusterNotFoundResponseCode, error) {
	a, err := routeAction(s, rule)
	if err != nil {
		return nil, 0, err
	}
	wc := a.GetWeightedClusters()
	if wc == nil {
		return nil, 0, fmt.Errorf("rule %s routes to the single cluster %q, want weighted_clusters", rule, a.GetCluster())
	}
	var out []weightedCluster
	for _, c := range wc.GetClusters() {
		e := weightedCluster{Name: c.GetName(), Weight: c.GetWeight().GetValue()}
		for _, h := range c.GetRequestHeadersToAdd() {
			if h.GetHeader().GetKey() == translate.PoolHeader {
				e.Pool = h.GetHeader().GetValue()
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, a.GetClusterNotFoundResponseCode(), nil
}

// TestMultiPortPool serves a data-parallel pool: three target ports on every model server. The
// generated rule names the shadow Service once per port, so Envoy Gateway builds ONE cluster for
// the rule holding every pod on every port, and override_host can follow any endpoint-picker
// answer. The rule has no timeouts of its own: its route timeout is switched off (0s, instead
// of Envoy's 15 s default) and the pool's policy bounds a stalled stream (idle 1h).
func TestMultiPortPool(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, "{}")
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "gw", "Class": class})
	ports := []int{3000, 3002, 3004}
	model{Namespace: ns, Name: "dp", Ports: ports}.apply(t)
	poolRoute{Namespace: ns, Pool: "dp", RuleName: "chat"}.apply(t)

	waitGatewayProgrammed(t, c, ns, "gw", 1)
	waitRouteAccepted(t, c, ns, "llm", ns, "gw")
	waitPoolStatus(t, c, ns, "dp", ns, "gw", "True", "ResolvedRefs")
	waitAccepted(t, c, waitGenerated(t, c, kindBackendTraffic, ns, "dp", 1))
	eep := waitGenerated(t, c, kindEnvoyExtension, ns, "dp", 1)
	waitAccepted(t, c, eep)

	ips := readyPodIPs(t, c, ns, "app=dp", 3)
	var endpoints []string
	for _, p := range ports {
		endpoints = append(endpoints, withPort(ips, p)...)
	}
	slices.Sort(endpoints)
	rule := ruleCluster(ns, "llm-eg", 0)
	proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
		if got := s.ClustersWithPrefix(rule); len(got) != 1 {
			return fmt.Errorf("%d clusters for the rule, want 1: %v", len(got), s.ClusterNames())
		}
		a, err := routeAction(s, rule)
		if err != nil {
			return err
		}
		if a.GetCluster() != rule {
			return fmt.Errorf("rule routes to %v, want the single cluster %s", a.GetClusterSpecifier(), rule)
		}
		if err := poolClusterIs(s, rule, leastRequest, endpoints); err != nil {
			return err
		}
		if _, err := extProcOnRule(s, ns, eep[0].GetName(), rule); err != nil {
			return err
		}
		return routeTimeouts(s, rule, 0, time.Hour)
	})
}

// TestWeightedPools splits one rule 70/30 between two pools. Each pool ref carries a
// RequestHeaderModifier (the pool header), so Envoy Gateway gives each its own cluster and a
// weighted_clusters action: Envoy picks the cluster by weight (RouteAction.weighted_clusters),
// then the host inside it, so each share stays on its own pool's pods. Both clusters follow the
// destination header (override_host); only pool-a's endpoint picker runs for the rule. Then the
// shapes around it: pool-b deleted (its share answers 500), and pool-b replaced by a Service.
func TestWeightedPools(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, "{}")
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "gw", "Class": class})
	for _, pool := range []string{"pool-a", "pool-b"} {
		model{Namespace: ns, Name: pool, Replicas: 2}.apply(t)
	}
	route := func(backends ...routeBackend) {
		t.Helper()
		httpRoute{Namespace: ns, Rules: []routeRule{{Name: "canary", Backends: backends}}}.apply(t)
	}
	route(routeBackend{Name: "pool-a", Weight: 70}, routeBackend{Name: "pool-b", Weight: 30})
	rule := ruleCluster(ns, "llm-eg", 0)
	backend := func(i int) string { return fmt.Sprintf("%s/backend/%d", rule, i) }
	ips := map[string][]string{}
	for _, pool := range []string{"pool-a", "pool-b"} {
		ips[pool] = withPort(readyPodIPs(t, c, ns, "app="+pool, 2), 8000)
	}

	t.Run("two pools 70/30", func(t *testing.T) {
		waitGatewayProgrammed(t, c, ns, "gw", 1)
		waitRouteAccepted(t, c, ns, "llm", ns, "gw")
		waitAccepted(t, c, waitGenerated(t, c, kindBackendTraffic, ns, "pool-a", 1))
		eep := waitGenerated(t, c, kindEnvoyExtension, ns, "pool-a", 1)
		waitAccepted(t, c, eep)
		// pool-b's EPP cannot run on the rule: nothing is generated to call it.
		waitGenerated(t, c, kindEnvoyExtension, ns, "pool-b", 0)
		waitPoolAcceptedMessage(t, c, ns, "pool-b", "whose endpoint picker serves the rule")
		waitRouteEvent(t, c, ns, "llm", "MultiplePoolsInRule")

		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			wc, _, err := weightedClusters(s, rule)
			if err != nil {
				return err
			}
			want := []weightedCluster{
				{Name: backend(0), Weight: 70, Pool: ns + "/pool-a"},
				{Name: backend(1), Weight: 30, Pool: ns + "/pool-b"},
			}
			if !slices.Equal(wc, want) {
				return fmt.Errorf("weighted clusters %+v, want %+v", wc, want)
			}
			if err := poolClusterIs(s, backend(0), leastRequest, ips["pool-a"]); err != nil {
				return err
			}
			if err := poolClusterIs(s, backend(1), leastRequest, ips["pool-b"]); err != nil {
				return err
			}
			if _, err := extProcOnRule(s, ns, eep[0].GetName(), rule); err != nil {
				return err
			}
			return routeTimeouts(s, rule, 0, time.Hour)
		})
	})

	t.Run("second pool deleted: its share answers 500", func(t *testing.T) {
		pool := newUnstructured("inference.networking.k8s.io/v1", "InferencePool", ns, "pool-b")
		if err := c.Delete(context.Background(), pool); err != nil {
			t.Fatal(err)
		}
		waitRouteStatus(t, c, ns, "llm", ns, "gw", "False", "BackendNotFound")
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			wc, notFound, err := weightedClusters(s, rule)
			if err != nil {
				return err
			}
			// Envoy answers RouteAction.cluster_not_found_response_code for the share of an
			// entry naming no cluster: Envoy Gateway's "invalid-backend-cluster".
			want := []weightedCluster{{Name: backend(0), Weight: 70, Pool: ns + "/pool-a"}, {Name: "invalid-backend-cluster", Weight: 30}}
			if !slices.Equal(wc, want) {
				return fmt.Errorf("weighted clusters %+v, want %+v", wc, want)
			}
			if notFound != routev3.RouteAction_INTERNAL_SERVER_ERROR {
				return fmt.Errorf("cluster_not_found_response_code %v, want 500", notFound)
			}
			return poolClusterIs(s, backend(0), leastRequest, ips["pool-a"])
		})
	})

	t.Run("pool and Service 80/20", func(t *testing.T) {
		applyTemplate(t, modelServersYAML, map[string]any{"Namespace": ns, "Name": "svc-canary", "Replicas": 2})
		applyTemplate(t, serviceYAML, map[string]any{"Namespace": ns, "Name": "svc-canary", "Headless": false})
		route(routeBackend{Name: "pool-a", Weight: 80}, routeBackend{Name: "svc-canary", Service: true, Weight: 20})
		canary := withPort(readyPodIPs(t, c, ns, "app=svc-canary", 2), 8000)
		waitRouteAccepted(t, c, ns, "llm", ns, "gw")
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			wc, _, err := weightedClusters(s, rule)
			if err != nil {
				return err
			}
			want := []weightedCluster{{Name: backend(0), Weight: 80, Pool: ns + "/pool-a"}, {Name: backend(1), Weight: 20}}
			if !slices.Equal(wc, want) {
				return fmt.Errorf("weighted clusters %+v, want %+v", wc, want)
			}
			if err := poolClusterIs(s, backend(0), leastRequest, ips["pool-a"]); err != nil {
				return err
			}
			// The rule's policy applies to the Service's cluster too: the EPP's answer names a
			// pool-a pod, not a host of this cluster, so override_host falls back to LeastRequest.
			return poolClusterIs(s, backend(1), leastRequest, canary)
		})
	})
}

// TestRouteTimeouts checks where a pool rule's timeouts come from: the class's parameters when
// the user's rule sets none (here request 10m, streamIdle 2m), the user's own when it does.
func TestRouteTimeouts(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, `{routeTimeouts: {request: 10m, streamIdle: 2m}}`)
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "gw", "Class": class})
	model{Namespace: ns, Name: "pool", Replicas: 1}.apply(t)
	rule := ruleCluster(ns, "llm-eg", 0)

	t.Run("the class's default", func(t *testing.T) {
		poolRoute{Namespace: ns, Pool: "pool", RuleName: "chat"}.apply(t)
		waitGatewayProgrammed(t, c, ns, "gw", 1)
		waitRouteAccepted(t, c, ns, "llm", ns, "gw")
		waitAccepted(t, c, waitGenerated(t, c, kindBackendTraffic, ns, "pool", 1))
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			return routeTimeouts(s, rule, 10*time.Minute, 2*time.Minute)
		})
	})

	t.Run("the user's own", func(t *testing.T) {
		poolRoute{Namespace: ns, Pool: "pool", RuleName: "chat", Timeouts: "{request: 300s}"}.apply(t)
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			return routeTimeouts(s, rule, 300*time.Second, 2*time.Minute)
		})
	})
}

// waitPoolAcceptedMessage waits until the pool's Accepted condition (ours) says want.
func waitPoolAcceptedMessage(t *testing.T, c client.Client, ns, pool, want string) {
	t.Helper()
	eventually(t, fmt.Sprintf("InferencePool %s/%s Accepted saying %q", ns, pool, want), func(ctx context.Context) error {
		p := &giev1.InferencePool{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: pool}, p); err != nil {
			return err
		}
		for _, parent := range p.Status.Parents {
			for _, cond := range parent.Conditions {
				if cond.Type == "Accepted" && strings.Contains(cond.Message, want) {
					return nil
				}
			}
		}
		return fmt.Errorf("status %+v", p.Status.Parents)
	})
}

// waitRouteEvent waits for an event of reason on the route.
func waitRouteEvent(t *testing.T, c client.Client, ns, route, reason string) {
	t.Helper()
	eventually(t, fmt.Sprintf("event %s on HTTPRoute %s/%s", reason, ns, route), func(ctx context.Context) error {
		list := &eventsv1.EventList{}
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Regarding.Kind == "HTTPRoute" && e.Regarding.Name == route && e.Reason == reason {
				return nil
			}
		}
		return fmt.Errorf("%d events, none %s", len(list.Items), reason)
	})
}
