//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

const poolGrantYAML = `
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata:
  name: routes-to-pools
  namespace: {{.Namespace}}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: {{.From}}}]
  to: [{group: inference.networking.k8s.io, kind: InferencePool}]
`

// TestCrossNamespacePool routes from a route next to the Gateway to a pool in another
// namespace. Without a ReferenceGrant the operator reports RefNotPermitted; with one, the
// operator generates, in the pool's namespace, the shadow Service, the EPP's Backend and a
// ReferenceGrant of its own that lets the generated route and extension policy (in the route's
// namespace) reach them. Envoy Gateway honours it: everything is accepted and the rule's
// cluster holds the other namespace's pods.
func TestCrossNamespacePool(t *testing.T) {
	c := newOperatorClient(t)
	routes := newNamespace(t, c)
	models := newNamespace(t, c)
	failureReport(t, c, routes, models)
	class := newInferenceClass(t, c, routes, "{}")
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": routes, "Name": "gw", "Class": class})
	model{Namespace: models, Name: "pool"}.apply(t)
	poolRoute{Namespace: routes, GatewayNamespace: routes, PoolNamespace: models}.apply(t)

	t.Run("without a ReferenceGrant", func(t *testing.T) {
		waitRouteStatus(t, c, routes, "llm", routes, "gw", "False", "RefNotPermitted")
		waitGenerated(t, c, kindService, models, "pool", 0)
		waitGenerated(t, c, kindEnvoyExtension, routes, "pool", 0)
	})

	t.Run("with a ReferenceGrant", func(t *testing.T) {
		applyTemplate(t, poolGrantYAML, map[string]any{"Namespace": models, "From": routes})
		waitGatewayProgrammed(t, c, routes, "gw", 1)
		waitRouteAccepted(t, c, routes, "llm", routes, "gw")
		waitPoolStatus(t, c, models, "pool", routes, "gw", "True", "ResolvedRefs")
		for _, k := range policyKindsOfAPool {
			waitAccepted(t, c, waitGenerated(t, c, k, routes, "pool", 1))
		}
		waitAccepted(t, c, waitGenerated(t, c, kindBackend, models, "pool", 1))
		waitGenerated(t, c, kindService, models, "pool", 1)
		waitGenerated(t, c, kindReferenceGrant, models, "pool", 1)

		eep := waitGenerated(t, c, kindEnvoyExtension, routes, "pool", 1)[0].GetName()
		ips := withPort(readyPodIPs(t, c, models, "app=pool", 3), 8000)
		rule := ruleCluster(routes, "llm-eg", 0)
		proxyConfig(t, routes, "gw", func(s *xds.Snapshot) error {
			if err := poolClusterIs(s, rule, "envoy.load_balancing_policies.least_request", ips); err != nil {
				return err
			}
			ep, err := extProcOnRule(s, routes, eep, rule)
			if err != nil {
				return err
			}
			cluster, err := extProcSettings(ep, 10*time.Second)
			if err != nil {
				return err
			}
			epp, err := describeEPPCluster(s, cluster)
			if err != nil {
				return err
			}
			if want := []string{fmt.Sprintf("pool-epp.%s.svc.cluster.local:9002", models)}; !slices.Equal(epp.Endpoints, want) {
				return fmt.Errorf("ext_proc calls %v, want the EPP %v", epp.Endpoints, want)
			}
			return nil
		})
	})
}
