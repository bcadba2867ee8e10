package controllers

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// fresh returns a copy of s in its own memory, as a decoder would.
func fresh(s string) string { return strings.Clone(s) }

func sameMemory(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

// Objects decoded apart share, once interned, one copy of their repeated metadata strings, and
// keep every value.
func TestInternMetaSharesRepeatedStrings(t *testing.T) {
	decoded := func(name string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{
			Namespace: fresh("team-a"), Name: name,
			Labels: map[string]string{
				fresh(translate.LabelManagedBy):  fresh(translate.ManagedByValue),
				fresh(translate.LabelSourceName): fresh(name),
			},
			Annotations:     map[string]string{fresh(translate.AnnotationSource): fresh("InferencePool/team-a/" + name)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: fresh("inference.networking.k8s.io/v1"), Kind: fresh("InferencePool"), Name: name}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: fresh("kubectl-edit"), Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: fresh("v1")}},
		}}
	}
	a, b := decoded("pool-a"), decoded("pool-b")
	wantA := a.DeepCopy()
	internMeta(a)
	internMeta(b)

	if !sameMemory(a.Namespace, b.Namespace) {
		t.Error("namespaces not shared")
	}
	key := func(m map[string]string, k string) string {
		for have := range m {
			if have == k {
				return have
			}
		}
		t.Fatalf("key %s missing from %v", k, m)
		return ""
	}
	for _, k := range []string{translate.LabelManagedBy, translate.LabelSourceName} {
		if !sameMemory(key(a.Labels, k), key(b.Labels, k)) {
			t.Errorf("label key %s not shared", k)
		}
	}
	if !sameMemory(a.Labels[translate.LabelManagedBy], b.Labels[translate.LabelManagedBy]) {
		t.Error("the managed-by value not shared")
	}
	if !sameMemory(key(a.Annotations, translate.AnnotationSource), key(b.Annotations, translate.AnnotationSource)) {
		t.Error("annotation key not shared")
	}
	if !sameMemory(a.OwnerReferences[0].APIVersion, b.OwnerReferences[0].APIVersion) || !sameMemory(a.OwnerReferences[0].Kind, b.OwnerReferences[0].Kind) {
		t.Error("owner apiVersion or kind not shared")
	}
	if !sameMemory(a.ManagedFields[0].Manager, b.ManagedFields[0].Manager) {
		t.Error("managedFields manager not shared")
	}
	if a.Namespace != wantA.Namespace || !maps.Equal(a.Labels, wantA.Labels) || !maps.Equal(a.Annotations, wantA.Annotations) ||
		a.OwnerReferences[0] != wantA.OwnerReferences[0] || a.ManagedFields[0].Manager != wantA.ManagedFields[0].Manager {
		t.Errorf("interning changed the metadata: %+v, want %+v", a.ObjectMeta, wantA.ObjectMeta)
	}
}

// The table stops growing at internMax and still returns every string unchanged.
func TestInternTableIsBounded(t *testing.T) {
	table := &internTable{m: map[string]string{}}
	for i := range internMax + 100 {
		s := fmt.Sprintf("key-%d", i)
		if got := table.of(s); got != s {
			t.Fatalf("of(%q) = %q", s, got)
		}
	}
	if len(table.m) != internMax {
		t.Errorf("table holds %d strings, want at most %d", len(table.m), internMax)
	}
}
