package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/test/kit"
)

// FieldManager is the server-side apply field manager of everything the harness applies.
const FieldManager = "system-test-harness"

// ReadObjects reads every object of the YAML files in paths; a directory contributes its
// *.yaml and *.yml files in name order. Empty documents are skipped.
func ReadObjects(paths ...string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, path := range paths {
		files := []string{path}
		if st, err := os.Stat(path); err != nil {
			return nil, err
		} else if st.IsDir() {
			files = nil
			entries, err := os.ReadDir(path)
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
					files = append(files, filepath.Join(path, e.Name()))
				}
			}
			sort.Strings(files)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				return nil, err
			}
			fileObjs, err := DecodeYAML(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			objs = append(objs, fileObjs...)
		}
	}
	return objs, nil
}

// DecodeYAML splits a multi-document YAML stream into objects.
func DecodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &u.Object); err != nil {
			return nil, err
		}
		if len(u.Object) == 0 {
			continue
		}
		objs = append(objs, u)
	}
}

// Apply server-side applies objs in order (forcing ownership, as FieldManager) and waits
// until every CustomResourceDefinition among them is Established, so that objects of the new
// kinds can be applied right after, in the same or a later call. Server-side apply keeps no
// last-applied annotation, so it takes objects of any size (Envoy Gateway's envoyproxies CRD
// is 1.4 MB, over the client-side limit).
func Apply(ctx context.Context, cfg *rest.Config, objs ...*unstructured.Unstructured) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	var crds []string
	for _, obj := range objs {
		if err := applyOne(ctx, c, obj); err != nil {
			return err
		}
		if obj.GroupVersionKind().GroupKind() == (apiextensionsv1.Kind("CustomResourceDefinition")) {
			crds = append(crds, obj.GetName())
		}
	}
	return WaitForCRDs(ctx, cfg, crds...)
}

// ApplyFiles is ReadObjects followed by Apply.
func ApplyFiles(ctx context.Context, cfg *rest.Config, paths ...string) error {
	objs, err := ReadObjects(paths...)
	if err != nil {
		return err
	}
	return Apply(ctx, cfg, objs...)
}

// applyOne applies obj, retrying while its kind is not yet served (a CRD applied just before
// takes a moment to appear in discovery).
func applyOne(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	what := fmt.Sprintf("applying %s %s/%s", obj.GetKind(), obj.GetNamespace(), obj.GetName())
	var failed error // an error other than "kind not served" ends the wait
	err := kit.Poll(ctx, kit.Options{Timeout: 60 * time.Second, Interval: 200 * time.Millisecond, What: what,
		Abort: func() error { return failed }}, func(ctx context.Context) error {
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj.DeepCopy()),
			client.FieldOwner(FieldManager), client.ForceOwnership)
		if err != nil && !meta.IsNoMatchError(err) {
			failed = err
		}
		return err
	})
	if failed != nil {
		return fmt.Errorf("%s: %w", what, failed)
	}
	return err
}

// WaitForCRDs waits until the named CustomResourceDefinitions are Established.
func WaitForCRDs(ctx context.Context, cfg *rest.Config, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	s := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, name := range names {
		err := kit.Poll(ctx, kit.Options{Timeout: 60 * time.Second, What: "CRD " + name + " Established"}, func(ctx context.Context) error {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
				return err
			}
			if !crdEstablished(crd) {
				return errors.New("not Established yet")
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func crdEstablished(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, cond := range crd.Status.Conditions {
		if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}
