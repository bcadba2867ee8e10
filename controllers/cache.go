package controllers

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// The operator watches Services, EndpointSlices and Namespaces cluster-wide, most of which have
// nothing to do with inference; its cache keeps of each object only the fields the operator
// reads, so its memory follows the number of objects rather than their size
// (docs/performance.md says what each kind costs).

// cacheOptions sets the cache's transform on opts: managedFields only where drift detection
// reads them, and slim Services, EndpointSlices and Namespaces. One transform for every kind,
// not cache.ByObject entries: with those, creating the manager asks the API server whether each
// kind is namespaced, and an operator started while the API server does not answer exits (its
// pod then crash-loops, and comes back only after the kubelet's back-off).
func cacheOptions(opts cache.Options) cache.Options {
	opts.DefaultTransform = transformCached
	return opts
}

// lastApplied is the annotation kubectl apply keeps a copy of the whole object in.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// transformCached is the cache's transform of every object it stores.
func transformCached(obj any) (any, error) {
	var err error
	switch obj.(type) {
	case *discoveryv1.EndpointSlice:
		obj, err = slimEndpointSlice(obj)
	case *corev1.Service:
		obj, err = slimService(obj)
	case *corev1.Namespace:
		obj, err = slimNamespace(obj)
	default:
		obj, err = keepForeignManagedFields(obj)
	}
	if o, ok := obj.(client.Object); ok && err == nil {
		internMeta(o)
	}
	return obj, err
}

// keepForeignManagedFields keeps, of a cached object's managedFields, only the spec entries of
// other managers on the objects the operator generates: drift detection (writepath/drift.go) and the
// fight event (writepath/fight.go) read those and nothing else. The operator's own entry, the largest,
// and every entry of the user's objects go, and so does kubectl's copy of a user's object in
// its last-applied annotation, which often doubles its size.
func keepForeignManagedFields(obj any) (any, error) {
	o, ok := obj.(client.Object)
	if !ok {
		return obj, nil
	}
	if o.GetLabels()[translate.LabelManagedBy] != translate.ManagedByValue {
		o.SetManagedFields(nil)
		if ann := o.GetAnnotations(); ann[lastApplied] != "" {
			delete(ann, lastApplied)
			o.SetAnnotations(ann)
		}
		return obj, nil
	}
	var keep []metav1.ManagedFieldsEntry
	for _, mf := range o.GetManagedFields() {
		if mf.Manager != translate.FieldManager && mf.Subresource == "" {
			keep = append(keep, mf)
		}
	}
	o.SetManagedFields(keep)
	return obj, nil
}

// slimService keeps of a user's Service what endpoint-picker resolution (translate/pool_epp.go) and
// the shadow Service's name check read: identity, labels, annotations, owners, type and ports.
// The operator's shadow Services stay whole: the Applier compares them with what it wants.
func slimService(obj any) (any, error) {
	s, ok := obj.(*corev1.Service)
	if !ok || s.Labels[translate.LabelManagedBy] == translate.ManagedByValue {
		return keepForeignManagedFields(obj)
	}
	return &corev1.Service{
		TypeMeta:   s.TypeMeta,
		ObjectMeta: slimMeta(s.ObjectMeta),
		Spec:       corev1.ServiceSpec{Type: s.Spec.Type, Ports: s.Spec.Ports},
	}, nil
}

// slimNamespace keeps a Namespace's name and labels, which policies' targetSelectors select.
func slimNamespace(obj any) (any, error) {
	n, ok := obj.(*corev1.Namespace)
	if !ok {
		return obj, nil
	}
	return &corev1.Namespace{TypeMeta: n.TypeMeta, ObjectMeta: slimMeta(n.ObjectMeta)}, nil
}

// slimEndpointSlice keeps an EndpointSlice's identity, labels and whether it has a ready
// endpoint (endpoint-picker readiness, translate/pool_epp.go; the pool's pods', from its shadow
// Service's slices, translate/pool_pods.go), as at most one endpoint: the operator never reads
// addresses, ports, topology or the count.
func slimEndpointSlice(obj any) (any, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return obj, nil
	}
	slim := &discoveryv1.EndpointSlice{TypeMeta: s.TypeMeta, ObjectMeta: slimMeta(s.ObjectMeta), AddressType: s.AddressType}
	if hasReadyEndpoint(s) {
		ready := true
		slim.Endpoints = []discoveryv1.Endpoint{{Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}
	}
	return slim, nil
}

// hasReadyEndpoint tells whether a slice lists a ready endpoint (a nil ready condition counts
// as ready, as the discovery API specifies).
func hasReadyEndpoint(s *discoveryv1.EndpointSlice) bool {
	for _, ep := range s.Endpoints {
		if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
			return true
		}
	}
	return false
}

// slimMeta keeps the metadata the operator reads of an object it does not generate.
func slimMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	ann := m.Annotations
	if ann[lastApplied] != "" {
		delete(ann, lastApplied)
	}
	return metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Generation: m.Generation, CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp,
		Labels: m.Labels, Annotations: ann, OwnerReferences: m.OwnerReferences,
	}
}

// endpointReadinessChanged passes an EndpointSlice update only when it changes what the cache
// keeps (slimEndpointSlice): its labels or whether it has a ready endpoint. Pods of a Service
// come and go all the time; the endpoint pickers' pools and the pools' own pods (NoReadyPods)
// care only about none vs some.
var endpointReadinessChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	o, ok1 := e.ObjectOld.(*discoveryv1.EndpointSlice)
	n, ok2 := e.ObjectNew.(*discoveryv1.EndpointSlice)
	if !ok1 || !ok2 || o.ResourceVersion == n.ResourceVersion {
		return true
	}
	return hasReadyEndpoint(o) != hasReadyEndpoint(n) || !maps.Equal(o.Labels, n.Labels)
}}
