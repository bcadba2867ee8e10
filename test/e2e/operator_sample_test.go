//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// The names config/samples uses.
const (
	sampleGateway = "inference-gateway"
	sampleRoute   = "llm-route"
	samplePool    = "vllm-llama3-8b-instruct"
	sampleEPP     = "vllm-llama3-8b-instruct-epp"
)

// readSamples reads config/samples, moving the namespaced objects into ns.
func readSamples(t *testing.T, ns string) map[string]*unstructured.Unstructured {
	t.Helper()
	dir := filepath.Join(envtest.RepoRoot(), "config", "samples")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "kustomization.yaml" })
	objs, err := cluster.ReadObjects(files...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		if o.GetNamespace() != "" {
			o.SetNamespace(ns)
		}
		out[o.GetKind()+"/"+o.GetName()] = o
	}
	return out
}

// TestSampleSetup applies config/samples (the class "inference" with default parameters, a
// Gateway, an InferencePool with its EPP Service, a route to the pool) next to fake vLLM
// servers and a fake EPP, and checks the whole chain: Envoy Gateway accepts and programs every
// generated object, the operator mirrors the verdicts onto the user's objects at their own
// generations, and Envoy is told to route by the EPP's header over the pool's pods, calling the
// EPP through ext_proc with the settings the EPP protocol needs, after stripping the header
// from client requests.
func TestSampleSetup(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	ctx := context.Background()
	samples := readSamples(t, ns)

	// The fake model servers and EPP the sample expects (the EPP Service is in the sample).
	applyTemplate(t, modelServersYAML, map[string]any{"Namespace": ns, "Name": samplePool, "Replicas": 3})
	applyTemplate(t, endpointPickerYAML, map[string]any{"Namespace": ns, "Name": sampleEPP, "Replicas": 1})

	// The Gateway and route are first written so that they are not ours yet (a class nobody
	// serves, a parent that does not exist), then as in the sample: their generation is then 2
	// while the generated objects are at 1, so the mirrored observedGeneration is tested.
	gw := samples["Gateway/"+sampleGateway].DeepCopy()
	if err := unstructured.SetNestedField(gw.Object, "nobody-serves-this-class", "spec", "gatewayClassName"); err != nil {
		t.Fatal(err)
	}
	route := samples["HTTPRoute/"+sampleRoute].DeepCopy()
	if err := unstructured.SetNestedSlice(route.Object, []any{map[string]any{"name": "not-yet"}}, "spec", "parentRefs"); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Apply(ctx, env.cfg, gw, route); err != nil {
		t.Fatal(err)
	}
	var all []*unstructured.Unstructured
	for _, key := range []string{
		"InferenceGatewayParameters/default", "GatewayClass/inference", "Gateway/" + sampleGateway,
		"Service/" + sampleEPP, "InferencePool/" + samplePool, "HTTPRoute/" + sampleRoute,
	} {
		o, ok := samples[key]
		if !ok {
			t.Fatalf("config/samples has no %s", key)
		}
		all = append(all, o)
	}
	if err := cluster.Apply(ctx, env.cfg, all...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = c.Delete(ctx, samples["GatewayClass/inference"])
			_ = c.Delete(ctx, samples["InferenceGatewayParameters/default"])
		}
	})

	t.Run("statuses", func(t *testing.T) {
		waitGatewayProgrammed(t, c, ns, sampleGateway, 1)
		waitRouteAccepted(t, c, ns, sampleRoute, ns, sampleGateway)
		waitPoolStatus(t, c, ns, samplePool, ns, sampleGateway, "True", "ResolvedRefs")
		for _, o := range []client.Object{&gwapiv1.Gateway{}, &gwapiv1.HTTPRoute{}} {
			name := sampleGateway
			if _, ok := o.(*gwapiv1.HTTPRoute); ok {
				name = sampleRoute
			}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, o); err != nil {
				t.Fatal(err)
			}
			if o.GetGeneration() != 2 {
				t.Errorf("%T %s has generation %d; the test wants 2 to tell the user's generation from the generated object's", o, name, o.GetGeneration())
			}
		}
	})

	t.Run("generated objects accepted by Envoy Gateway", func(t *testing.T) {
		waitAccepted(t, c, waitGenerated(t, c, kindClientTraffic, ns, sampleGateway, 1))
		for _, k := range []generatedKind{kindBackendTraffic, kindEnvoyExtension, kindBackend} {
			waitAccepted(t, c, waitGenerated(t, c, k, ns, samplePool, 1))
		}
		waitGenerated(t, c, kindService, ns, samplePool, 1)
		waitGenerated(t, c, kindBackendTLSPolicy, ns, samplePool, 0)
	})

	t.Run("Envoy configuration", func(t *testing.T) {
		podIPs := readyPodIPs(t, c, ns, "app="+samplePool, 3)
		eep := waitGenerated(t, c, kindEnvoyExtension, ns, samplePool, 1)[0].GetName()
		rule := ruleCluster(ns, sampleRoute+"-eg", 0)
		var eppClusterName string
		snap := proxyConfig(t, ns, sampleGateway, func(s *xds.Snapshot) error {
			if err := poolClusterIs(s, rule, "envoy.load_balancing_policies.least_request", withPort(podIPs, 8000)); err != nil {
				return err
			}
			ep, err := extProcOnRule(s, ns, eep, rule)
			if err != nil {
				return err
			}
			if eppClusterName, err = extProcSettings(ep, 10*time.Second); err != nil {
				return err
			}
			return destinationHeaderStripped(s)
		})
		epp, err := describeEPPCluster(snap, eppClusterName)
		if err != nil {
			t.Fatal(err)
		}
		// InsecureSkipVerify: a Backend by the EPP's cluster FQDN, TLS without verification, gRPC.
		want := []string{fmt.Sprintf("%s.%s.svc.cluster.local:9002", sampleEPP, ns)}
		if !epp.TLS || epp.Verified || !epp.HTTP2 || !slices.Equal(epp.Endpoints, want) {
			t.Errorf("EPP cluster %s: %+v; want TLS without verification, HTTP/2, endpoint %v", eppClusterName, epp, want)
		}
		t.Logf("EPP cluster %s: %+v", eppClusterName, epp)
		// The sample's request timeout is carried to the generated route.
		for _, r := range snap.RoutesWithPrefix(rule + "/") {
			if got := r.GetRoute().GetTimeout().AsDuration(); got != 300*time.Second {
				t.Errorf("route %s timeout %v, want the sample's 300s", r.Name, got)
			}
		}
	})
}
