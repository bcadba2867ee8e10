package helm

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/test/installtest"
)

const (
	// The release the install test makes: another name and namespace than config/default's, so
	// the chart's names are checked with a prefix of their own.
	installRelease   = "ipo"
	installNamespace = "ipo-system"
	crdName          = "inferencegatewayparameters.inferencepool-operator.io"
)

// TestChartOnAPIServer runs the chart against a source-built kube-apiserver, in order:
//   - `helm install` with every optional part on, as docs/install.md says (CRD from crds/ first,
//     then the templates, among them an InferenceGatewayParameters of that CRD): every rendered
//     object exists afterwards;
//   - server-side dry-run of every object rendered with the defaults, with every optional part on
//     and with non-default values: the API server (our CRD, GIE's, Gateway API's, Envoy Gateway's
//     and Prometheus Operator's installed) accepts each, and refuses a broken Deployment;
//   - `helm upgrade` with another value: the Deployment changes;
//   - the operator, run in-process, serves a Gateway of the release's class;
//   - `helm uninstall`: the release's objects are gone but the class and its parameters
//     (resource-policy keep), the CRD stays (Helm never deletes crds/), what is served stays;
//   - `helm install` again adopts the kept class and parameters, and the operator recreates and
//     deletes nothing (reinstall_test.go).
func TestChartOnAPIServer(t *testing.T) {
	cfg, kubeconfig := startAPIServer(t)
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = apiextensionsv1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	helm := helmConfig(t, kubeconfig)

	var installed []*unstructured.Unstructured
	if !t.Run("helm install", func(t *testing.T) { installed = helmInstall(ctx, t, c, helm) }) {
		t.FailNow()
	}
	t.Run("server-side dry-run", func(t *testing.T) { serverSideDryRun(ctx, t, c) })
	t.Run("helm upgrade", func(t *testing.T) { helmUpgrade(ctx, t, c, helm, installed) })
	var generated served
	if !t.Run("the operator serves a Gateway of the release's class", func(t *testing.T) { generated = operatorServes(ctx, t, cfg) }) {
		t.FailNow()
	}
	t.Run("helm uninstall", func(t *testing.T) { helmUninstall(ctx, t, c, helm, installed) })
	t.Run("helm install again adopts what is served", func(t *testing.T) { reinstallAdopts(ctx, t, cfg, helm, generated) })
}

// helmConfig is Helm's action configuration for the test API server, as the CLI makes it from
// --kubeconfig and -n, with release records in Secrets (the CLI's default driver).
func helmConfig(t *testing.T, kubeconfig string) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &kubeconfig
	ns := installNamespace
	flags.Namespace = &ns
	cfg := action.NewConfiguration()
	if err := cfg.Init(flags, installNamespace, "secret"); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// helmInstall: helm install ipo charts/inferencepool-operator -n ipo-system --create-namespace --set <all optional parts>.
// It returns the objects of the release.
func helmInstall(ctx context.Context, t *testing.T, c client.Client, helm *action.Configuration) []*unstructured.Unstructured {
	if err := c.Get(ctx, client.ObjectKey{Name: crdName}, &apiextensionsv1.CustomResourceDefinition{}); !apierrors.IsNotFound(err) {
		t.Fatalf("CRD %s before helm install: %v; the test must let Helm install it", crdName, err)
	}
	in := newInstall(helm)
	in.CreateNamespace = true
	ri, err := in.RunWithContext(ctx, loadChart(t), installValues(t))
	if err != nil {
		t.Fatalf("helm install: %v", err)
	}
	rel := ri.(*release.Release)
	if rel.Info.Status != rcommon.StatusDeployed {
		t.Errorf("release status %s, want deployed", rel.Info.Status)
	}
	if !strings.Contains(rel.Info.Notes, "kubectl -n "+installNamespace+" rollout status deployment/"+installRelease+"-inferencepool-operator-controller-manager") {
		t.Errorf("NOTES.txt does not say how to wait for the Deployment:\n%s", rel.Info.Notes)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(ctx, client.ObjectKey{Name: crdName}, crd); err != nil {
		t.Fatalf("helm install did not install the CRD from crds/: %v", err)
	}
	objs := installtest.ParseYAMLDocs(t, "release manifest", rel.Manifest)
	kinds := map[string]bool{}
	for _, u := range objs {
		kinds[u.GetKind()] = true
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(u.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), got); err != nil {
			t.Errorf("%s %s/%s after helm install: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		} else if got.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("%s %s has labels %v, want Helm's managed-by", u.GetKind(), u.GetName(), got.GetLabels())
		}
	}
	for _, k := range []string{"Deployment", "Service", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
		"InferenceGatewayParameters", "GatewayClass", "ServiceMonitor", "PrometheusRule", "PodDisruptionBudget"} {
		if !kinds[k] {
			t.Errorf("the release has no %s (has %v)", k, kinds)
		}
	}
	return objs
}

// newInstall is helm install ipo -n ipo-system, waiting as the CLI does by default: for hooks
// only (the chart has none; nothing runs the pods here).
func newInstall(helm *action.Configuration) *action.Install {
	in := action.NewInstall(helm)
	in.ReleaseName = installRelease
	in.Namespace = installNamespace
	in.WaitStrategy = kube.HookOnlyStrategy
	in.Timeout = 2 * time.Minute
	return in
}

// installValues are the install's --set values: every optional part, and the class releaseClass.
func installValues(t *testing.T) map[string]any {
	t.Helper()
	vals, err := cliValues(append(allOptional, "gatewayClass.name="+releaseClass)...)
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

// serverSideDryRun applies, with server-side dry-run, every object the chart renders with each set
// of values, into the namespace config/default uses (created for real first).
func serverSideDryRun(ctx context.Context, t *testing.T, c client.Client) {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		t.Fatal(err)
	}
	dryRun := func(u *unstructured.Unstructured) error {
		return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()),
			client.FieldOwner("helm-test"), client.ForceOwnership, client.DryRunAll)
	}
	for name, set := range map[string][]string{"defaults": nil, "all optional parts": allOptional, "non-default values": customValues} {
		objs := render(t, set...)
		if len(objs) < 10 {
			t.Fatalf("%s: only %d objects rendered", name, len(objs))
		}
		for _, u := range objs {
			gvk := u.GroupVersionKind()
			m, err := c.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Errorf("%s: %s %s: the API server does not serve this kind: %v", name, gvk, u.GetName(), err)
				continue
			}
			if namespaced := m.Scope.Name() == meta.RESTScopeNameNamespace; namespaced != (u.GetNamespace() == namespace) {
				t.Errorf("%s: %s %s is in namespace %q; namespaced objects belong in the release namespace %s, others in none", name, u.GetKind(), u.GetName(), u.GetNamespace(), namespace)
			}
			if err := dryRun(u); err != nil {
				t.Errorf("%s: %s %s/%s rejected: %v", name, u.GetKind(), u.GetNamespace(), u.GetName(), err)
			}
		}
	}
	// The dry-run does validate: a Deployment whose selector does not match its pods is refused.
	broken := one(t, render(t), "Deployment").DeepCopy()
	_ = unstructured.SetNestedStringMap(broken.Object, map[string]string{"app": "other"}, "spec", "selector", "matchLabels")
	if err := dryRun(broken); !apierrors.IsInvalid(err) {
		t.Errorf("a Deployment whose selector does not match its template: got %v, want Invalid", err)
	}
}

// helmUpgrade upgrades as docs/install.md says: the CRD first (kubectl apply --server-side
// --force-conflicts -f charts/inferencepool-operator/crds/), then helm upgrade ipo
// charts/inferencepool-operator -n ipo-system --reset-then-reuse-values --set manager.logLevel=debug.
func helmUpgrade(ctx context.Context, t *testing.T, c client.Client, helm *action.Configuration, installed []*unstructured.Unstructured) {
	for _, crd := range installtest.ReadYAMLDocs(t, filepath.Join(chartDir(), "crds", "inferencepool-operator.io_inferencegatewayparameters.yaml")) {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(crd), client.FieldOwner("kubectl"), client.ForceOwnership); err != nil {
			t.Fatalf("kubectl apply --server-side --force-conflicts of the chart's CRD: %v", err)
		}
	}
	vals, err := cliValues("manager.logLevel=debug")
	if err != nil {
		t.Fatal(err)
	}
	up := action.NewUpgrade(helm)
	up.Namespace = installNamespace
	up.ResetThenReuseValues = true
	up.WaitStrategy = kube.HookOnlyStrategy
	up.Timeout = 2 * time.Minute
	ri, err := up.RunWithContext(ctx, installRelease, loadChart(t), vals)
	if err != nil {
		t.Fatalf("helm upgrade: %v", err)
	}
	if rel := ri.(*release.Release); rel.Version != 2 || rel.Info.Status != rcommon.StatusDeployed {
		t.Errorf("after helm upgrade: revision %d, status %s; want 2, deployed", rel.Version, rel.Info.Status)
	}
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: installNamespace, Name: installRelease + "-inferencepool-operator-controller-manager"}, d); err != nil {
		t.Fatal(err)
	}
	args := installtest.ManagerContainer(t, "upgraded Deployment", d.Spec).Args
	if !slices.Contains(args, "--zap-log-level=debug") {
		t.Errorf("after helm upgrade --set manager.logLevel=debug, the manager's args are %v", args)
	}
	// --reset-then-reuse-values kept the optional parts of the install: every object is still there.
	for _, u := range installed {
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), u.DeepCopy()); err != nil {
			t.Errorf("%s %s after helm upgrade --reset-then-reuse-values: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

// helmUninstall: helm uninstall ipo -n ipo-system. Every object of the release is gone but the
// GatewayClass and its parameters (resource-policy keep: Gateways are served through them); the
// CRD stays.
func helmUninstall(ctx context.Context, t *testing.T, c client.Client, helm *action.Configuration, installed []*unstructured.Unstructured) {
	un := action.NewUninstall(helm)
	un.WaitStrategy = kube.HookOnlyStrategy
	un.Timeout = 2 * time.Minute
	if _, err := un.Run(installRelease); err != nil {
		t.Fatalf("helm uninstall: %v", err)
	}
	for _, u := range installed {
		err := c.Get(ctx, client.ObjectKeyFromObject(u), u.DeepCopy())
		switch kept := u.GetKind() == "GatewayClass" || u.GetKind() == "InferenceGatewayParameters"; {
		case kept && err != nil:
			t.Errorf("%s %s after helm uninstall: %v; resource-policy keep should leave it", u.GetKind(), u.GetName(), err)
		case !kept && !apierrors.IsNotFound(err):
			t.Errorf("%s %s/%s after helm uninstall: %v, want not found", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
	if err := c.Get(ctx, client.ObjectKey{Name: crdName}, &apiextensionsv1.CustomResourceDefinition{}); err != nil {
		t.Errorf("the CRD after helm uninstall: %v; Helm leaves crds/ in place, and docs/install.md says so", err)
	}
}
