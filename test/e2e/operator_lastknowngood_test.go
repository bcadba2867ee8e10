//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// TestParametersDeletedKeepsEnvoyFleet deletes the parameters of a class whose Gateway Envoy
// Gateway serves, then restores them. Before the last-known-good rule the operator deleted the
// generated Gateway, and Envoy Gateway deleted the Envoy Deployment and its Service with it. Now
// the Envoy Deployment, its Service (the Gateway's address) and the generated Gateway keep their
// UIDs throughout, the xDS keeps the pool's route and cluster, and the user's Gateway says it
// serves its last known good configuration until the parameters are back.
func TestParametersDeletedKeepsEnvoyFleet(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	class := newInferenceClass(t, c, ns, "{}")
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "gw", "Class": class})
	m := model{Namespace: ns, Name: "pool"}
	m.apply(t)
	poolRoute{Namespace: ns, GatewayNamespace: ns, PoolNamespace: ns}.apply(t)
	addr := waitGatewayProgrammed(t, c, ns, "gw", 1)
	waitRouteAccepted(t, c, ns, "llm", ns, "gw")
	rule := ruleCluster(ns, "llm-eg", 0)
	servesPool := func(s *xds.Snapshot) error {
		if _, err := s.Cluster(rule); err != nil {
			return err
		}
		return nil
	}
	proxyConfig(t, ns, "gw", servesPool)

	before := fleetUIDs(t, c, ns)
	t.Logf("Envoy fleet of %s/gw-eg at %s: %v", ns, addr, before)

	params := newUnstructured("inferencepool-operator.io/v1alpha1", "InferenceGatewayParameters", "", class)
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(params), params); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Gateway held on its last known good configuration", func(ctx context.Context) error {
		gw := &gwapiv1.Gateway{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "gw"}, gw); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(gw.Status.Conditions, translate.ConditionLastKnownGood) {
			return fmt.Errorf("conditions %s", describe(gw.Status.Conditions))
		}
		if !meta.IsStatusConditionTrue(gw.Status.Conditions, string(gwapiv1.GatewayConditionProgrammed)) {
			return fmt.Errorf("held Gateway not Programmed: %s", describe(gw.Status.Conditions))
		}
		return nil
	})
	time.Sleep(3 * time.Second) // what Envoy Gateway would do with a deleted Gateway takes about this long
	assertFleet(t, c, ns, before)
	proxyConfig(t, ns, "gw", servesPool)

	params.SetResourceVersion("")
	params.SetUID("")
	params.SetCreationTimestamp(metav1.Time{})
	params.SetManagedFields(nil)
	if err := c.Create(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Gateway served by its accepted class again", func(ctx context.Context) error {
		gw := &gwapiv1.Gateway{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "gw"}, gw); err != nil {
			return err
		}
		if meta.FindStatusCondition(gw.Status.Conditions, translate.ConditionLastKnownGood) != nil {
			return fmt.Errorf("still held: %s", describe(gw.Status.Conditions))
		}
		return nil
	})
	if got := waitGatewayProgrammed(t, c, ns, "gw", 1); got != addr {
		t.Errorf("the Gateway's address changed from %s to %s", addr, got)
	}
	assertFleet(t, c, ns, before)
	proxyConfig(t, ns, "gw", servesPool)
}

// fleetUIDs are the UIDs of the generated Gateway and of the Envoy Deployment and Service Envoy
// Gateway runs for it, by "Kind/name".
func fleetUIDs(t *testing.T, c client.Client, ns string) map[string]types.UID {
	t.Helper()
	ctx := context.Background()
	out := map[string]types.UID{}
	gen := &gwapiv1.Gateway{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: translate.GeneratedGatewayName("gw")}, gen); err != nil {
		t.Fatal(err)
	}
	out["Gateway/"+gen.Name] = gen.UID
	owned := client.MatchingLabels{"gateway.envoyproxy.io/owning-gateway-name": gen.Name, "gateway.envoyproxy.io/owning-gateway-namespace": ns}
	deployments := &appsv1.DeploymentList{}
	services := &corev1.ServiceList{}
	if err := c.List(ctx, deployments, client.InNamespace(ns), owned); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, services, client.InNamespace(ns), owned); err != nil {
		t.Fatal(err)
	}
	if len(deployments.Items) != 1 || len(services.Items) != 1 {
		t.Fatalf("Envoy Gateway runs %d Deployments and %d Services for %s/%s, want one of each", len(deployments.Items), len(services.Items), ns, gen.Name)
	}
	out["Deployment/"+deployments.Items[0].Name] = deployments.Items[0].UID
	out["Service/"+services.Items[0].Name] = services.Items[0].UID
	return out
}

func assertFleet(t *testing.T, c client.Client, ns string, before map[string]types.UID) {
	t.Helper()
	after := fleetUIDs(t, c, ns)
	for k, uid := range before {
		if after[k] != uid {
			t.Errorf("%s: UID %q, was %q: deleted or recreated", k, after[k], uid)
		}
	}
}
