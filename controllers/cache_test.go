package controllers

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// cached waits until the operator's cache holds version rv (or later) of key, and returns it.
func cached[T client.Object](t *testing.T, obj T, key client.ObjectKey, rv string) T {
	t.Helper()
	eventually(t, func() error {
		if err := operatorCache.Get(context.Background(), key, obj); err != nil {
			return err
		}
		if rv == "" {
			return nil
		}
		have, err1 := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
		want, err2 := strconv.ParseUint(rv, 10, 64)
		if err1 != nil || err2 != nil || have < want {
			return fmt.Errorf("cache has version %s, want %s", obj.GetResourceVersion(), rv)
		}
		return nil
	})
	return obj
}

// The cache keeps of the user's Services, EndpointSlices and Namespaces only what the operator
// reads, and of generated objects all but the operator's own managedFields.
func TestCacheKeepsWhatTheOperatorReads(t *testing.T) {
	ns := newNamespace(t)
	mustUpdate(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, func(n *corev1.Namespace) {
		n.Labels = map[string]string{"team": "llm"}
	})

	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "epp", Labels: map[string]string{"app": "epp"},
			Annotations: map[string]string{lastApplied: `{"kind":"Service"}`, "note": "kept"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "epp"},
			Ports:    []corev1.ServicePort{{Name: "grpc", Port: 9002, TargetPort: intstr.FromInt32(9002)}},
		},
	}
	mustCreate(t, svc)
	got := cached(t, &corev1.Service{}, client.ObjectKeyFromObject(svc), svc.ResourceVersion)
	if got.Spec.Selector != nil || got.Spec.ClusterIP != "" || got.ManagedFields != nil {
		t.Errorf("cached user Service keeps selector %v, clusterIP %q, managedFields %d", got.Spec.Selector, got.Spec.ClusterIP, len(got.ManagedFields))
	}
	if _, ok := got.Annotations[lastApplied]; ok || got.Annotations["note"] != "kept" {
		t.Errorf("cached user Service annotations %v, want note and no %s", got.Annotations, lastApplied)
	}
	if got.Spec.Type != corev1.ServiceTypeClusterIP || len(got.Spec.Ports) != 1 || got.Spec.Ports[0].Port != 9002 || got.Labels["app"] != "epp" {
		t.Errorf("cached user Service lost what the operator reads: type %q ports %v labels %v", got.Spec.Type, got.Spec.Ports, got.Labels)
	}

	f, tr := false, true
	slice := func(name string, ready ...*bool) *discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: "epp"}},
			AddressType: discoveryv1.AddressTypeIPv4,
		}
		for i, r := range ready {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
				Addresses: []string{fmt.Sprintf("10.0.0.%d", i+1)}, Conditions: discoveryv1.EndpointConditions{Ready: r},
			})
		}
		mustCreate(t, s)
		return s
	}
	for _, c := range []struct {
		slice *discoveryv1.EndpointSlice
		ready bool
	}{
		{slice("some-ready", &f, &tr, &f), true},
		{slice("unset-is-ready", nil), true},
		{slice("none-ready", &f, &f), false},
	} {
		got := cached(t, &discoveryv1.EndpointSlice{}, client.ObjectKeyFromObject(c.slice), c.slice.ResourceVersion)
		if c.ready {
			if len(got.Endpoints) != 1 || got.Endpoints[0].Conditions.Ready == nil || !*got.Endpoints[0].Conditions.Ready || got.Endpoints[0].Addresses != nil {
				t.Errorf("cached slice %s: endpoints %+v, want one ready endpoint without addresses", got.Name, got.Endpoints)
			}
		} else if len(got.Endpoints) != 0 {
			t.Errorf("cached slice %s: endpoints %+v, want none", got.Name, got.Endpoints)
		}
		if got.Labels[discoveryv1.LabelServiceName] != "epp" {
			t.Errorf("cached slice %s lost its service label: %v", got.Name, got.Labels)
		}
	}

	gotNS := cached(t, &corev1.Namespace{}, client.ObjectKey{Name: ns}, "")
	if gotNS.Labels["team"] != "llm" || gotNS.ManagedFields != nil || len(gotNS.Spec.Finalizers) != 0 || gotNS.Status.Phase != "" {
		t.Errorf("cached Namespace: labels %v managedFields %d spec %+v status %+v", gotNS.Labels, len(gotNS.ManagedFields), gotNS.Spec, gotNS.Status)
	}

	// A generated Service stays whole, without the operator's own managedFields entry but with
	// another manager's, which drift detection reads.
	servedPoolSetup(t, ns, "llm")
	pool := newPool(ns, "llm", "vllm", 8000)
	pool.Annotations = map[string]string{lastApplied: `{"kind":"InferencePool"}`, "note": "kept"}
	mustCreate(t, pool)
	gotPool := cached(t, &giev1.InferencePool{}, client.ObjectKeyFromObject(pool), pool.ResourceVersion)
	if _, ok := gotPool.Annotations[lastApplied]; ok || gotPool.Annotations["note"] != "kept" || gotPool.ManagedFields != nil || len(gotPool.Spec.TargetPorts) != 1 {
		t.Errorf("cached pool: annotations %v, managedFields %d, spec %+v", gotPool.Annotations, len(gotPool.ManagedFields), gotPool.Spec)
	}
	key := shadowKey(ns, "llm")
	waitService(t, key, selectorIs(map[string]string{"app": "vllm"}))
	shadow := &corev1.Service{}
	if err := k8s.Get(context.Background(), key, shadow); err != nil {
		t.Fatal(err)
	}
	gen := cached(t, &corev1.Service{}, key, shadow.ResourceVersion)
	if gen.Spec.Selector["app"] != "vllm" || gen.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("cached shadow Service lost its spec: %+v", gen.Spec)
	}
	for _, mf := range gen.ManagedFields {
		t.Errorf("cached shadow Service keeps managedFields of %s (subresource %q)", mf.Manager, mf.Subresource)
	}
	mustUpdate(t, shadow, func(s *corev1.Service) { s.Spec.Selector["extra"] = "x" })
	// The operator reverts it; the cache showed the other manager's entry in between, or the
	// revert would not have removed the added key.
	waitService(t, key, selectorIs(map[string]string{"app": "vllm"}))
}

// inputChanged drops only status-only updates of the user's objects.
func TestInputChangedDropsStatusOnlyUpdatesOfUserObjects(t *testing.T) {
	base := func() *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", ResourceVersion: "1", Generation: 1, Labels: map[string]string{"a": "b"}}}
	}
	cases := []struct {
		name   string
		mutate func(*corev1.Service)
		pass   bool
	}{
		{"resync", func(*corev1.Service) {}, true},
		{"status only", func(s *corev1.Service) { s.ResourceVersion = "2" }, false},
		{"spec", func(s *corev1.Service) { s.ResourceVersion, s.Generation = "2", 2 }, true},
		{"labels", func(s *corev1.Service) { s.ResourceVersion, s.Labels = "2", map[string]string{"a": "c"} }, true},
		{"annotations", func(s *corev1.Service) { s.ResourceVersion, s.Annotations = "2", map[string]string{"x": "y"} }, true},
		{"deleting", func(s *corev1.Service) { s.ResourceVersion, s.DeletionTimestamp = "2", &metav1.Time{} }, true},
		{"generated, status only", func(s *corev1.Service) {
			s.ResourceVersion, s.Labels = "2", map[string]string{translate.LabelManagedBy: translate.ManagedByValue}
		}, true},
	}
	for _, c := range cases {
		old, updated := base(), base()
		if c.name == "generated, status only" {
			old.Labels = map[string]string{translate.LabelManagedBy: translate.ManagedByValue}
		}
		c.mutate(updated)
		if got := inputChanged.Update(event.UpdateEvent{ObjectOld: old, ObjectNew: updated}); got != c.pass {
			t.Errorf("%s: passes %v, want %v", c.name, got, c.pass)
		}
	}
}

// endpointReadinessChanged passes an EndpointSlice update only when readiness or labels change.
func TestEndpointReadinessChanged(t *testing.T) {
	tr, f := true, false
	slice := func(rv string, ready ...*bool) *discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "s", ResourceVersion: rv, Labels: map[string]string{discoveryv1.LabelServiceName: "epp"}}}
		for _, r := range ready {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Conditions: discoveryv1.EndpointConditions{Ready: r}})
		}
		return s
	}
	relabelled := slice("2", &tr)
	relabelled.Labels[discoveryv1.LabelServiceName] = "other"
	for _, c := range []struct {
		name     string
		old, new *discoveryv1.EndpointSlice
		pass     bool
	}{
		{"resync", slice("1", &tr), slice("1", &tr), true},
		{"another ready pod", slice("1", &tr), slice("2", &tr, &tr), false},
		{"last ready pod gone", slice("1", &tr, &f), slice("2", &f), true},
		{"first ready pod", slice("1"), slice("2", nil), true},
		{"relabelled", slice("1", &tr), relabelled, true},
	} {
		if got := endpointReadinessChanged.Update(event.UpdateEvent{ObjectOld: c.old, ObjectNew: c.new}); got != c.pass {
			t.Errorf("%s: passes %v, want %v", c.name, got, c.pass)
		}
	}
}
