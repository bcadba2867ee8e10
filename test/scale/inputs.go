package scale

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// The inputs: one GatewayClass of the operator (no parameters: the defaults), one Gateway of it,
// and per pool an InferencePool, its endpoint picker's Service, EndpointSlices and an HTTPRoute.
const (
	Namespace   = "scale"
	ClassName   = "inference-scale"
	GatewayName = "scale-gateway"
	// ModelEndpoints is the number of ready model-server endpoints per pool.
	ModelEndpoints = 9
	TargetPort     = 8000
	EPPPort        = 9002
	// setupWriters is the number of parallel writers creating the inputs.
	setupWriters = 16
)

func PoolName(i int) string { return fmt.Sprintf("pool-%05d", i) }

func EPPName(i int) string { return PoolName(i) + "-epp" }

// EnvoyGatewayClass is Envoy Gateway's class the operator's class uses (its default), created
// accepted as Envoy Gateway would judge it: no Envoy Gateway runs here, and without an accepted
// Envoy Gateway class the operator's class is not accepted and serves nothing.
const EnvoyGatewayClass = "eg"

// SharedInputs are the namespace, Envoy Gateway's class, the GatewayClass and the Gateway.
func SharedInputs() []client.Object {
	return []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}},
		&gwapiv1.GatewayClass{
			ObjectMeta: metav1.ObjectMeta{Name: EnvoyGatewayClass},
			Spec:       gwapiv1.GatewayClassSpec{ControllerName: translate.EnvoyGatewayControllerName},
			Status: gwapiv1.GatewayClassStatus{Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue,
				Reason: "Accepted", Message: "accepted by the harness, as Envoy Gateway would", LastTransitionTime: metav1.Unix(1, 0)}}},
		},
		&gwapiv1.GatewayClass{
			ObjectMeta: metav1.ObjectMeta{Name: ClassName},
			Spec:       gwapiv1.GatewayClassSpec{ControllerName: translate.ControllerName},
		},
		&gwapiv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Name: GatewayName, Namespace: Namespace},
			Spec: gwapiv1.GatewaySpec{
				GatewayClassName: ClassName,
				Listeners:        []gwapiv1.Listener{{Name: "http", Protocol: gwapiv1.HTTPProtocolType, Port: 80}},
			},
		},
	}
}

// PoolInputs are pool i's objects, in creation order: what the pool and the route reference
// exists before them. No controller-manager runs, so the harness writes the EndpointSlices the
// endpoint-slice controller would: one ready endpoint for the endpoint picker's Service and
// modelEndpoints ready endpoints of the pool's pods, for the shadow Service the operator will
// create (the operator reads only the former; Envoy Gateway would read the latter, and the
// operator's cache holds both, as in a real cluster).
func PoolInputs(i int) []client.Object {
	pool, epp := PoolName(i), EPPName(i)
	ready := true
	eppSlice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: epp + "-1", Namespace: Namespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: epp, discoveryv1.LabelManagedBy: "scale-harness"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{endpoint(i, ModelEndpoints, &ready)},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("grpc"), Port: ptr(int32(EPPPort)), Protocol: ptr(corev1.ProtocolTCP)}},
	}
	shadow := translate.ShadowServiceName(pool)
	modelSlice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: shadow + "-1", Namespace: Namespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: shadow, discoveryv1.LabelManagedBy: "scale-harness"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{{Name: ptr(translate.ShadowServicePortName(TargetPort)),
			Port: ptr(int32(TargetPort)), Protocol: ptr(corev1.ProtocolTCP)}},
	}
	for j := range ModelEndpoints {
		modelSlice.Endpoints = append(modelSlice.Endpoints, endpoint(i, j, &ready))
	}
	return []client.Object{
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: epp, Namespace: Namespace},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": epp},
				Ports:    []corev1.ServicePort{{Name: "grpc", Port: EPPPort, TargetPort: intstr.FromInt32(EPPPort), Protocol: corev1.ProtocolTCP}},
			},
		},
		eppSlice,
		modelSlice,
		&giev1.InferencePool{
			ObjectMeta: metav1.ObjectMeta{Name: pool, Namespace: Namespace},
			Spec: giev1.InferencePoolSpec{
				Selector:          giev1.LabelSelector{MatchLabels: map[giev1.LabelKey]giev1.LabelValue{"app": giev1.LabelValue(pool)}},
				TargetPorts:       []giev1.Port{{Number: TargetPort}},
				EndpointPickerRef: &giev1.EndpointPickerRef{Name: giev1.ObjectName(epp), Port: &giev1.Port{Number: EPPPort}},
			},
		},
		&gwapiv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Name: pool, Namespace: Namespace},
			Spec: gwapiv1.HTTPRouteSpec{
				CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: GatewayName}}},
				Rules: []gwapiv1.HTTPRouteRule{{
					Matches: []gwapiv1.HTTPRouteMatch{{Path: &gwapiv1.HTTPPathMatch{
						Type: ptr(gwapiv1.PathMatchPathPrefix), Value: ptr("/" + pool)}}},
					BackendRefs: []gwapiv1.HTTPBackendRef{{BackendRef: gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{
						Group: ptr(gwapiv1.Group(translate.InferenceGroup)), Kind: ptr(gwapiv1.Kind(translate.InferencePoolKind)),
						Name: gwapiv1.ObjectName(pool)}}}},
				}},
			},
		},
	}
}

// endpoint is endpoint j of pool i (j = modelEndpoints: its endpoint picker), with an address
// unique in the run.
func endpoint(i, j int, ready *bool) discoveryv1.Endpoint {
	k := i*(ModelEndpoints+1) + j
	return discoveryv1.Endpoint{
		Addresses:  []string{fmt.Sprintf("10.%d.%d.%d", 128+k>>16, k>>8&255, k&255)},
		Conditions: discoveryv1.EndpointConditions{Ready: ready, Serving: ready},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: Namespace, Name: fmt.Sprintf("%s-%d", PoolName(i), j)},
	}
}

// CreatePools creates the inputs of pools [from, to) with setupWriters parallel writers and
// returns, per pool (indexed from 0 = pool from), when its last input was written, and the
// objects as created.
func CreatePools(ctx context.Context, c client.Client, from, to int) ([]time.Time, []client.Object, error) {
	written := make([]time.Time, to-from)
	created := make([][]client.Object, to-from)
	next := make(chan int)
	errs := make(chan error, setupWriters)
	var wg sync.WaitGroup
	for range setupWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				objs := PoolInputs(i)
				for _, obj := range objs {
					if err := c.Create(ctx, obj); err != nil {
						errs <- fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
						return
					}
				}
				written[i-from], created[i-from] = time.Now(), objs
			}
		}()
	}
	go func() {
		defer close(next)
		for i := from; i < to; i++ {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			case err := <-errs:
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	select {
	case err := <-errs:
		return nil, nil, err
	default:
	}
	return written, slices.Concat(created...), ctx.Err()
}

// CreateInputs creates the shared inputs and pools [0, n).
func CreateInputs(ctx context.Context, c client.Client, n int) error {
	for _, obj := range SharedInputs() {
		status := obj.DeepCopyObject().(client.Object)
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
		if class, ok := status.(*gwapiv1.GatewayClass); ok && len(class.Status.Conditions) > 0 {
			created := obj.(*gwapiv1.GatewayClass)
			created.Status = class.Status
			created.Status.Conditions[0].ObservedGeneration = created.Generation
			if err := c.Status().Update(ctx, created); err != nil {
				return fmt.Errorf("accepting GatewayClass %s: %w", created.Name, err)
			}
		}
	}
	_, _, err := CreatePools(ctx, c, 0, n)
	return err
}

// EditTargetPort sets the target port of pool name to port; it returns when it sent the change
// and the pool as changed.
func EditTargetPort(ctx context.Context, c client.Client, name string, port int32) (time.Time, *giev1.InferencePool, error) {
	pool := &giev1.InferencePool{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: name}, pool); err != nil {
		return time.Time{}, nil, err
	}
	patch := client.MergeFrom(pool.DeepCopy())
	pool.Spec.TargetPorts = []giev1.Port{{Number: giev1.PortNumber(port)}}
	sent := time.Now()
	return sent, pool, c.Patch(ctx, pool, patch)
}

func ptr[T any](v T) *T { return &v }
