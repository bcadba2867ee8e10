package bundle

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/inferencepool-operator/inferencepool-operator/hack/bundle/bundlegen"
	"github.com/inferencepool-operator/inferencepool-operator/test/installtest"
)

// The namespace config/default installs into.
const installNamespace = installtest.Namespace

func repoRoot() string { return installtest.RepoRoot() }

// bundleDir is the committed bundle.
func bundleDir() string { return filepath.Join(repoRoot(), bundlegen.BundleDir) }

// render runs kustomize on a directory under the repository root.
func render(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := bundlegen.Render(repoRoot(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// committedCSV reads the CSV of the committed bundle.
func committedCSV(t *testing.T) *v1alpha1.ClusterServiceVersion {
	t.Helper()
	p := filepath.Join(bundleDir(), "manifests", bundlegen.PackageName+".clusterserviceversion.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading the committed CSV (run make bundle): %v", err)
	}
	csv := &v1alpha1.ClusterServiceVersion{}
	if err := yaml.UnmarshalStrict(b, csv); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return csv
}

// readYAMLDocs reads every object of a YAML file (documents separated by ---).
func readYAMLDocs(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	return installtest.ReadYAMLDocs(t, path)
}

func mustConvert(t *testing.T, u *unstructured.Unstructured, into interface{}) {
	t.Helper()
	installtest.MustConvert(t, u, into)
}

func TestMain(m *testing.M) {
	code := m.Run()
	installtest.RemoveManager()
	os.Exit(code)
}
