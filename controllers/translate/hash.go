package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Hashing what the operator applies, apart from translating it: the write path stores the hash in
// AnnotationDesiredHash, and the translation compares it to tell whether Envoy Gateway's verdict
// on a generated object is about what the operator wants now (isCurrent, meta.go).

// DesiredHash is a stable hash of what the operator applies for obj (status and server-set
// metadata excluded). The applier stores it in AnnotationDesiredHash; status mirroring compares
// it to tell whether Envoy Gateway's verdict on a generated object is about the current spec.
func DesiredHash(obj client.Object) (string, error) {
	m, err := ApplyMap(obj)
	if err != nil {
		return "", err
	}
	return ApplyMapHash(m)
}

// ApplyMapHash is DesiredHash of the object whose ApplyMap is m (for a caller that has m
// already: converting an object to a map is most of the cost). m is not changed.
func ApplyMapHash(m map[string]any) (string, error) {
	if md, ok := m["metadata"].(map[string]any); ok {
		if ann, ok := md["annotations"].(map[string]any); ok {
			if _, has := ann[AnnotationDesiredHash]; has {
				ann = maps.Clone(ann)
				delete(ann, AnnotationDesiredHash)
				md = maps.Clone(md)
				md["annotations"] = ann
				if len(ann) == 0 {
					delete(md, "annotations")
				}
				m = maps.Clone(m)
				m["metadata"] = md
			}
		}
	}
	b, err := json.Marshal(m) // maps marshal with sorted keys: a stable hash
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16], nil
}

// ApplyMap renders a typed object as the map sent in an apply request: no status, no
// server-set metadata.
func ApplyMap(obj client.Object) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		for _, k := range []string{"creationTimestamp", "resourceVersion", "uid", "generation", "managedFields"} {
			delete(md, k)
		}
	}
	return m, nil
}
