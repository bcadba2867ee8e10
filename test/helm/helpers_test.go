package helm

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/cli"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/getter"
	release "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/inferencepool-operator/inferencepool-operator/hack/helmchart/chartgen"
	"github.com/inferencepool-operator/inferencepool-operator/test/installtest"
)

const (
	// releaseName gives the objects config/default's names (prefix inferencepool-operator-).
	releaseName = "inferencepool-operator"
	// namespace is config/default's namespace.
	namespace = installtest.Namespace
	// serviceAccount is the manager's ServiceAccount in a release named releaseName.
	serviceAccount = "inferencepool-operator-controller-manager"
)

// allOptional switches on every optional part of the chart.
var allOptional = []string{
	"gatewayClass.create=true",
	"serviceMonitor.enabled=true",
	"prometheusRule.enabled=true",
	"podDisruptionBudget.enabled=true",
}

func TestMain(m *testing.M) {
	// Helm logs through slog; keep the test output to the tests'.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	code := m.Run()
	stopAPIServer()
	installtest.RemoveManager()
	os.Exit(code)
}

func repoRoot() string { return installtest.RepoRoot() }

func chartDir() string { return filepath.Join(repoRoot(), filepath.FromSlash(chartgen.ChartDir)) }

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.LoadDir(chartDir())
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// cliValues merges --set values the way the helm CLI does (its values options and getters).
func cliValues(set ...string) (map[string]any, error) {
	return (&values.Options{Values: set}).MergeValues(getter.All(cli.New()))
}

// kubeVersion is the Kubernetes version Helm assumes without a cluster (`helm template`, `helm
// install --dry-run`): the helm CLI takes it from the k8s.io/client-go it is built with (v0.37 is
// v1.37), test builds of the SDK use v1.20, so the tests set it as `--kube-version` would. The
// source-built API server is the same minor version (go.mod pins k8s.io/* there too).
func kubeVersion(t *testing.T) *common.KubeVersion {
	t.Helper()
	minor := strings.Split(installtest.RequiredVersion(t, "go.mod", "k8s.io/client-go"), ".")[1]
	v, err := common.ParseKubeVersion("v1." + minor + ".0")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// dryRunInstall runs what `helm install inferencepool-operator charts/inferencepool-operator -n
// inferencepool-operator-system --dry-run --set <set>...` runs: the CLI's merge of the values,
// then Helm's install action in client-side dry-run, which checks the values against
// values.schema.json and renders the templates without a cluster.
func dryRunInstall(t *testing.T, set ...string) (*release.Release, error) {
	t.Helper()
	vals, err := cliValues(set...)
	if err != nil {
		return nil, err
	}
	in := action.NewInstall(action.NewConfiguration())
	in.DryRunStrategy = action.DryRunClient
	in.KubeVersion = kubeVersion(t)
	in.ReleaseName = releaseName
	in.Namespace = namespace
	ri, err := in.Run(loadChart(t), vals)
	if err != nil {
		return nil, err
	}
	rel, ok := ri.(*release.Release)
	if !ok {
		t.Fatalf("install returned a %T", ri)
	}
	return rel, nil
}

// render returns the objects the chart renders with the given --set values, failing the test when
// Helm refuses them.
func render(t *testing.T, set ...string) []*unstructured.Unstructured {
	t.Helper()
	rel, err := dryRunInstall(t, set...)
	if err != nil {
		t.Fatalf("helm install --dry-run --set %v: %v", set, err)
	}
	return installtest.ParseYAMLDocs(t, "rendered chart", rel.Manifest)
}

// ofKind returns the objects of kind among objs.
func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// one returns the only object of kind among objs, failing the test when there is not exactly one.
func one(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	found := ofKind(objs, kind)
	if len(found) != 1 {
		t.Fatalf("%d objects of kind %s rendered, want 1", len(found), kind)
	}
	return found[0]
}

// deployment returns the rendered manager Deployment.
func deployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	installtest.MustConvert(t, one(t, objs, "Deployment"), d)
	return d
}

// field returns the value at path in obj (map keys, and list indexes as numbers), printed, or ""
// when there is none.
func field(obj any, path ...string) string {
	for _, p := range path {
		switch o := obj.(type) {
		case map[string]any:
			obj = o[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(o) {
				return ""
			}
			obj = o[i]
		default:
			return ""
		}
	}
	if obj == nil {
		return ""
	}
	return fmt.Sprint(obj)
}
