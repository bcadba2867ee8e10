package bundlegen

import (
	"fmt"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Render runs `kustomize build` on dir (relative to root) in-process, with kustomize's default
// options (load restrictions on, no plugins), and returns the objects in output order. The
// kustomize library is the same version as the pinned kustomize binary (hack/tools/kustomize).
func Render(root, dir string) ([]*unstructured.Unstructured, error) {
	return RenderFS(filesys.MakeFsOnDisk(), root, dir)
}

// RenderFS is Render on another file system, e.g. an in-memory copy of config/ with an edit.
func RenderFS(fs filesys.FileSystem, root, dir string) ([]*unstructured.Unstructured, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(fs, filepath.Join(root, filepath.FromSlash(dir)))
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range resMap.Resources() {
		// Through JSON, so numbers are int64/float64 as everywhere else in Kubernetes.
		b, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", dir, r.CurId(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", dir, r.CurId(), err)
		}
		objs = append(objs, u)
	}
	return objs, nil
}
