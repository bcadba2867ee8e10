//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// TestTwoPoolsOnTwoRules routes two rules of one route to two pools, with parameters that
// change the fallback load balancing (RoundRobin) and the EPP message timeout (3s). Each pool
// gets its own policies targeting its own rule; Envoy Gateway accepts all of them (none
// conflicts with another), and each rule's cluster has its pool's pods and calls its pool's EPP
// only.
func TestTwoPoolsOnTwoRules(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, `{loadBalancer: {fallbackType: RoundRobin}, endpointPicker: {messageTimeout: 3s}}`)
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "gw", "Class": class})
	for _, pool := range []string{"pool-a", "pool-b"} {
		model{Namespace: ns, Name: pool, Replicas: 2}.apply(t)
	}
	httpRoute{Namespace: ns, Rules: []routeRule{
		{Name: "chat", PathPrefix: "/v1/chat", Backends: []routeBackend{{Name: "pool-a"}}},
		{Name: "completions", PathPrefix: "/v1/completions", Backends: []routeBackend{{Name: "pool-b"}}},
	}}.apply(t)

	waitGatewayProgrammed(t, c, ns, "gw", 1)
	waitRouteAccepted(t, c, ns, "llm", ns, "gw")
	policies := map[string]string{} // pool → its EnvoyExtensionPolicy
	for i, pool := range []string{"pool-a", "pool-b"} {
		waitPoolStatus(t, c, ns, pool, ns, "gw", "True", "ResolvedRefs")
		for _, k := range []generatedKind{kindBackendTraffic, kindEnvoyExtension, kindBackend} {
			objs := waitGenerated(t, c, k, ns, pool, 1)
			waitAccepted(t, c, objs)
			if k == kindBackend {
				continue
			}
			// Each policy targets exactly its pool's rule.
			targets, _, _ := unstructured.NestedSlice(objs[0].Object, "spec", "targetRefs")
			want := []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "llm-eg", "sectionName": []string{"chat", "completions"}[i]}}
			if fmt.Sprint(targets) != fmt.Sprint(want) {
				t.Errorf("%s %s targets %v, want %v", k.Kind, objs[0].GetName(), targets, want)
			}
			if k == kindEnvoyExtension {
				policies[pool] = objs[0].GetName()
			}
		}
	}

	ips := map[string][]string{}
	for _, pool := range []string{"pool-a", "pool-b"} {
		ips[pool] = withPort(readyPodIPs(t, c, ns, "app="+pool, 2), 8000)
	}
	rules := map[string]string{"pool-a": ruleCluster(ns, "llm-eg", 0), "pool-b": ruleCluster(ns, "llm-eg", 1)}
	proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
		for pool, rule := range rules {
			if err := poolClusterIs(s, rule, "envoy.load_balancing_policies.round_robin", ips[pool]); err != nil {
				return err
			}
			ep, err := extProcOnRule(s, ns, policies[pool], rule)
			if err != nil {
				return err
			}
			eppCluster, err := extProcSettings(ep, 3*time.Second)
			if err != nil {
				return fmt.Errorf("%s: %w", pool, err)
			}
			epp, err := describeEPPCluster(s, eppCluster)
			if err != nil {
				return err
			}
			if want := []string{fmt.Sprintf("%s-epp.%s.svc.cluster.local:9002", pool, ns)}; !slices.Equal(epp.Endpoints, want) {
				return fmt.Errorf("%s's ext_proc calls %s (%+v), want the EPP %s", pool, eppCluster, epp, want)
			}
			// The other pool's EPP does not run on this rule.
			other := policies[map[string]string{"pool-a": "pool-b", "pool-b": "pool-a"}[pool]]
			for _, r := range s.RoutesWithPrefix(rule + "/") {
				f := extProcFilter(s, ns, other)
				if f == nil {
					return fmt.Errorf("no filter for %s", other)
				}
				if on, err := xds.FilterEnabledOnRoute(r, f.Name); err != nil || on {
					return fmt.Errorf("route %s of %s also runs %s (%v)", r.Name, pool, f.Name, err)
				}
			}
		}
		if got := s.ClustersWithPrefix(fmt.Sprintf("httproute/%s/llm-eg/rule/", ns)); len(got) != 2 {
			return fmt.Errorf("%d rule clusters, want 2: %v", len(got), s.ClusterNames())
		}
		return destinationHeaderStripped(s)
	})
}
