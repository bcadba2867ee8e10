//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// TestOtherRouteKindsRefused: on the real Envoy Gateway, a GRPCRoute attached to a Gateway of the
// operator's class is refused in its own status (Envoy Gateway, which serves GRPCRoutes on its
// own classes, writes nothing for it), and the Gateway's listener lists HTTPRoute alone
// (waitGatewayProgrammed checks it, while Envoy Gateway lists GRPCRoute on the generated one).
func TestOtherRouteKindsRefused(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, "{}")
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "gw", "Class": class})
	applyTemplate(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: chat, namespace: {{.Namespace}}}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: grpc-server, port: 9000}]
`, map[string]any{"Namespace": ns})
	waitGatewayProgrammed(t, c, ns, "gw", 0)
	eventually(t, "the GRPCRoute refused in its status", func(ctx context.Context) error {
		r := &gwapiv1.GRPCRoute{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "chat"}, r); err != nil {
			return err
		}
		if len(r.Status.Parents) != 1 || string(r.Status.Parents[0].ControllerName) != translate.ControllerName {
			return fmt.Errorf("parents %+v, want one entry, ours", r.Status.Parents)
		}
		for _, cond := range r.Status.Parents[0].Conditions {
			if cond.Type == "Accepted" && cond.Status == metav1.ConditionFalse && cond.Reason == string(gwapiv1.RouteReasonNotAllowedByListeners) &&
				strings.Contains(cond.Message, "GRPCRoute") && cond.ObservedGeneration == r.Generation {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v, want Accepted=False/NotAllowedByListeners", r.Status.Parents[0].Conditions)
	})
}
