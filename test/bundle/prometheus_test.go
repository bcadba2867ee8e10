package bundle

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/inferencepool-operator/inferencepool-operator/hack/bundle/bundlegen"
)

// prometheusLine is the line of config/default/kustomization.yaml that docs/operations.md tells
// users to uncomment to add config/prometheus (kubebuilder's convention).
const prometheusLine = "#- ../prometheus"

// renderDefaultWithPrometheus renders config/default as a user gets it after uncommenting
// prometheusLine, on an in-memory copy of config/.
func renderDefaultWithPrometheus(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	config := filepath.Join(repoRoot(), "config")
	err := filepath.WalkDir(config, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if p == filepath.Join(config, "default", "kustomization.yaml") {
			if !strings.Contains(string(b), "\n"+prometheusLine+"\n") {
				t.Fatalf("config/default/kustomization.yaml has no line %q to uncomment", prometheusLine)
			}
			b = []byte(strings.Replace(string(b), "\n"+prometheusLine+"\n", "\n"+strings.TrimPrefix(prometheusLine, "#")+"\n", 1))
		}
		return mem.WriteFile(p, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := bundlegen.RenderFS(mem, repoRoot(), "config/default")
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestConfigPrometheusAddsMonitoring: uncommenting config/default's prometheus line adds exactly
// a ServiceMonitor and a PrometheusRule, in the operator's namespace with its name prefix, and the
// ServiceMonitor selects the metrics Service. (TestInstallManifestsAreAcceptedByAPIServer applies
// them; test/helm and test/alerts check what they monitor.)
func TestConfigPrometheusAddsMonitoring(t *testing.T) {
	without := render(t, "config/default")
	with := renderDefaultWithPrometheus(t)
	if len(with) != len(without)+2 {
		t.Fatalf("config/default renders %d objects, %d with config/prometheus; want 2 more", len(without), len(with))
	}
	var svc *unstructured.Unstructured
	for _, u := range without {
		if u.GetKind() == "Service" {
			svc = u
		}
	}
	kinds := map[string]*unstructured.Unstructured{}
	for _, u := range with {
		if u.GetAPIVersion() == "monitoring.coreos.com/v1" {
			kinds[u.GetKind()] = u
			if u.GetNamespace() != installNamespace || !strings.HasPrefix(u.GetName(), "inferencepool-operator-") {
				t.Errorf("%s %s/%s: want namespace %s and config/default's name prefix", u.GetKind(), u.GetNamespace(), u.GetName(), installNamespace)
			}
		}
	}
	sm, rule := kinds["ServiceMonitor"], kinds["PrometheusRule"]
	if sm == nil || rule == nil || svc == nil {
		t.Fatalf("want a ServiceMonitor, a PrometheusRule and the metrics Service; got %v", kinds)
	}
	sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	for k, v := range sel {
		if svc.GetLabels()[k] != v {
			t.Errorf("the ServiceMonitor selects %v; the metrics Service %s has labels %v", sel, svc.GetName(), svc.GetLabels())
		}
	}
}
