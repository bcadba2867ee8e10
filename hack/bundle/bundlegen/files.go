package bundlegen

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// marshalYAML writes obj with sorted keys under the generated-file header.
func marshalYAML(obj interface{}) ([]byte, error) {
	b, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return append([]byte(generatedHeader), b...), nil
}

// crdFileName is operator-sdk's name for a CRD in a bundle: <group>_<plural>.yaml.
func crdFileName(crd *unstructured.Unstructured) string {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	return group + "_" + plural + ".yaml"
}

// objectFileName is operator-sdk's name for any other bundle manifest:
// <name>_<group>_<version>_<kind>.yaml, the group left out for the core group.
func objectFileName(obj *unstructured.Unstructured) string {
	gvk := obj.GroupVersionKind()
	parts := []string{obj.GetName()}
	if gvk.Group != "" {
		parts = append(parts, gvk.Group)
	}
	parts = append(parts, gvk.Version, strings.ToLower(gvk.Kind))
	return strings.Join(parts, "_") + ".yaml"
}

// Paths returns the file paths in sorted order.
func (f Files) Paths() []string {
	var paths []string
	for p := range f {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// Write replaces the bundle under root with files: bundle/ is removed first, so a manifest that
// is no longer generated does not linger, then every file is written.
func Write(root string, files Files) error {
	for _, p := range files.Paths() {
		if p != DockerfileName && !strings.HasPrefix(p, BundleDir+"/") {
			return fmt.Errorf("refusing to write %s outside %s/", p, BundleDir)
		}
	}
	if err := os.RemoveAll(filepath.Join(root, BundleDir)); err != nil {
		return err
	}
	return files.WriteUnder(root)
}

// WriteUnder writes every file under root, creating directories as needed.
func (f Files) WriteUnder(root string) error {
	for _, p := range f.Paths() {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, f[p], 0o644); err != nil {
			return err
		}
	}
	return nil
}
