package envoygateway

import (
	"context"
	"fmt"
	"time"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"

	"github.com/inferencepool-operator/inferencepool-operator/test/kit"
)

// DefaultGatewayClass is the name of the class CreateGatewayClass makes in the system tests.
const DefaultGatewayClass = "eg"

// ClusterIPEnvoyProxy returns an EnvoyProxy (in Namespace) whose proxies get a ClusterIP
// Service. A cluster without a load-balancer implementation never gives a LoadBalancer
// Service an address, so with the default the Gateway stays Programmed=False
// (AddressNotAssigned); with ClusterIP the Gateway's address is the Service's cluster IP.
func ClusterIPEnvoyProxy(name string) *egv1a1.EnvoyProxy {
	return &egv1a1.EnvoyProxy{
		TypeMeta:   metav1.TypeMeta{APIVersion: egv1a1.GroupVersion.String(), Kind: egv1a1.KindEnvoyProxy},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
		Spec: egv1a1.EnvoyProxySpec{
			Provider: &egv1a1.EnvoyProxyProvider{
				Type: egv1a1.EnvoyProxyProviderTypeKubernetes,
				Kubernetes: &egv1a1.EnvoyProxyKubernetesProvider{
					EnvoyService: &egv1a1.KubernetesServiceSpec{Type: new(egv1a1.ServiceTypeClusterIP)},
				},
			},
		},
	}
}

// GatewayClass returns a GatewayClass of Envoy Gateway's controller with the EnvoyProxy
// envoyProxy (in Namespace) as parameters.
func GatewayClass(name, envoyProxy string) *gwapiv1.GatewayClass {
	return &gwapiv1.GatewayClass{
		TypeMeta:   metav1.TypeMeta{APIVersion: gwapiv1.GroupVersion.String(), Kind: "GatewayClass"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: gwapiv1.GatewayClassSpec{
			ControllerName: ControllerName,
			ParametersRef: &gwapiv1.ParametersReference{
				Group:     gwapiv1.Group(egv1a1.GroupName),
				Kind:      gwapiv1.Kind(egv1a1.KindEnvoyProxy),
				Name:      envoyProxy,
				Namespace: new(gwapiv1.Namespace(Namespace)),
			},
		},
	}
}

// CreateGatewayClass applies a GatewayClass name with a ClusterIP EnvoyProxy of the same name
// (see ClusterIPEnvoyProxy) and waits until Envoy Gateway accepts the class.
func CreateGatewayClass(ctx context.Context, cfg *rest.Config, name string) error {
	var objs []*unstructured.Unstructured
	for _, o := range []runtime.Object{ClusterIPEnvoyProxy(name), GatewayClass(name, name)} {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return err
		}
		objs = append(objs, &unstructured.Unstructured{Object: u})
	}
	if err := cluster.Apply(ctx, cfg, objs...); err != nil {
		return err
	}
	s := runtime.NewScheme()
	if err := gwapiv1.Install(s); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return err
	}
	return kit.Poll(ctx, kit.Options{Timeout: 60 * time.Second, Interval: 200 * time.Millisecond, What: "GatewayClass " + name + " Accepted"}, func(ctx context.Context) error {
		gc := &gwapiv1.GatewayClass{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, gc); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(gc.Status.Conditions, string(gwapiv1.GatewayClassConditionStatusAccepted)) {
			return fmt.Errorf("conditions %+v", gc.Status.Conditions)
		}
		return nil
	})
}
