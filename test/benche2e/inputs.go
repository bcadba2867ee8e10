//go:build benche2e

package benche2e

import (
	"context"
	"fmt"
	"sync"
	"time"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// The objects of a run. Both ways use the same namespace, names, pods and endpoint pickers, so
// they differ only in what serves the pools.
const (
	namespace   = "bench"
	gatewayName = "gw"
	// operatorClass is the operator's GatewayClass (no parameters: the defaults, with Envoy
	// Gateway's class "eg").
	operatorClass = "inference"
	targetPort    = 8000
	eppPort       = 9002
)

func poolName(i int) string { return fmt.Sprintf("pool-%04d", i) }
func eppName(i int) string  { return poolName(i) + "-epp" }

// prerequisites are what exists before the clock starts, both ways: the namespace, per pool one
// model-server pod and one endpoint-picker pod on the fake node (kwok makes them Ready; the
// node name skips the scheduler), and the endpoint picker's Service.
func prerequisites(n int) (shared []client.Object, perPool [][]client.Object) {
	shared = []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}}
	for i := range n {
		perPool = append(perPool, []client.Object{
			fakePod(poolName(i)+"-0", poolName(i)),
			fakePod(eppName(i)+"-0", eppName(i)),
			&corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: eppName(i), Namespace: namespace},
				Spec: corev1.ServiceSpec{
					Selector: map[string]string{"app": eppName(i)},
					Ports: []corev1.ServicePort{{Name: "grpc", Port: eppPort, TargetPort: intstr.FromInt32(eppPort),
						Protocol: corev1.ProtocolTCP}},
				},
			},
		})
	}
	return shared, perPool
}

func fakePod(name, app string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{
			NodeName:   fakeNode,
			Containers: []corev1.Container{{Name: "main", Image: "fake"}},
		},
	}
}

// fakeNode is test/cluster's default fake node.
const fakeNode = "kwok-node-0"

// handGateway is the hand-written way's Gateway (of Envoy Gateway's class) and the one
// ClientTrafficPolicy that removes the destination header a client might send.
func handGateway() []client.Object {
	return []client.Object{
		gateway("eg"),
		&egv1a1.ClientTrafficPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: gatewayName + "-client", Namespace: namespace},
			Spec: egv1a1.ClientTrafficPolicySpec{
				PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: []gwapiv1.LocalPolicyTargetReferenceWithSectionName{{
					LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{Group: gwapiv1.GroupName, Kind: "Gateway", Name: gatewayName},
				}}},
				Headers: &egv1a1.HeaderSettings{EarlyRequestHeaders: &egv1a1.HTTPHeaderFilter{Remove: []string{translate.DestinationHeader}}},
			},
		},
	}
}

// operatorGateway is the operator's class and the user's Gateway of it; with matched, the class
// has parameters that leave out what the hand-written set does not do (TLS to the endpoint
// picker, its health checks, retries), so that only what the operator adds besides remains.
func operatorGateway(matched bool) []client.Object {
	class := &gwapiv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: operatorClass},
		Spec:       gwapiv1.GatewayClassSpec{ControllerName: translate.ControllerName},
	}
	if !matched {
		return []client.Object{class, gateway(operatorClass)}
	}
	params := &v1alpha1.InferenceGatewayParameters{
		ObjectMeta: metav1.ObjectMeta{Name: "like-hand-written"},
		Spec: v1alpha1.InferenceGatewayParametersSpec{
			EndpointPicker: &v1alpha1.EndpointPickerSettings{
				TLS:         &v1alpha1.EndpointPickerTLS{Mode: v1alpha1.TLSModeDisabled},
				HealthCheck: &v1alpha1.EndpointPickerHealthCheck{Enabled: ptr(false)},
			},
			Retry: &v1alpha1.RetrySettings{NumRetries: ptr(int32(0))},
		},
	}
	class.Spec.ParametersRef = &gwapiv1.ParametersReference{Group: gwapiv1.Group(v1alpha1.GroupVersion.Group), Kind: v1alpha1.Kind, Name: params.Name}
	return []client.Object{params, class, gateway(operatorClass)}
}

func gateway(class string) *gwapiv1.Gateway {
	return &gwapiv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: gatewayName, Namespace: namespace},
		Spec: gwapiv1.GatewaySpec{
			GatewayClassName: gwapiv1.ObjectName(class),
			Listeners:        []gwapiv1.Listener{{Name: "http", Protocol: gwapiv1.HTTPProtocolType, Port: 80}},
		},
	}
}

// handPool is pool i written by hand, the way a user serves a pool on stock Envoy Gateway
// without the operator: a Service of the pool's pods, an HTTPRoute rule to it with the
// timeouts a long generation needs, a BackendTrafficPolicy that sends each request to the
// endpoint the picker names, and an EnvoyExtensionPolicy that calls the picker.
func handPool(i int) []client.Object {
	name := poolName(i)
	streamed := egv1a1.FullDuplexStreamedExtBodyProcessingMode
	routeRef := []gwapiv1.LocalPolicyTargetReferenceWithSectionName{{
		LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Name: gwapiv1.ObjectName(name)},
	}}
	return []client.Object{
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Spec: corev1.ServiceSpec{
				ClusterIP: corev1.ClusterIPNone,
				Selector:  map[string]string{"app": name},
				Ports: []corev1.ServicePort{{Name: "http", Port: targetPort, TargetPort: intstr.FromInt32(targetPort),
					Protocol: corev1.ProtocolTCP}},
			},
		},
		&gwapiv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Spec: gwapiv1.HTTPRouteSpec{
				CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: gatewayName}}},
				Rules: []gwapiv1.HTTPRouteRule{{
					Matches: pathPrefix(name),
					BackendRefs: []gwapiv1.HTTPBackendRef{{BackendRef: gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{
						Name: gwapiv1.ObjectName(name), Port: ptr(gwapiv1.PortNumber(targetPort))}}}},
					Timeouts: &gwapiv1.HTTPRouteTimeouts{Request: ptr(gwapiv1.Duration("0s"))},
				}},
			},
		},
		&egv1a1.BackendTrafficPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Spec: egv1a1.BackendTrafficPolicySpec{
				PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: routeRef},
				ClusterSettings: egv1a1.ClusterSettings{LoadBalancer: &egv1a1.LoadBalancer{
					Type: egv1a1.LeastRequestLoadBalancerType,
					EndpointOverride: &egv1a1.EndpointOverride{
						ExtractFrom: []egv1a1.EndpointOverrideExtractFrom{{Header: ptr(translate.DestinationHeader)}},
					},
				}},
			},
		},
		&egv1a1.EnvoyExtensionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Spec: egv1a1.EnvoyExtensionPolicySpec{
				PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: routeRef},
				ExtProc: []egv1a1.ExtProc{{
					BackendCluster: egv1a1.BackendCluster{BackendRefs: []egv1a1.BackendRef{{BackendObjectReference: gwapiv1.BackendObjectReference{
						Name: gwapiv1.ObjectName(eppName(i)), Port: ptr(gwapiv1.PortNumber(eppPort))}}}},
					ProcessingMode: &egv1a1.ExtProcProcessingMode{
						Request:  &egv1a1.ProcessingModeOptions{Body: &streamed},
						Response: &egv1a1.ProcessingModeOptions{Body: &streamed},
					},
					MessageTimeout: ptr(gwapiv1.Duration("10s")),
					FailOpen:       ptr(false),
				}},
			},
		},
	}
}

// operatorPool is pool i through the operator: the InferencePool and an HTTPRoute rule to it.
func operatorPool(i int) []client.Object {
	name := poolName(i)
	return []client.Object{
		&giev1.InferencePool{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Spec: giev1.InferencePoolSpec{
				Selector:          giev1.LabelSelector{MatchLabels: map[giev1.LabelKey]giev1.LabelValue{"app": giev1.LabelValue(name)}},
				TargetPorts:       []giev1.Port{{Number: targetPort}},
				EndpointPickerRef: &giev1.EndpointPickerRef{Name: giev1.ObjectName(eppName(i)), Port: &giev1.Port{Number: eppPort}},
			},
		},
		&gwapiv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Spec: gwapiv1.HTTPRouteSpec{
				CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: gatewayName}}},
				Rules: []gwapiv1.HTTPRouteRule{{
					Matches: pathPrefix(name),
					BackendRefs: []gwapiv1.HTTPBackendRef{{BackendRef: gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{
						Group: ptr(gwapiv1.Group(translate.InferenceGroup)), Kind: ptr(gwapiv1.Kind(translate.InferencePoolKind)),
						Name: gwapiv1.ObjectName(name)}}}},
				}},
			},
		},
	}
}

func pathPrefix(name string) []gwapiv1.HTTPRouteMatch {
	return []gwapiv1.HTTPRouteMatch{{Path: &gwapiv1.HTTPPathMatch{Type: ptr(gwapiv1.PathMatchPathPrefix), Value: ptr("/" + name)}}}
}

// createAll creates every pool's objects (each pool's in order) with writers parallel writers
// and returns when the last create completed.
func createAll(ctx context.Context, c client.Client, perPool [][]client.Object, writers int) (time.Time, error) {
	next := make(chan []client.Object)
	var (
		mu    sync.Mutex
		last  time.Time
		first error
		wg    sync.WaitGroup
	)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for objs := range next {
				for _, obj := range objs {
					err := c.Create(ctx, obj)
					mu.Lock()
					if err != nil && first == nil {
						first = fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
					}
					if now := time.Now(); now.After(last) {
						last = now
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, objs := range perPool {
		select {
		case next <- objs:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return last, first
}

func ptr[T any](v T) *T { return &v }
