package bundle

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	olmcrds "github.com/operator-framework/api/crds"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// TestInstallManifestsAreAcceptedByAPIServer applies, with server-side dry-run, everything both
// install paths would create to the source-built kube-apiserver with our, GIE's, Gateway API's and
// Envoy Gateway's CRDs installed (and OLM's ClusterServiceVersion CRD, to check the CSV against
// OLM's own schema):
//   - every object `kustomize build config/default` renders, after creating its namespace for real;
//     namespaced objects must all be in inferencepool-operator-system;
//   - the ServiceMonitor and PrometheusRule config/prometheus adds to config/default when its line
//     there is uncommented (Prometheus Operator's CRDs installed for them);
//   - every sample in config/samples (the default InferenceGatewayParameters and GatewayClass, and
//     the demo's Gateway, HTTPRoute and InferencePool);
//   - every manifest of the committed bundle, in the operator's namespace as OLM would.
func TestInstallManifestsAreAcceptedByAPIServer(t *testing.T) {
	env, err := envtest.New()
	if err != nil {
		t.Fatal(err)
	}
	env.CRDs = append(env.CRDs, olmcrds.ClusterServiceVersion())
	monitoring, err := envtest.PrometheusOperatorCRDPaths()
	if err != nil {
		t.Fatal(err)
	}
	env.CRDDirectoryPaths = append(env.CRDDirectoryPaths, monitoring...)
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	namespaced := func(u *unstructured.Unstructured) bool {
		t.Helper()
		gvk := u.GroupVersionKind()
		m, err := c.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s %s: the API server does not serve this kind: %v", gvk, u.GetName(), err)
		}
		return m.Scope.Name() == meta.RESTScopeNameNamespace
	}
	dryRun := func(what string, u *unstructured.Unstructured) {
		t.Helper()
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()),
			client.FieldOwner("install-test"), client.ForceOwnership, client.DryRunAll)
		if err != nil {
			t.Errorf("%s: %s %s/%s rejected: %v", what, u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}

	// Path 1: kubectl apply -k config/default.
	objs := render(t, "config/default")
	var rest []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == "Namespace" {
			if u.GetName() != installNamespace {
				t.Errorf("config/default creates namespace %q, want %q", u.GetName(), installNamespace)
			}
			if err := c.Create(ctx, u.DeepCopy()); err != nil {
				t.Fatalf("creating namespace %s: %v", u.GetName(), err)
			}
			continue
		}
		rest = append(rest, u)
	}
	if len(rest) < 10 {
		t.Fatalf("config/default renders only %d objects besides the namespace", len(rest))
	}
	kinds := map[string]int{}
	for _, u := range rest {
		kinds[u.GetKind()]++
		if ns := u.GetNamespace(); namespaced(u) && ns != installNamespace {
			t.Errorf("config/default puts %s %s in namespace %q, want %q", u.GetKind(), u.GetName(), ns, installNamespace)
		} else if !namespaced(u) && ns != "" {
			t.Errorf("config/default gives cluster-scoped %s %s namespace %q", u.GetKind(), u.GetName(), ns)
		}
		dryRun("config/default", u)
	}
	for _, k := range []string{"CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service"} {
		if kinds[k] == 0 {
			t.Errorf("config/default renders no %s (renders %v)", k, kinds)
		}
	}

	// The dry-run does validate: a Deployment whose selector does not match its pods is refused.
	for _, u := range rest {
		if u.GetKind() == "Deployment" {
			broken := u.DeepCopy()
			_ = unstructured.SetNestedStringMap(broken.Object, map[string]string{"app": "other"}, "spec", "selector", "matchLabels")
			err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(broken),
				client.FieldOwner("install-test"), client.ForceOwnership, client.DryRunAll)
			if !apierrors.IsInvalid(err) {
				t.Errorf("a Deployment whose selector does not match its template: got %v, want Invalid", err)
			}
		}
	}

	// config/default with config/prometheus: the monitoring objects it adds.
	monitoringKinds := 0
	for _, u := range renderDefaultWithPrometheus(t) {
		if u.GetAPIVersion() == "monitoring.coreos.com/v1" {
			monitoringKinds++
			dryRun("config/prometheus", u)
		}
	}
	if monitoringKinds != 2 {
		t.Errorf("config/prometheus adds %d monitoring.coreos.com objects, want a ServiceMonitor and a PrometheusRule", monitoringKinds)
	}

	// The samples: our defaults, and the demo's objects.
	samples := render(t, "config/samples")
	sampleKinds := map[string]bool{}
	for _, u := range samples {
		sampleKinds[u.GetKind()] = true
		dryRun("config/samples", u)
	}
	for _, k := range []string{"InferenceGatewayParameters", "GatewayClass"} {
		if !sampleKinds[k] {
			t.Errorf("config/samples has no %s", k)
		}
	}

	// Path 2: the bundle, installed by OLM into the operator's namespace.
	files, err := filepath.Glob(filepath.Join(bundleDir(), "manifests", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bundle manifests: %v", err)
	}
	sawCSV := false
	for _, f := range files {
		for _, u := range readYAMLDocs(t, f) {
			if namespaced(u) {
				u.SetNamespace(installNamespace)
			}
			sawCSV = sawCSV || u.GetKind() == "ClusterServiceVersion"
			dryRun("bundle/manifests/"+filepath.Base(f), u)
		}
	}
	if !sawCSV {
		t.Error("the bundle has no ClusterServiceVersion")
	}
}
