package helm

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"helm.sh/helm/v4/pkg/action"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/kit"
)

// What `helm uninstall` leaves serving, and how a reinstall adopts it (docs/operations.md, "Safe
// changes"): the operator, run in-process as the release's Deployment would run it, serves a
// Gateway of the release's class; the chart is uninstalled (the operator with it); the class and
// its parameters stay (resource-policy keep) and so does everything generated (owned by the
// user's objects, not by the operator); `helm install` again adopts the class and parameters, and
// the new operator recreates nothing and deletes nothing.

const (
	// appsNamespace holds the user's Gateway, route and pool.
	appsNamespace = "apps"
	// releaseClass is the class the release makes (helmInstall sets gatewayClass.name).
	releaseClass = "ipo-inference"
)

// generatedGVKs are the kinds the operator generates for a Gateway, a route and a pool.
var generatedGVKs = []schema.GroupVersionKind{
	gwapiv1.SchemeGroupVersion.WithKind("Gateway"), gwapiv1.SchemeGroupVersion.WithKind("HTTPRoute"),
	corev1.SchemeGroupVersion.WithKind("Service"),
	{Group: "gateway.envoyproxy.io", Version: "v1alpha1", Kind: "ClientTrafficPolicy"},
	{Group: "gateway.envoyproxy.io", Version: "v1alpha1", Kind: "BackendTrafficPolicy"},
	{Group: "gateway.envoyproxy.io", Version: "v1alpha1", Kind: "EnvoyExtensionPolicy"},
	{Group: "gateway.envoyproxy.io", Version: "v1alpha1", Kind: "Backend"},
}

// inProcessOperator is the operator's manager run by the test, its DELETE requests counted.
type inProcessOperator struct {
	cancel  context.CancelFunc
	done    chan error
	deletes atomic.Int32
}

func startInProcessOperator(t *testing.T, cfg *rest.Config) *inProcessOperator {
	t.Helper()
	ctrl.SetLogger(logr.Discard())
	op := &inProcessOperator{done: make(chan error, 1)}
	mgr, err := ctrl.NewManager(cfg, controllers.ManagerOptions(ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// The test runs the operator twice in one process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		NewClient: func(cfg *rest.Config, opts client.Options) (client.Client, error) {
			inner, err := client.NewWithWatch(cfg, opts)
			if err != nil {
				return nil, err
			}
			return interceptor.NewClient(inner, interceptor.Funcs{
				Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
					op.deletes.Add(1)
					t.Logf("the operator deletes %T %s/%s", obj, obj.GetNamespace(), obj.GetName())
					return c.Delete(ctx, obj, opts...)
				},
			}), nil
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	op.cancel = cancel
	if err := controllers.Setup(ctx, mgr, controllers.Options{DefaultEnvoyGatewayClass: "eg"}); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { op.done <- mgr.Start(ctx) }()
	return op
}

func (op *inProcessOperator) stop(t *testing.T) {
	t.Helper()
	op.cancel()
	if err := <-op.done; err != nil {
		t.Errorf("operator: %v", err)
	}
}

// served is what the operator generated for the apps namespace: UIDs by "Kind/name".
type served map[string]types.UID

func listGenerated(ctx context.Context, t *testing.T, c client.Client) served {
	t.Helper()
	out := served{}
	for _, gvk := range generatedGVKs {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list, client.InNamespace(appsNamespace), client.MatchingLabels{translate.LabelManagedBy: translate.ManagedByValue}); err != nil {
			t.Fatalf("listing %s: %v", gvk.Kind, err)
		}
		for _, item := range list.Items {
			out[gvk.Kind+"/"+item.GetName()] = item.GetUID()
		}
	}
	return out
}

func waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	kit.Eventually(t, kit.Options{Timeout: time.Minute, Interval: 200 * time.Millisecond, What: what}, func(context.Context) error { return check() })
}

// classAccepted waits until the release's class is Accepted (status) at its generation.
func classAccepted(ctx context.Context, t *testing.T, c client.Client, status metav1.ConditionStatus) {
	t.Helper()
	waitFor(t, "the release's GatewayClass judged", func() error {
		class := &gwapiv1.GatewayClass{}
		if err := c.Get(ctx, client.ObjectKey{Name: releaseClass}, class); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(class.Status.Conditions, "Accepted")
		if cond == nil || cond.Status != status || cond.ObservedGeneration != class.Generation {
			return fmt.Errorf("Accepted %+v, want %s", cond, status)
		}
		return nil
	})
}

// operatorServes creates, in the apps namespace, a Gateway of the release's class with a route to
// a pool, and Envoy Gateway's accepted class "eg" (no Envoy Gateway runs here), runs the operator
// until it has generated everything for them, stops it, and returns what it generated.
func operatorServes(ctx context.Context, t *testing.T, cfg *rest.Config) served {
	c, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	must(t, testenv.CreateAcceptedEnvoyGatewayClass(ctx, c, "eg"))
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: appsNamespace}}))
	must(t, c.Create(ctx, &gwapiv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: appsNamespace, Name: "gw"}, Spec: gwapiv1.GatewaySpec{
		GatewayClassName: releaseClass, Listeners: []gwapiv1.Listener{{Name: "http", Protocol: gwapiv1.HTTPProtocolType, Port: 80}}}}))
	must(t, c.Create(ctx, &gwapiv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: appsNamespace, Name: "route"}, Spec: gwapiv1.HTTPRouteSpec{
		CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: "gw"}}},
		Rules: []gwapiv1.HTTPRouteRule{{BackendRefs: []gwapiv1.HTTPBackendRef{{BackendRef: gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{
			Group: ptr.To(gwapiv1.Group(translate.InferenceGroup)), Kind: ptr.To(gwapiv1.Kind(translate.InferencePoolKind)), Name: "llm"}}}}}},
	}}))
	must(t, c.Create(ctx, &giev1.InferencePool{ObjectMeta: metav1.ObjectMeta{Namespace: appsNamespace, Name: "llm"}, Spec: giev1.InferencePoolSpec{
		Selector:          giev1.LabelSelector{MatchLabels: map[giev1.LabelKey]giev1.LabelValue{"app": "vllm"}},
		TargetPorts:       []giev1.Port{{Number: 8000}},
		EndpointPickerRef: &giev1.EndpointPickerRef{Name: "llm-epp", Port: &giev1.Port{Number: 9002}},
	}}))
	must(t, c.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: appsNamespace, Name: "llm-epp"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "llm-epp"}, Ports: []corev1.ServicePort{{Name: "grpc", Port: 9002}}}}))

	op := startInProcessOperator(t, cfg)
	defer op.stop(t)
	classAccepted(ctx, t, c, metav1.ConditionTrue)
	var got served
	waitFor(t, "everything generated", func() error {
		got = listGenerated(ctx, t, c)
		if len(got) != len(generatedGVKs) {
			return fmt.Errorf("generated %v, want one of each of %d kinds", got, len(generatedGVKs))
		}
		return nil
	})
	return got
}

// reinstallAdopts checks that the uninstall left what is served, installs the chart again, runs
// the operator, and checks that nothing was recreated or deleted.
func reinstallAdopts(ctx context.Context, t *testing.T, cfg *rest.Config, helm *action.Configuration, before served) {
	c, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	if after := listGenerated(ctx, t, c); !sameServed(before, after) {
		t.Fatalf("after helm uninstall the generated objects are %v, were %v", after, before)
	}
	class := &gwapiv1.GatewayClass{}
	must(t, c.Get(ctx, client.ObjectKey{Name: releaseClass}, class))
	classUID := class.UID

	if _, err := newInstall(helm).RunWithContext(ctx, loadChart(t), installValues(t)); err != nil {
		t.Fatalf("helm install after helm uninstall, with the kept GatewayClass and parameters: %v", err)
	}
	must(t, c.Get(ctx, client.ObjectKey{Name: releaseClass}, class))
	if class.UID != classUID {
		t.Errorf("the reinstall replaced the GatewayClass (UID %s, was %s)", class.UID, classUID)
	}

	op := startInProcessOperator(t, cfg)
	classAccepted(ctx, t, c, metav1.ConditionTrue)
	waitFor(t, "the reinstalled operator's finalizer on its class", func() error {
		must(t, c.Get(ctx, client.ObjectKey{Name: releaseClass}, class))
		if len(class.Finalizers) == 0 {
			return fmt.Errorf("no finalizer on the class in use")
		}
		return nil
	})
	time.Sleep(3 * time.Second) // the reconciles of the new operator's start run their course
	op.stop(t)
	if n := op.deletes.Load(); n != 0 {
		t.Errorf("the reinstalled operator sent %d DELETE requests", n)
	}
	if after := listGenerated(ctx, t, c); !sameServed(before, after) {
		t.Errorf("after the reinstall the generated objects are %v, were %v", after, before)
	}
}

func sameServed(a, b served) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
