package controllers

import (
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// Every object decoded from a watch holds its own copy of each string, and thousands of cached
// objects repeat the same few: label and annotation keys, the operator's own label values,
// namespaces, owners' apiVersion and kind. The cache's transform replaces those with one shared
// copy each (docs/performance.md says what it saves).

// internMax bounds the table: past it, strings are kept as they come (a cluster with that many
// distinct keys and namespaces gains little from sharing them, and the table must not grow with
// whatever users write).
const internMax = 1 << 14

// internTable holds one copy of each string it has seen.
type internTable struct {
	mu sync.Mutex
	m  map[string]string
}

var interned = &internTable{m: map[string]string{}}

// of returns the table's copy of s, adding s when there is room.
func (t *internTable) of(s string) string {
	if s == "" {
		return s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := t.m[s]; ok {
		return v
	}
	if len(t.m) < internMax {
		t.m[s] = s
	}
	return s
}

// internedValues are the label keys whose values repeat across objects.
var internedValues = map[string]bool{
	translate.LabelManagedBy: true, translate.LabelSourceKind: true, translate.LabelSourceNamespace: true,
	discoveryv1.LabelManagedBy: true,
}

// internMeta shares the repeated strings of an object's metadata.
func internMeta(o client.Object) {
	o.SetNamespace(interned.of(o.GetNamespace()))
	if labels := o.GetLabels(); len(labels) > 0 {
		shared := make(map[string]string, len(labels))
		for k, v := range labels {
			if internedValues[k] {
				v = interned.of(v)
			}
			shared[interned.of(k)] = v
		}
		o.SetLabels(shared)
	}
	if ann := o.GetAnnotations(); len(ann) > 0 {
		shared := make(map[string]string, len(ann))
		for k, v := range ann {
			shared[interned.of(k)] = v
		}
		o.SetAnnotations(shared)
	}
	owners := o.GetOwnerReferences()
	for i := range owners {
		owners[i].APIVersion, owners[i].Kind = interned.of(owners[i].APIVersion), interned.of(owners[i].Kind)
	}
	mfs := o.GetManagedFields()
	for i := range mfs {
		internManagedFields(&mfs[i])
	}
}

func internManagedFields(mf *metav1.ManagedFieldsEntry) {
	mf.Manager, mf.APIVersion, mf.FieldsType = interned.of(mf.Manager), interned.of(mf.APIVersion), interned.of(mf.FieldsType)
	mf.Operation = metav1.ManagedFieldsOperationType(interned.of(string(mf.Operation)))
}
