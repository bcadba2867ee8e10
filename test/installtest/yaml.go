package installtest

import (
	"io"
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// ReadYAMLDocs reads every object of a YAML file (documents separated by ---).
func ReadYAMLDocs(t testing.TB, path string) []*unstructured.Unstructured {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return DecodeYAMLDocs(t, path, f)
}

// ParseYAMLDocs reads every object of a YAML stream held in a string, e.g. a rendered chart.
func ParseYAMLDocs(t testing.TB, what, docs string) []*unstructured.Unstructured {
	t.Helper()
	return DecodeYAMLDocs(t, what, strings.NewReader(docs))
}

// DecodeYAMLDocs reads every object of a YAML stream; empty documents are skipped.
func DecodeYAMLDocs(t testing.TB, what string, r io.Reader) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err == io.EOF {
			return objs
		} else if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// MustConvert converts an object read from YAML into its typed form.
func MustConvert(t testing.TB, u *unstructured.Unstructured, into interface{}) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}
