package bundle

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/inferencepool-operator/inferencepool-operator/hack/bundle/bundlegen"
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// The namespace config/default installs into.
const installNamespace = "inferencepool-operator-system"

func repoRoot() string { return envtest.RepoRoot() }

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
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err == io.EOF {
			return objs
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if manager.path != "" {
		_ = os.RemoveAll(filepath.Dir(manager.path))
	}
	os.Exit(code)
}
