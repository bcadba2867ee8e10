// Package prerequisites_test runs the operator on an API server that lacks the CRDs it needs,
// installs them one set after the other, and checks that the operator keeps running, says what
// is missing on its GatewayClass, its Gateways and its readiness check, and serves without a
// restart as soon as each set appears.
package prerequisites_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/kit"
)

const (
	wait     = 30 * time.Second
	interval = 200 * time.Millisecond
	// cacheSyncTimeout is short, so that a controller waiting for a missing kind would stop the
	// manager well within the test.
	cacheSyncTimeout = 10 * time.Second
)

// crdSets splits every CRD the operator may use into the sets installed one after the other.
type crdSets struct {
	base, gie, eg, backendTLS []*apiextensionsv1.CustomResourceDefinition
	// tcpRoute is held back from base: a route kind served by copy, whose CRD comes late.
	tcpRoute []*apiextensionsv1.CustomResourceDefinition
}

func readCRDs(t *testing.T) crdSets {
	t.Helper()
	paths, err := testenv.CRDPaths()
	if err != nil {
		t.Fatal(err)
	}
	opts := &envtest.CRDInstallOptions{Paths: paths, ErrorIfPathMissing: true}
	if err := envtest.ReadCRDFiles(opts); err != nil {
		t.Fatal(err)
	}
	var s crdSets
	for _, crd := range opts.CRDs {
		switch {
		case crd.Spec.Group == gwapiv1.GroupName && crd.Spec.Names.Kind == "BackendTLSPolicy":
			s.backendTLS = append(s.backendTLS, crd)
		case crd.Spec.Group == gwapiv1.GroupName && crd.Spec.Names.Kind == "TCPRoute":
			s.tcpRoute = append(s.tcpRoute, crd)
		case crd.Spec.Group == gwapiv1.GroupName || crd.Spec.Group == v1alpha1.GroupVersion.Group:
			s.base = append(s.base, crd)
		case crd.Spec.Group == giev1.GroupVersion.Group:
			s.gie = append(s.gie, crd)
		case crd.Spec.Group == egv1a1.GroupName:
			s.eg = append(s.eg, crd)
		}
	}
	if len(s.base) == 0 || len(s.gie) == 0 || len(s.eg) == 0 || len(s.backendTLS) != 1 || len(s.tcpRoute) != 1 {
		t.Fatalf("CRD sets: %d base, %d GIE, %d Envoy Gateway, %d BackendTLSPolicy, %d TCPRoute", len(s.base), len(s.gie), len(s.eg), len(s.backendTLS), len(s.tcpRoute))
	}
	return s
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	kit.Eventually(t, kit.Options{Timeout: wait, Interval: interval, What: what}, func(context.Context) error { return check() })
}

func TestOperatorWaitsForItsPrerequisites(t *testing.T) {
	sets := readCRDs(t)
	assets, err := testenv.AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	// Gateway API (without BackendTLSPolicy and TCPRoute) and the operator's own CRD only.
	env := &envtest.Environment{BinaryAssetsDirectory: assets, CRDs: sets.base}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	install := func(crds []*apiextensionsv1.CustomResourceDefinition) {
		t.Helper()
		var copies []*apiextensionsv1.CustomResourceDefinition
		for _, c := range crds {
			copies = append(copies, c.DeepCopy())
		}
		if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{CRDs: copies}); err != nil {
			t.Fatal(err)
		}
	}

	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	if os.Getenv("VERBOSE") != "" {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	}
	probePort := freePort(t)
	mgr, err := ctrl.NewManager(cfg, controllers.ManagerOptions(ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: fmt.Sprintf("127.0.0.1:%d", probePort),
		Controller:             config.Controller{CacheSyncTimeout: cacheSyncTimeout},
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := controllers.Setup(ctx, mgr, controllers.Options{DefaultEnvoyGatewayClass: "eg", PrerequisiteCheckInterval: 300 * time.Millisecond}); err != nil {
		t.Fatalf("setting up with missing CRDs: %v", err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- mgr.Start(ctx) }()
	running := func() error {
		select {
		case err := <-stopped:
			t.Fatalf("the manager stopped: %v", err)
		default:
		}
		return nil
	}

	k8s, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "models"}}
	must(k8s.Create(bg, ns))
	must(k8s.Create(bg, &gwapiv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "inference"},
		Spec: gwapiv1.GatewayClassSpec{ControllerName: translate.ControllerName}}))
	must(k8s.Create(bg, &gwapiv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "models", Name: "gw"},
		Spec: gwapiv1.GatewaySpec{GatewayClassName: "inference", Listeners: []gwapiv1.Listener{{Name: "http", Protocol: gwapiv1.HTTPProtocolType, Port: 80}}}}))

	classIs := func(class string, status metav1.ConditionStatus, reason, message string) {
		t.Helper()
		eventually(t, fmt.Sprintf("GatewayClass %s Accepted=%s/%s", class, status, reason), func() error {
			running()
			c := &gwapiv1.GatewayClass{}
			if err := k8s.Get(bg, client.ObjectKey{Name: class}, c); err != nil {
				return err
			}
			cond := meta.FindStatusCondition(c.Status.Conditions, "Accepted")
			if cond == nil || cond.Status != status || cond.Reason != reason || !strings.Contains(cond.Message, message) {
				return fmt.Errorf("Accepted %+v", cond)
			}
			return nil
		})
	}
	readyz := func() (int, string) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz?verbose", probePort))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	readyzSays := func(code int, parts ...string) {
		t.Helper()
		eventually(t, fmt.Sprintf("readyz %d saying %q", code, parts), func() error {
			got, body := readyz()
			if got != code {
				return fmt.Errorf("readyz %d: %s", got, body)
			}
			for _, p := range parts {
				if !strings.Contains(body, p) {
					return fmt.Errorf("readyz %d does not say %q: %s", got, p, body)
				}
			}
			return nil
		})
	}

	t.Run("no Envoy Gateway, no GIE", func(t *testing.T) {
		classIs("inference", metav1.ConditionFalse, string(translate.MissingEnvoyGateway), "helm install eg")
		eventually(t, "the Gateway Pending, saying why", func() error {
			g := &gwapiv1.Gateway{}
			if err := k8s.Get(bg, client.ObjectKey{Namespace: "models", Name: "gw"}, g); err != nil {
				return err
			}
			c := meta.FindStatusCondition(g.Status.Conditions, "Accepted")
			if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "Envoy Gateway's CRDs") {
				return fmt.Errorf("Accepted %+v", c)
			}
			return nil
		})
		readyzSays(http.StatusInternalServerError, "[-]envoy-gateway-crds failed", "[-]inferencepool-crd failed", "[+]gateway-api-crds ok")
		// Longer than a cache sync timeout: no controller waits for a kind that is not served.
		time.Sleep(cacheSyncTimeout + 2*time.Second)
		running()
	})

	t.Run("GIE installed", func(t *testing.T) {
		install(sets.gie)
		readyzSays(http.StatusInternalServerError, "[-]envoy-gateway-crds failed", "[+]inferencepool-crd ok")
		classIs("inference", metav1.ConditionFalse, string(translate.MissingEnvoyGateway), "helm install eg")
	})

	t.Run("Envoy Gateway installed, its class missing", func(t *testing.T) {
		install(sets.eg)
		classIs("inference", metav1.ConditionFalse, translate.ReasonEnvoyGatewayClassNotFound, `"eg"`)
		readyzSays(http.StatusOK)
		// Never served, and its class not accepted: the Gateway is Pending with the class's reason,
		// and nothing is generated (Envoy Gateway would not program a Gateway of a missing class).
		eventually(t, "the Gateway Pending on the missing Envoy Gateway class", func() error {
			g := &gwapiv1.Gateway{}
			if err := k8s.Get(bg, client.ObjectKey{Namespace: "models", Name: "gw"}, g); err != nil {
				return err
			}
			c := meta.FindStatusCondition(g.Status.Conditions, "Accepted")
			if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, translate.ReasonEnvoyGatewayClassNotFound) {
				return fmt.Errorf("Accepted %+v", c)
			}
			return nil
		})
		if err := k8s.Get(bg, client.ObjectKey{Namespace: "models", Name: translate.GeneratedGatewayName("gw")}, &gwapiv1.Gateway{}); !apierrors.IsNotFound(err) {
			t.Errorf("generated Gateway before its Envoy Gateway class exists: %v, want not found", err)
		}
	})

	t.Run("Envoy Gateway class created, then accepted", func(t *testing.T) {
		eg := &gwapiv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "eg"}, Spec: gwapiv1.GatewayClassSpec{ControllerName: "gateway.envoyproxy.io/gatewayclass-controller"}}
		must(k8s.Create(bg, eg))
		classIs("inference", metav1.ConditionFalse, translate.ReasonEnvoyGatewayClassNotAccepted, "is Envoy Gateway running")
		eg.Status.Conditions = []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", Message: "as Envoy Gateway would", ObservedGeneration: eg.Generation, LastTransitionTime: metav1.Now()}}
		must(k8s.Status().Update(bg, eg))
		classIs("inference", metav1.ConditionTrue, "Accepted", "")
		// The Gateway is served now: its Envoy Gateway Gateway and ClientTrafficPolicy exist.
		eventually(t, "the generated Gateway and ClientTrafficPolicy", func() error {
			if err := k8s.Get(bg, client.ObjectKey{Namespace: "models", Name: translate.GeneratedGatewayName("gw")}, &gwapiv1.Gateway{}); err != nil {
				return err
			}
			return k8s.Get(bg, client.ObjectKey{Namespace: "models", Name: translate.ClientTrafficPolicyName("gw")}, &egv1a1.ClientTrafficPolicy{})
		})
	})

	t.Run("pools served by controllers started late", func(t *testing.T) {
		must(k8s.Create(bg, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "models", Name: "pool-epp"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "epp"}, Ports: []corev1.ServicePort{{Name: "grpc", Port: 9002}}}}))
		must(k8s.Create(bg, &giev1.InferencePool{ObjectMeta: metav1.ObjectMeta{Namespace: "models", Name: "pool"}, Spec: giev1.InferencePoolSpec{
			Selector:          giev1.LabelSelector{MatchLabels: map[giev1.LabelKey]giev1.LabelValue{"app": "vllm"}},
			TargetPorts:       []giev1.Port{{Number: 8000}},
			EndpointPickerRef: &giev1.EndpointPickerRef{Name: "pool-epp", Port: &giev1.Port{Number: 9002}},
		}}))
		must(k8s.Create(bg, &gwapiv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "models", Name: "llm"}, Spec: gwapiv1.HTTPRouteSpec{
			CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: "gw"}}},
			Rules: []gwapiv1.HTTPRouteRule{{BackendRefs: []gwapiv1.HTTPBackendRef{{BackendRef: gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{
				Group: ptr.To(gwapiv1.Group(translate.InferenceGroup)), Kind: ptr.To(gwapiv1.Kind(translate.InferencePoolKind)), Name: "pool",
			}}}}}},
		}}))
		eventually(t, "the shadow Service and the generated route", func() error {
			if err := k8s.Get(bg, client.ObjectKey{Namespace: "models", Name: translate.ShadowServiceName("pool")}, &corev1.Service{}); err != nil {
				return err
			}
			return k8s.Get(bg, client.ObjectKey{Namespace: "models", Name: translate.GeneratedRouteName("llm")}, &gwapiv1.HTTPRoute{})
		})
	})

	t.Run("TCPRoutes served once their CRD is installed", func(t *testing.T) {
		// Until now the TCPRoute CRD was missing: the operator ran (running checks it), its
		// TCPRoute controller waiting. Installed, the kind is served without a restart.
		install(sets.tcpRoute)
		eventually(t, "a TCPRoute created", func() error {
			return k8s.Create(bg, &gwapiv1.TCPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "models", Name: "db"}, Spec: gwapiv1.TCPRouteSpec{
				CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: "gw"}}},
				Rules:           []gwapiv1.TCPRouteRule{{BackendRefs: []gwapiv1.BackendRef{{BackendObjectReference: gwapiv1.BackendObjectReference{Name: "postgres", Port: ptr.To(gwapiv1.PortNumber(5432))}}}}},
			}})
		})
		eventually(t, "the TCPRoute's copy", func() error {
			running()
			return k8s.Get(bg, client.ObjectKey{Namespace: "models", Name: translate.GeneratedRouteName("db")}, &gwapiv1.TCPRoute{})
		})
	})

	t.Run("TLS mode Verify waits for BackendTLSPolicy", func(t *testing.T) {
		must(k8s.Create(bg, &v1alpha1.InferenceGatewayParameters{ObjectMeta: metav1.ObjectMeta{Name: "verify"}, Spec: v1alpha1.InferenceGatewayParametersSpec{
			EndpointPicker: &v1alpha1.EndpointPickerSettings{TLS: &v1alpha1.EndpointPickerTLS{
				Mode: v1alpha1.TLSModeVerify, Hostname: ptr.To(gwapiv1.PreciseHostname("epp.internal")),
				CACertificateRefs: []gwapiv1.LocalObjectReference{{Group: "", Kind: "ConfigMap", Name: "epp-ca"}},
			}},
		}}))
		must(k8s.Create(bg, &gwapiv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "inference-verify"}, Spec: gwapiv1.GatewayClassSpec{
			ControllerName: translate.ControllerName,
			ParametersRef:  &gwapiv1.ParametersReference{Group: gwapiv1.Group(v1alpha1.GroupVersion.Group), Kind: v1alpha1.Kind, Name: "verify"},
		}}))
		classIs("inference-verify", metav1.ConditionFalse, string(translate.MissingBackendTLSPolicy), "BackendTLSPolicy")
		install(sets.backendTLS)
		classIs("inference-verify", metav1.ConditionTrue, "Accepted", "")
		// The pool served on a Verify Gateway gets its BackendTLSPolicy now.
		must(k8s.Create(bg, &gwapiv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "models", Name: "gw-verify"},
			Spec: gwapiv1.GatewaySpec{GatewayClassName: "inference-verify", Listeners: []gwapiv1.Listener{{Name: "http", Protocol: gwapiv1.HTTPProtocolType, Port: 80}}}}))
		route := &gwapiv1.HTTPRoute{}
		must(k8s.Get(bg, client.ObjectKey{Namespace: "models", Name: "llm"}, route))
		route.Spec.ParentRefs = []gwapiv1.ParentReference{{Name: "gw-verify"}}
		must(k8s.Update(bg, route))
		eventually(t, "the BackendTLSPolicy", func() error {
			return k8s.Get(bg, client.ObjectKey{Namespace: "models", Name: translate.EPPTLSPolicyName("pool")}, &gwapiv1.BackendTLSPolicy{})
		})
	})
	running()
}
