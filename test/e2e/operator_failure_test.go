//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// TestFailCloseMissingEndpointPicker checks what a FailClose pool whose EPP Service does not
// exist becomes. The operator reports the pool ResolvedRefs=False/InvalidExtensionRef and points
// the extension policy at a Service that cannot exist. Envoy Gateway then rejects the policy
// (Accepted=False, reason Invalid, "service ... not found") and, because the policy is not
// fail-open, programs the rule as a direct 500 response: requests fail rather than skip the
// picker, as GIE requires. Creating the EPP repairs all of it.
func TestFailCloseMissingEndpointPicker(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, "{}")
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "gw", "Class": class})
	m := model{Namespace: ns, Name: "pool", NoEPP: true}
	m.apply(t)
	poolRoute{Namespace: ns, GatewayNamespace: ns, PoolNamespace: ns}.apply(t)
	rule := ruleCluster(ns, "llm-eg", 0)

	t.Run("EPP Service missing", func(t *testing.T) {
		waitGatewayProgrammed(t, c, ns, "gw", 1)
		waitRouteAccepted(t, c, ns, "llm", ns, "gw")
		waitPoolStatus(t, c, ns, "pool", ns, "gw", "False", "InvalidExtensionRef")
		waitAccepted(t, c, waitGenerated(t, c, kindBackendTraffic, ns, "pool", 1))
		waitGenerated(t, c, kindBackend, ns, "pool", 0)
		eep := waitGenerated(t, c, kindEnvoyExtension, ns, "pool", 1)[0]
		verdict := waitVerdict(t, c, eep.GetAPIVersion(), eep.GetKind(), ns, eep.GetName(), metav1.ConditionFalse, "Invalid")
		if !strings.Contains(verdict.Message, "not found") {
			t.Errorf("EnvoyExtensionPolicy verdict %q does not say the EPP was not found", verdict.Message)
		}
		t.Logf("Envoy Gateway on the extension policy: Accepted=%s/%s %q", verdict.Status, verdict.Reason, verdict.Message)
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			status, err := directResponse(s, rule)
			if err != nil {
				return err
			}
			if status != 500 {
				return fmt.Errorf("rule %s answers %d directly, want a direct 500", rule, status)
			}
			return noExtProcOnRule(s, rule)
		})
	})

	t.Run("EPP created", func(t *testing.T) {
		applyTemplate(t, endpointPickerYAML, map[string]any{"Namespace": ns, "Name": m.eppName(), "Replicas": 1})
		waitPoolStatus(t, c, ns, "pool", ns, "gw", "True", "ResolvedRefs")
		waitAccepted(t, c, waitGenerated(t, c, kindBackend, ns, "pool", 1))
		eep := waitGenerated(t, c, kindEnvoyExtension, ns, "pool", 1)
		waitAccepted(t, c, eep)
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			if status, err := directResponse(s, rule); err != nil || status != 0 {
				return fmt.Errorf("rule %s still answers %d directly (%v)", rule, status, err)
			}
			_, err := extProcOnRule(s, ns, eep[0].GetName(), rule)
			return err
		})
	})
}

// TestFailOpen checks a FailOpen pool: while its EPP has a ready endpoint the rule calls it;
// when the EPP Deployment is scaled to zero the operator removes the extension policy, so
// Envoy load-balances over the pool's pods without the picker (the override_host policy stays),
// records an event and sets its metric; scaled back, the policy and the ext_proc filter return.
func TestFailOpen(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, "{}")
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "gw", "Class": class})
	m := model{Namespace: ns, Name: "pool", FailureMode: "FailOpen"}
	m.apply(t)
	poolRoute{Namespace: ns, GatewayNamespace: ns, PoolNamespace: ns}.apply(t)
	rule := ruleCluster(ns, "llm-eg", 0)
	waitGatewayProgrammed(t, c, ns, "gw", 1)
	waitRouteAccepted(t, c, ns, "llm", ns, "gw")
	ips := withPort(readyPodIPs(t, c, ns, "app=pool", 3), 8000)

	attached := func(t *testing.T) {
		t.Helper()
		waitPoolStatus(t, c, ns, "pool", ns, "gw", "True", "ResolvedRefs")
		waitAccepted(t, c, waitGenerated(t, c, kindBackendTraffic, ns, "pool", 1))
		eep := waitGenerated(t, c, kindEnvoyExtension, ns, "pool", 1)
		waitAccepted(t, c, eep)
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			if err := poolClusterIs(s, rule, "envoy.load_balancing_policies.least_request", ips); err != nil {
				return err
			}
			_, err := extProcOnRule(s, ns, eep[0].GetName(), rule)
			return err
		})
		waitFailOpenMetric(t, ns, "pool", 0)
	}

	t.Run("EPP ready: attached", attached)

	t.Run("EPP scaled to zero: detached", func(t *testing.T) {
		scale(t, c, ns, m.eppName(), 0)
		waitGenerated(t, c, kindEnvoyExtension, ns, "pool", 0)
		waitAccepted(t, c, waitGenerated(t, c, kindBackendTraffic, ns, "pool", 1))
		waitPoolStatus(t, c, ns, "pool", ns, "gw", "True", "ResolvedRefs")
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			if err := poolClusterIs(s, rule, "envoy.load_balancing_policies.least_request", ips); err != nil {
				return err
			}
			if status, err := directResponse(s, rule); err != nil || status != 0 {
				return fmt.Errorf("rule %s answers %d directly (%v), want it routed to the pool", rule, status, err)
			}
			// Without the picker, a retry goes to another pod chosen by the fallback.
			if err := retryPolicyIs(s, rule, defaultRetryOn, 2); err != nil {
				return err
			}
			return noExtProcOnRule(s, rule)
		})
		waitFailOpenMetric(t, ns, "pool", 1)
		waitEvent(t, c, ns, "pool", "FailOpenActivated")
	})

	t.Run("EPP scaled back: reattached", func(t *testing.T) {
		scale(t, c, ns, m.eppName(), 1)
		attached(t)
		waitEvent(t, c, ns, "pool", "FailOpenDeactivated")
	})
}

// scale sets a Deployment's replicas and waits for exactly that many ready pods.
func scale(t *testing.T, c client.Client, ns, name string, replicas int32) {
	t.Helper()
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
	if err := c.Patch(context.Background(), d, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
	waitDeploymentReplicas(t, c, ns, name, int(replicas))
}

// waitFailOpenMetric waits until the operator's inferencepool_operator_failopen_active gauge
// for the pool is want (the operator runs in this process, so its registry is readable here).
func waitFailOpenMetric(t *testing.T, ns, pool string, want float64) {
	t.Helper()
	eventually(t, fmt.Sprintf("inferencepool_operator_failopen_active{%s/%s} = %v", ns, pool, want), func(context.Context) error {
		families, err := metrics.Registry.Gather()
		if err != nil {
			return err
		}
		for _, f := range families {
			if f.GetName() != "inferencepool_operator_failopen_active" {
				continue
			}
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["namespace"] == ns && labels["pool"] == pool {
					if got := m.GetGauge().GetValue(); got != want {
						return fmt.Errorf("value %v", got)
					}
					return nil
				}
			}
		}
		return fmt.Errorf("no sample for the pool")
	})
}

// waitEvent waits for an event with reason about the InferencePool ns/pool.
func waitEvent(t *testing.T, c client.Client, ns, pool, reason string) {
	t.Helper()
	eventually(t, fmt.Sprintf("event %s on InferencePool %s/%s", reason, ns, pool), func(ctx context.Context) error {
		events := &eventsv1.EventList{}
		if err := c.List(ctx, events, client.InNamespace(ns)); err != nil {
			return err
		}
		var seen []string
		for _, e := range events.Items {
			if e.Regarding.Kind == "InferencePool" && e.Regarding.Name == pool && e.Reason == reason {
				return nil
			}
			seen = append(seen, e.Regarding.Kind+"/"+e.Regarding.Name+":"+e.Reason)
		}
		return fmt.Errorf("events %v", seen)
	})
}
