package controllers

import (
	"context"
	"crypto/sha256"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

func TestAppliedRemembersOneVersionPerWant(t *testing.T) {
	a := newApplied()
	fp1, fp2 := sha256.Sum256([]byte("one")), sha256.Sum256([]byte("two"))
	if _, ok := a.hashOf("k", fp1); ok {
		t.Fatal("a hash known before anything was wanted")
	}
	a.want("k", fp1, "h1")
	if h, ok := a.hashOf("k", fp1); !ok || h != "h1" {
		t.Fatalf("hashOf = %q, %v; want h1", h, ok)
	}
	if _, ok := a.hashOf("k", fp2); ok {
		t.Error("a hash known for another fingerprint")
	}
	if a.holds("k", "5", "h1") {
		t.Error("a version held before any was found")
	}
	a.recordHolds("k", "5", "h1")
	if !a.holds("k", "5", "h1") || a.holds("k", "6", "h1") || a.holds("k", "5", "h2") || a.holds("k", "", "h1") {
		t.Error("holds answers for another version or hash")
	}
	a.recordHolds("k", "7", "h2") // found for a hash no longer wanted: ignored
	if !a.holds("k", "5", "h1") {
		t.Error("a find for another hash replaced the version")
	}
	a.want("k", fp1, "h1") // the same want keeps the version
	if !a.holds("k", "5", "h1") {
		t.Error("wanting the same again dropped the version")
	}
	a.want("k", fp2, "h2") // a new want drops it
	if a.holds("k", "5", "h2") || a.holds("k", "5", "h1") {
		t.Error("a version survived a new want")
	}
	a.recordHolds("k", "8", "h2")
	a.forget("k")
	if a.holds("k", "8", "h2") {
		t.Error("forget kept the version")
	}
}

// Ensure skips converting and comparing an object it knows to be in place, and still reverts a
// change made by someone else (a new resourceVersion).
func TestEnsureKnowsWhatIsInPlace(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	c, err := client.New(restConfig, client.Options{Scheme: NewScheme(), Cache: &client.CacheOptions{Reader: operatorCache}})
	if err != nil {
		t.Fatal(err)
	}
	a := NewApplier(c, NewScheme())
	// A generated-looking Service without a source: no reconcile of the operator touches it.
	desired := &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "applied",
			Labels: map[string]string{translate.LabelManagedBy: translate.ManagedByValue}},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "x"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 8000, Protocol: corev1.ProtocolTCP}}},
	}
	key := a.key(desired)
	ensure := func() ensured {
		t.Helper()
		res, err := a.Ensure(ctx, desired.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if !ensure().wrote {
		t.Fatal("the first Ensure wrote nothing")
	}
	stored := &corev1.Service{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(desired), stored); err != nil {
		t.Fatal(err)
	}
	hash := stored.Annotations[translate.AnnotationDesiredHash]
	if !a.applied.holds(key, stored.ResourceVersion, hash) {
		t.Fatalf("after its apply, version %s is not known to hold %s", stored.ResourceVersion, hash)
	}
	cached(t, &corev1.Service{}, client.ObjectKeyFromObject(desired), stored.ResourceVersion)
	if ensure().wrote {
		t.Error("Ensure rewrote an object known to be in place")
	}

	// Someone else changes the selector: a new version, compared, reverted.
	mustUpdate(t, stored, func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "hijacked"} })
	cached(t, &corev1.Service{}, client.ObjectKeyFromObject(desired), stored.ResourceVersion)
	if !ensure().wrote {
		t.Fatal("Ensure did not revert another manager's change")
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(desired), stored); err != nil {
		t.Fatal(err)
	}
	if stored.Spec.Selector["app"] != "x" {
		t.Errorf("selector after the revert: %v", stored.Spec.Selector)
	}
}
