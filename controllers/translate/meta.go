package translate

import (
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// AnnotationSource names the exact source of a generated object as "Kind/namespace/name";
// labels can only hold a hash-shortened name, so pruning checks this annotation.
const AnnotationSource = "inferencepool-operator.io/source"

// AnnotationCarries names, on a generated policy, the user's policies whose settings it carries
// ("Kind/namespace/name", joined by "+"): their status mirrors Envoy Gateway's verdict on it.
const AnnotationCarries = "inferencepool-operator.io/carries"

// LabelSourceNamespace is the namespace of the source (generated objects may live elsewhere:
// policies for a pool sit in the namespace of the routes using it).
const LabelSourceNamespace = "inferencepool-operator.io/source-namespace"

// Source identifies the user object a generated object was made from.
type Source struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// String is the value of AnnotationSource.
func (s Source) String() string { return s.Kind + "/" + s.Namespace + "/" + s.Name }

// Labels are the labels every object generated from s carries.
func (s Source) Labels() map[string]string {
	return map[string]string{
		LabelManagedBy:       ManagedByValue,
		LabelSourceKind:      s.Kind,
		LabelSourceNamespace: s.Namespace,
		LabelSourceName:      LabelValue(s.Name),
	}
}

// objectMeta is the metadata of an object generated from src, named name in namespace.
func objectMeta(src Source, namespace, name string, owners ...metav1.OwnerReference) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       namespace,
		Labels:          src.Labels(),
		Annotations:     map[string]string{AnnotationSource: src.String()},
		OwnerReferences: owners,
	}
}

// controllerRef makes obj (of apiVersion/kind) the controlling owner of a generated object, so
// deleting it deletes what was generated. blockOwnerDeletion stays unset: it would need update
// rights on the owner's finalizers, and the operator never writes the user's objects.
func controllerRef(apiVersion, kind string, obj metav1.Object) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: obj.GetName(), UID: obj.GetUID(), Controller: &t}
}

// ownerRef is a non-controlling ownerReference: the object goes when all such owners are gone.
func ownerRef(apiVersion, kind string, obj metav1.Object) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: obj.GetName(), UID: obj.GetUID()}
}

// isCurrent tells whether generated (as read from the cluster) was written from desired, so
// its status speaks about what the operator wants now.
func isCurrent(generated, desired client.Object) bool {
	if isNil(generated) || isNil(desired) {
		return false
	}
	if generated.GetLabels()[LabelManagedBy] != ManagedByValue {
		return false
	}
	h, err := DesiredHash(desired)
	return err == nil && generated.GetAnnotations()[AnnotationDesiredHash] == h
}

// isNil tells whether obj is nil or a typed nil pointer.
func isNil(obj client.Object) bool {
	if obj == nil {
		return true
	}
	v := reflect.ValueOf(obj)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
