package envtest

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// CreateAcceptedEnvoyGatewayClass creates Envoy Gateway's GatewayClass name with the Accepted
// condition Envoy Gateway would give it. No Envoy Gateway runs on a bare API server, and the
// operator's classes are accepted, and serve Gateways, only when their Envoy Gateway class is.
// c's scheme must hold Gateway API's types.
func CreateAcceptedEnvoyGatewayClass(ctx context.Context, c client.Client, name string) error {
	class := &gwapiv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       gwapiv1.GatewayClassSpec{ControllerName: translate.EnvoyGatewayControllerName},
	}
	if err := c.Create(ctx, class); err != nil {
		return err
	}
	class.Status.Conditions = []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted",
		Message: "accepted by the test, as Envoy Gateway would", ObservedGeneration: class.Generation, LastTransitionTime: metav1.Now()}}
	return c.Status().Update(ctx, class)
}
