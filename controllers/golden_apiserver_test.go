package controllers

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// TestGoldenOutputsAcceptedByAPIServer sends every object of every golden output
// (translate/testdata/out) to the source-built API server as a server-side dry-run create: the
// CRDs' schemas and CEL rules of Envoy Gateway and Gateway API must accept all of them.
func TestGoldenOutputsAcceptedByAPIServer(t *testing.T) {
	files, err := filepath.Glob("translate/testdata/out/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden outputs: %v", err)
	}
	ctx := context.Background()
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := reader.Read()
			if err != nil {
				break
			}
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(doc, &obj.Object); err != nil || obj.GetAPIVersion() == "" {
				continue // statuses and events: not objects
			}
			ensureNamespace(t, obj.GetNamespace())
			if err := k8s.Create(ctx, obj, client.DryRunAll); err != nil {
				t.Errorf("%s: %s %s/%s rejected: %v", filepath.Base(f), obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("only %d objects checked; the golden outputs should hold far more", checked)
	}
}

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	if name == "" {
		return
	}
	err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}
