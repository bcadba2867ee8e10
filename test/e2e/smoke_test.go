//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/envoygateway"
)

// TestDeploymentAvailableWithEndpointSlice checks the fake cluster behaves like a real one for
// what the operator and Envoy Gateway read: Deployments become Available with Ready pods that
// have pod IPs, and the Service's EndpointSlice lists exactly those IPs as ready.
func TestDeploymentAvailableWithEndpointSlice(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	applyTemplate(t, modelServersYAML, map[string]any{"Namespace": ns, "Name": "model", "Replicas": 3})
	applyTemplate(t, serviceYAML, map[string]any{"Namespace": ns, "Name": "model", "Headless": false})

	eventually(t, "Deployment model Available", func(ctx context.Context) error {
		d := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "model"}, d); err != nil {
			return err
		}
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue && d.Status.ReadyReplicas == 3 {
				return nil
			}
		}
		return fmt.Errorf("ready %d/3, conditions %+v", d.Status.ReadyReplicas, d.Status.Conditions)
	})
	ips := readyPodIPs(t, c, ns, "app=model", 3)
	eventually(t, "EndpointSlice of Service model lists the 3 pod IPs", func(ctx context.Context) error {
		got, err := readyEndpointIPs(ctx, c, ns, "model")
		if err != nil {
			return err
		}
		if !slices.Equal(got, ips) {
			return fmt.Errorf("endpoint IPs %v, pod IPs %v", got, ips)
		}
		return nil
	})
}

// TestGatewayProgrammedWithAddress checks Envoy Gateway programs a Gateway of class eg: its
// proxy Deployment's fake pod becomes Ready, and the Gateway is Accepted and Programmed with
// the ClusterIP of the proxy Service (in the Gateway's namespace) as address.
func TestGatewayProgrammedWithAddress(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c)
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "gw", "Class": envoygateway.DefaultGatewayClass})
	waitConditions(t, c, "gateway.networking.k8s.io/v1", "Gateway", ns, "gw",
		[]string{string(gwapiv1.GatewayConditionAccepted), string(gwapiv1.GatewayConditionProgrammed)})

	gw := &gwapiv1.Gateway{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "gw"}, gw); err != nil {
		t.Fatal(err)
	}
	if len(gw.Status.Addresses) == 0 {
		t.Fatalf("Programmed Gateway has no address: %+v", gw.Status)
	}
	_, services, _ := net.ParseCIDR(cluster.ServiceCIDR)
	if ip := net.ParseIP(gw.Status.Addresses[0].Value); ip == nil || !services.Contains(ip) {
		t.Errorf("Gateway address %q is not a cluster IP of %s", gw.Status.Addresses[0].Value, cluster.ServiceCIDR)
	}
	proxies := &corev1.ServiceList{}
	if err := c.List(context.Background(), proxies, client.InNamespace(ns),
		client.MatchingLabels{"gateway.envoyproxy.io/owning-gateway-name": "gw"}); err != nil {
		t.Fatal(err)
	}
	if len(proxies.Items) != 1 || proxies.Items[0].Spec.Type != corev1.ServiceTypeClusterIP ||
		proxies.Items[0].Spec.ClusterIP != gw.Status.Addresses[0].Value {
		t.Errorf("want one ClusterIP proxy Service in %s with IP %s, got %+v", ns, gw.Status.Addresses[0].Value, proxies.Items)
	}
	if !meta.IsStatusConditionTrue(gw.Status.Listeners[0].Conditions, string(gwapiv1.ListenerConditionProgrammed)) {
		t.Errorf("listener http not Programmed: %s", describe(gw.Status.Listeners[0].Conditions))
	}
}

// readyPodIPs waits for n Ready pods matching selector with IPs in the pod CIDR and returns
// their IPs, sorted.
func readyPodIPs(t *testing.T, c client.Client, ns, selector string, n int) []string {
	t.Helper()
	_, pods, _ := net.ParseCIDR(cluster.PodCIDR)
	var ips []string
	eventually(t, fmt.Sprintf("%d Ready pods %s with IPs", n, selector), func(ctx context.Context) error {
		list := &corev1.PodList{}
		sel, err := labelSelector(selector)
		if err != nil {
			return err
		}
		if err := c.List(ctx, list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return err
		}
		ips = nil
		for _, p := range list.Items {
			ready := false
			for _, cond := range p.Status.Conditions {
				ready = ready || (cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue)
			}
			if ip := net.ParseIP(p.Status.PodIP); ready && ip != nil && pods.Contains(ip) {
				ips = append(ips, p.Status.PodIP)
			}
		}
		if len(ips) != n {
			return fmt.Errorf("%d of %d pods Ready with a pod IP (%v)", len(ips), len(list.Items), ips)
		}
		return nil
	})
	sort.Strings(ips)
	return ips
}

// readyEndpointIPs returns the ready addresses of a Service's EndpointSlices, sorted.
func readyEndpointIPs(ctx context.Context, c client.Client, ns, service string) ([]string, error) {
	slices := &discoveryv1.EndpointSliceList{}
	if err := c.List(ctx, slices, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: service}); err != nil {
		return nil, err
	}
	var ips []string
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				ips = append(ips, e.Addresses...)
			}
		}
	}
	sort.Strings(ips)
	return ips, nil
}

// TestCRDsInstalled checks TestMain installed every CRD the operator scenarios need, served.
func TestCRDsInstalled(t *testing.T) {
	c := newClient(t)
	for _, gvk := range []schema.GroupVersionKind{
		{Group: "inference.networking.k8s.io", Version: "v1", Kind: "InferencePoolList"},
		{Group: "inferencepool-operator.io", Version: "v1alpha1", Kind: "InferenceGatewayParametersList"},
		{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRouteList"},
		{Group: "gateway.envoyproxy.io", Version: "v1alpha1", Kind: "EnvoyExtensionPolicyList"},
	} {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk)
		if err := c.List(context.Background(), list); err != nil {
			t.Errorf("listing %s: %v", gvk, err)
		}
	}
}
