//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// unreadyExtProcYAML is a user's EnvoyExtensionPolicy on the route "llm" whose ext_proc calls the
// Service "moderation", whose selector matches no pod: it exists, with the port, and has no ready
// endpoint (the EndpointSlice controller's placeholder slice only).
const unreadyExtProcYAML = `
apiVersion: v1
kind: Service
metadata:
  name: moderation
  namespace: {{.Namespace}}
spec:
  selector: {app: moderation}
  ports:
  - {name: grpc, port: 9000, targetPort: 9000, appProtocol: http2}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyExtensionPolicy
metadata:
  name: moderation
  namespace: {{.Namespace}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm}]
  extProc:
  - backendRefs: [{name: moderation, port: 9000}]
`

// TestRejectedExtensionPolicyOnPool reproduces, on the real Envoy Gateway, a generated policy of a
// pool that Envoy Gateway rejects while the route stays accepted. The user's EnvoyExtensionPolicy
// on the route calls an ext_proc Service without ready endpoints; the pool's generated
// EnvoyExtensionPolicy carries it, before the endpoint picker's ext_proc. Envoy Gateway v1.9.1
// rejects it (internal/gatewayapi: buildExtProc → translateExtServiceBackendRefs →
// processServiceDestinationSetting, which with endpoint routing, the default, finds no ready
// endpoint: Accepted=False/Invalid "ExtProc: no ready endpoints for the related Service
// <ns>/moderation.") and, the ext_proc not being fail-open, programs the rule as a direct 500
// (translateEnvoyExtensionPolicyForRoute). The pool's parent entry must say so:
// ResolvedRefs=False/InvalidExtensionRef, naming the generated policy and the user's, quoting
// Envoy Gateway's message, with Accepted still True. The user deleting the policy repairs it.
func TestRejectedExtensionPolicyOnPool(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, "{}")
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "gw", "Class": class})
	model{Namespace: ns, Name: "pool", Replicas: 2}.apply(t)
	poolRoute{Namespace: ns}.apply(t)
	waitGatewayProgrammed(t, c, ns, "gw", 1)
	waitRouteAccepted(t, c, ns, "llm", ns, "gw")
	waitPoolStatus(t, c, ns, "pool", ns, "gw", "True", "ResolvedRefs")
	rule := ruleCluster(ns, "llm-eg", 0)

	t.Run("ext_proc without ready endpoints: rejected", func(t *testing.T) {
		applyTemplate(t, unreadyExtProcYAML, map[string]any{"Namespace": ns})
		eep := carrierOf(t, c, kindEnvoyExtension, ns, "pool", "moderation")
		verdict := waitVerdict(t, c, kindEnvoyExtension.APIVersion, kindEnvoyExtension.Kind, ns, eep, metav1.ConditionFalse, "Invalid")
		t.Logf("Envoy Gateway on %s: Accepted=%s/%s %q", eep, verdict.Status, verdict.Reason, verdict.Message)
		if !strings.Contains(verdict.Message, "no ready endpoints") || !strings.Contains(verdict.Message, ns+"/moderation") {
			t.Errorf("Envoy Gateway's verdict %q does not say the ext_proc Service has no ready endpoint", verdict.Message)
		}
		waitPoolStatus(t, c, ns, "pool", ns, "gw", "False", string(giev1.InferencePoolReasonInvalidExtensionRef))
		waitPoolResolvedRefsMessage(t, c, ns, "pool", "gw",
			"EnvoyExtensionPolicy "+ns+"/"+eep, "EnvoyExtensionPolicy "+ns+"/moderation", `"`+verdict.Message+`"`)
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			status, err := directResponse(s, rule)
			if err != nil {
				return err
			}
			if status != 500 {
				return fmt.Errorf("rule %s answers %d directly, want a direct 500", rule, status)
			}
			return nil
		})
	})

	t.Run("policy deleted: resolved", func(t *testing.T) {
		if err := c.Delete(context.Background(), &egv1a1.EnvoyExtensionPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "moderation"}}); err != nil {
			t.Fatal(err)
		}
		waitPoolStatus(t, c, ns, "pool", ns, "gw", "True", string(giev1.InferencePoolReasonResolvedRefs))
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

// waitPoolResolvedRefsMessage waits until the pool's ResolvedRefs condition of ours for the
// Gateway gw (in ns) holds every part of want.
func waitPoolResolvedRefsMessage(t *testing.T, c client.Client, ns, pool, gw string, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("InferencePool %s/%s ResolvedRefs saying %q", ns, pool, want), func(ctx context.Context) error {
		p := &giev1.InferencePool{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: pool}, p); err != nil {
			return err
		}
		for _, parent := range p.Status.Parents {
			if string(parent.ControllerName) != translate.ControllerName || string(parent.ParentRef.Name) != gw {
				continue
			}
			cond := meta.FindStatusCondition(parent.Conditions, string(giev1.InferencePoolConditionResolvedRefs))
			if cond == nil {
				return fmt.Errorf("no ResolvedRefs condition: %+v", parent.Conditions)
			}
			for _, w := range want {
				if !strings.Contains(cond.Message, w) {
					return fmt.Errorf("ResolvedRefs message %q does not contain %q", cond.Message, w)
				}
			}
			return nil
		}
		return fmt.Errorf("no parent entry of ours for %s: %+v", gw, p.Status.Parents)
	})
}
