//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// The building blocks of the operator scenarios: what a user applies (a GatewayClass of ours
// with parameters, a Gateway, model servers, endpoint pickers, InferencePools, HTTPRoutes).
// Model servers and EPPs are Deployments of fake pods that kwok makes Ready with pod IPs.

// inferenceClassYAML is a GatewayClass of the operator with its InferenceGatewayParameters
// (cluster-scoped, so each test names its own). Params is the parameters' spec as flow YAML.
const inferenceClassYAML = `
apiVersion: inferencepool-operator.io/v1alpha1
kind: InferenceGatewayParameters
metadata:
  name: {{.Class}}
spec: {{.Params}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: {{.Class}}
spec:
  controllerName: inferencepool-operator.io/gateway-controller
  parametersRef:
    group: inferencepool-operator.io
    kind: InferenceGatewayParameters
    name: {{.Class}}
`

// gatewayYAML is a Gateway Name of class Class (the operator's or Envoy Gateway's) with one HTTP
// listener on port 80 that admits routes of every namespace.
const gatewayYAML = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {{.Name}}
  namespace: {{.Namespace}}
spec:
  gatewayClassName: {{.Class}}
  listeners:
  - name: http
    protocol: HTTP
    port: 80
    allowedRoutes:
      namespaces: {from: All}
`

// modelServersYAML is a Deployment of Replicas fake model servers labelled app=Name, serving
// on port 8000.
const modelServersYAML = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{.Name}}
  namespace: {{.Namespace}}
spec:
  replicas: {{.Replicas}}
  selector:
    matchLabels: {app: {{.Name}}}
  template:
    metadata:
      labels: {app: {{.Name}}}
    spec:
      containers:
      - name: server
        image: example.invalid/model-server:fake
        ports:
        - containerPort: 8000
`

// endpointPickerYAML is an EPP: a Deployment of Replicas fake pods and its Service on 9002.
const endpointPickerYAML = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{.Name}}
  namespace: {{.Namespace}}
spec:
  replicas: {{.Replicas}}
  selector:
    matchLabels: {app: {{.Name}}}
  template:
    metadata:
      labels: {app: {{.Name}}}
    spec:
      containers:
      - name: epp
        image: example.invalid/epp:fake
        ports:
        - containerPort: 9002
---
apiVersion: v1
kind: Service
metadata:
  name: {{.Name}}
  namespace: {{.Namespace}}
spec:
  selector: {app: {{.Name}}}
  ports:
  - name: grpc-ext-proc
    port: 9002
    targetPort: 9002
    appProtocol: http2
`

// inferencePoolYAML is a pool over the pods labelled app=Selector on Ports whose EPP is the
// Service EPP on EPPPort with failure mode FailureMode.
const inferencePoolYAML = `
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata:
  name: {{.Name}}
  namespace: {{.Namespace}}
spec:
  selector:
    matchLabels: {app: {{.Selector}}}
  targetPorts:{{range .Ports}}
  - number: {{.}}{{end}}{{if .AppProtocol}}
  appProtocol: {{.AppProtocol}}{{end}}
  endpointPickerRef:
    name: {{.EPP}}
    port: {number: {{.EPPPort}}}
    failureMode: {{.FailureMode}}
`

// model is a pool with its model servers and EPP, all named after the pool.
type model struct {
	Namespace   string
	Name        string // the pool; model servers are Name, the EPP Name-epp
	Replicas    int    // model servers
	FailureMode string // FailClose unless set
	NoEPP       bool   // leave the EPP (Deployment and Service) out
	Ports       []int  // the pool's target ports, [8000] unless set
	Selector    string // the pool's selector's app label, Name unless set
	EPPPort     int    // the pool's endpointPickerRef port, 9002 unless set
	AppProtocol string // the pool's appProtocol, unset unless set
}

// apply applies the model servers, the EPP (one replica) and the pool.
func (m model) apply(t *testing.T) {
	t.Helper()
	if m.Replicas == 0 {
		m.Replicas = 3
	}
	if m.FailureMode == "" {
		m.FailureMode = "FailClose"
	}
	if m.Ports == nil {
		m.Ports = []int{8000}
	}
	if m.Selector == "" {
		m.Selector = m.Name
	}
	if m.EPPPort == 0 {
		m.EPPPort = 9002
	}
	applyTemplate(t, modelServersYAML, map[string]any{"Namespace": m.Namespace, "Name": m.Name, "Replicas": m.Replicas})
	if !m.NoEPP {
		applyTemplate(t, endpointPickerYAML, map[string]any{"Namespace": m.Namespace, "Name": m.eppName(), "Replicas": 1})
	}
	applyTemplate(t, inferencePoolYAML, map[string]any{
		"Namespace": m.Namespace, "Name": m.Name, "Selector": m.Selector, "EPP": m.eppName(), "FailureMode": m.FailureMode, "Ports": m.Ports, "EPPPort": m.EPPPort,
		"AppProtocol": m.AppProtocol,
	})
}

func (m model) eppName() string { return m.Name + "-epp" }

// httpRoute is the HTTPRoute Name ("llm" unless set) on Gateway "gw" (in GatewayNamespace when
// set, else the route's), one template for every route the scenarios apply.
type httpRoute struct {
	Namespace, Name, GatewayNamespace string
	Rules                             []routeRule
}

type routeRule struct {
	Name       string // "": unnamed (the operator names it rule-N)
	PathPrefix string // "": no match (Gateway API's default, PathPrefix /)
	Timeouts   string // the rule's timeouts as flow YAML, "": none
	Backends   []routeBackend
}

// routeBackend is an InferencePool, or with Service a Service on 8000.
type routeBackend struct {
	Name, Namespace string // Namespace written only when set (else the route's)
	Service         bool
	Weight          int // written only when set
}

const httpRouteYAML = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {{.Name}}
  namespace: {{.Namespace}}
spec:
  parentRefs:
  - name: gw
    {{with .GatewayNamespace}}namespace: {{.}}{{end}}
  rules:{{range .Rules}}
  - {{with .Name}}name: {{.}}
    {{end}}{{with .PathPrefix}}matches: [{path: {type: PathPrefix, value: {{.}}}}]
    {{end}}{{with .Timeouts}}timeouts: {{.}}
    {{end}}backendRefs:{{range .Backends}}
    - {{if .Service}}{name: {{.Name}}, port: 8000{{else}}{group: inference.networking.k8s.io, kind: InferencePool, name: {{.Name}}{{end}}{{with .Namespace}}, namespace: {{.}}{{end}}{{with .Weight}}, weight: {{.}}{{end}}}{{end}}{{end}}
`

func (r httpRoute) apply(t *testing.T) {
	t.Helper()
	if r.Name == "" {
		r.Name = "llm"
	}
	applyTemplate(t, httpRouteYAML, r)
}

// poolRoute is the route "llm" on Gateway "gw" with one rule to one pool.
type poolRoute struct {
	Namespace string
	// GatewayNamespace and PoolNamespace are written only when set (else the route's own).
	GatewayNamespace, PoolNamespace string
	// Pool is the pool's name, "pool" when empty.
	Pool string
	// RuleName names the rule ("": unnamed, the operator names it rule-0); Timeouts are its
	// timeouts as flow YAML ("": none).
	RuleName, Timeouts string
}

func (r poolRoute) apply(t *testing.T) {
	t.Helper()
	if r.Pool == "" {
		r.Pool = "pool"
	}
	httpRoute{Namespace: r.Namespace, GatewayNamespace: r.GatewayNamespace, Rules: []routeRule{{
		Name: r.RuleName, Timeouts: r.Timeouts,
		Backends: []routeBackend{{Name: r.Pool, Namespace: r.PoolNamespace}},
	}}}.apply(t)
}

// newInferenceClass creates a GatewayClass of the operator with its parameters (params: the
// parameters' spec as flow YAML, "{}" for the defaults), named after the test's namespace,
// waits until the operator accepts it, and deletes both at the end of the test.
func newInferenceClass(t *testing.T, c client.Client, ns, params string) string {
	t.Helper()
	class := ns
	applyTemplate(t, inferenceClassYAML, map[string]any{"Class": class, "Params": params})
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		for _, o := range []client.Object{
			&gwapiv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: class}},
			newUnstructured("inferencepool-operator.io/v1alpha1", "InferenceGatewayParameters", "", class),
		} {
			_ = c.Delete(context.Background(), o)
		}
	})
	eventually(t, "GatewayClass "+class+" Accepted by the operator", func(ctx context.Context) error {
		gc := &gwapiv1.GatewayClass{}
		if err := c.Get(ctx, client.ObjectKey{Name: class}, gc); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(gc.Status.Conditions, string(gwapiv1.GatewayClassConditionStatusAccepted)) {
			return fmt.Errorf("conditions %s", describe(gc.Status.Conditions))
		}
		return nil
	})
	return class
}

// newOperatorClient is a client that knows every kind the operator reads or writes.
func newOperatorClient(t *testing.T) client.Client {
	t.Helper()
	c, err := client.New(env.cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newUnstructured(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

// generatedKind is a kind the operator generates, as apiVersion and kind.
type generatedKind struct{ APIVersion, Kind string }

var (
	kindGateway          = generatedKind{"gateway.networking.k8s.io/v1", "Gateway"}
	kindHTTPRoute        = generatedKind{"gateway.networking.k8s.io/v1", "HTTPRoute"}
	kindService          = generatedKind{"v1", "Service"}
	kindBackendTraffic   = generatedKind{"gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy"}
	kindEnvoyExtension   = generatedKind{"gateway.envoyproxy.io/v1alpha1", "EnvoyExtensionPolicy"}
	kindClientTraffic    = generatedKind{"gateway.envoyproxy.io/v1alpha1", "ClientTrafficPolicy"}
	kindBackend          = generatedKind{"gateway.envoyproxy.io/v1alpha1", "Backend"}
	kindBackendTLSPolicy = generatedKind{"gateway.networking.k8s.io/v1", "BackendTLSPolicy"}
	kindReferenceGrant   = generatedKind{"gateway.networking.k8s.io/v1beta1", "ReferenceGrant"}
	policyKindsOfAPool   = []generatedKind{kindBackendTraffic, kindEnvoyExtension}
	allGeneratedKinds    = []generatedKind{kindGateway, kindHTTPRoute, kindService, kindBackendTraffic, kindEnvoyExtension,
		kindClientTraffic, kindBackend, kindBackendTLSPolicy, kindReferenceGrant}
)

// listGenerated lists the objects of kind in ns that the operator generated from the source
// named sourceName (any source when empty), sorted by name.
func listGenerated(ctx context.Context, c client.Client, k generatedKind, ns, sourceName string) ([]unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion(k.APIVersion)
	list.SetKind(k.Kind + "List")
	sel := client.MatchingLabels{translate.LabelManagedBy: translate.ManagedByValue}
	if sourceName != "" {
		sel[translate.LabelSourceName] = sourceName
	}
	if err := c.List(ctx, list, client.InNamespace(ns), sel); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// waitGenerated waits until ns holds exactly n objects of kind generated from sourceName and
// returns them.
func waitGenerated(t *testing.T, c client.Client, k generatedKind, ns, sourceName string, n int) []unstructured.Unstructured {
	t.Helper()
	var items []unstructured.Unstructured
	eventually(t, fmt.Sprintf("%d generated %s in %s from %q", n, k.Kind, ns, sourceName), func(ctx context.Context) error {
		var err error
		if items, err = listGenerated(ctx, c, k, ns, sourceName); err != nil {
			return err
		}
		if len(items) != n {
			return fmt.Errorf("have %d: %v", len(items), names(items))
		}
		return nil
	})
	return items
}

func names(items []unstructured.Unstructured) []string {
	out := make([]string, len(items))
	for i, u := range items {
		out[i] = u.GetName()
	}
	return out
}

// dumpGenerated logs every generated object of ns with its status, so a failed scenario shows
// what Envoy Gateway said about each.
func dumpGenerated(t *testing.T, c client.Client, namespaces ...string) {
	t.Helper()
	for _, ns := range namespaces {
		for _, k := range allGeneratedKinds {
			items, err := listGenerated(context.Background(), c, k, ns, "")
			if err != nil {
				t.Logf("listing %s in %s: %v", k.Kind, ns, err)
				continue
			}
			for _, u := range items {
				status, _, _ := unstructured.NestedFieldNoCopy(u.Object, "status")
				t.Logf("generated %s %s/%s status: %v", k.Kind, ns, u.GetName(), status)
			}
		}
	}
}

// failureReport registers dumpGenerated for the namespaces when the test fails.
func failureReport(t *testing.T, c client.Client, namespaces ...string) {
	t.Cleanup(func() {
		if t.Failed() {
			dumpGenerated(t, c, namespaces...)
		}
	})
}
