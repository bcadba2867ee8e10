package translate_test

import (
	"errors"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// admissible tells whether the API server would accept every object of snap, as far as the
// invariants depend on it or the generator could get it wrong: metadata (names, labels,
// annotations), one object per kind and name, and the CRDs' rules of admissiblespec_test.go. The
// operator only ever sees accepted objects, so the invariants are promised for those; the YAML
// target skips the rest, and the generator must never make any.
func admissible(snap *translate.Snapshot) error {
	var errs []error
	fail := func(obj client.Object, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%T %s/%s: %s", obj, obj.GetNamespace(), obj.GetName(), fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	for _, obj := range snapshotObjects(snap) {
		if seen[typedKey(obj)] {
			fail(obj, "a second object of that kind and name")
		}
		seen[typedKey(obj)] = true
		nameFn, namespaced := apivalidation.NameIsDNSSubdomain, true
		switch obj.(type) {
		case *corev1.Service:
			nameFn = apivalidation.NameIsDNS1035Label
		case *corev1.Namespace:
			nameFn, namespaced = apivalidation.ValidateNamespaceName, false
		case *gwapiv1.GatewayClass, *v1alpha1.InferenceGatewayParameters:
			namespaced = false
		}
		if list := apivalidation.ValidateObjectMetaAccessor(obj, namespaced, nameFn, field.NewPath("metadata")); len(list) > 0 {
			fail(obj, "%v", list.ToAggregate())
		}
		if obj.GetUID() == "" {
			fail(obj, "no uid (the API server always sets one)")
		}
		for _, problem := range specProblems(obj) {
			fail(obj, "%s", problem)
		}
	}
	return errors.Join(errs...)
}

// fillUIDs gives every object of snap without a UID one, as the API server would have: golden
// inputs leave out the UIDs nothing refers to.
func fillUIDs(snap *translate.Snapshot) {
	for _, obj := range snapshotObjects(snap) {
		if obj.GetUID() == "" {
			obj.SetUID(types.UID(typedKey(obj)))
		}
	}
}

// typedKey is "Type/namespace/name" (the snapshot's typed objects carry no kind).
func typedKey(obj client.Object) string {
	return fmt.Sprintf("%T/%s/%s", obj, obj.GetNamespace(), obj.GetName())
}

// snapshotObjects lists every object of snap (every exported list, by reflection, so lists the
// Snapshot gains later are checked too).
func snapshotObjects(snap *translate.Snapshot) []client.Object {
	var out []client.Object
	v := reflect.ValueOf(snap).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() || f.Kind() != reflect.Slice {
			continue
		}
		for j := 0; j < f.Len(); j++ {
			if obj, ok := f.Index(j).Addr().Interface().(client.Object); ok {
				out = append(out, obj)
			}
		}
	}
	return out
}

// ptrValue is *p, or the zero value for nil.
func ptrValue[T any](p *T) T {
	var zero T
	return ptr.Deref(p, zero)
}
