package writepath

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/kit"
)

// The Applier against a real API server (test/envtest) and an informer cache, as the operator
// runs it: what it writes, and what it knows it need not compare.

var (
	restConfig *rest.Config
	k8s        client.Client
	scheme     = runtime.NewScheme()
	informers  cache.Cache
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	_ = clientgoscheme.AddToScheme(scheme)
	env, cfg, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the test control plane:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	restConfig = cfg
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if informers, err = cache.New(cfg, cache.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		fmt.Fprintln(os.Stderr, "the cache did not sync")
		return 1
	}
	return m.Run()
}

func eventually(t *testing.T, check func() error) {
	t.Helper()
	kit.Eventually(t, kit.Options{}, func(context.Context) error { return check() })
}

// cached waits until the cache holds version rv (or a later one) of key.
func cached(t *testing.T, obj client.Object, key client.ObjectKey, rv string) {
	t.Helper()
	eventually(t, func() error {
		if err := informers.Get(context.Background(), key, obj); err != nil {
			return err
		}
		have, err1 := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
		want, err2 := strconv.ParseUint(rv, 10, 64)
		if err1 != nil || err2 != nil || have < want {
			return fmt.Errorf("cache has version %s, want %s", obj.GetResourceVersion(), rv)
		}
		return nil
	})
}

// Ensure skips converting and comparing an object it knows to be in place, and still reverts a
// change made by someone else (a new resourceVersion).
func TestEnsureKnowsWhatIsInPlace(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ensure-"}}
	if err := k8s.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(restConfig, client.Options{Scheme: scheme, Cache: &client.CacheOptions{Reader: informers}})
	if err != nil {
		t.Fatal(err)
	}
	a := New(c, scheme, "unused")
	desired := &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "applied",
			Labels: map[string]string{translate.LabelManagedBy: translate.ManagedByValue}},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "x"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 8000, Protocol: corev1.ProtocolTCP}}},
	}
	key := a.Key(desired)
	ensure := func() Ensured {
		t.Helper()
		res, err := a.Ensure(ctx, desired.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if !ensure().Wrote {
		t.Fatal("the first Ensure wrote nothing")
	}
	stored := &corev1.Service{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(desired), stored); err != nil {
		t.Fatal(err)
	}
	hash := stored.Annotations[translate.AnnotationDesiredHash]
	if !a.memory.holds(key, stored.ResourceVersion, hash) {
		t.Fatalf("after its apply, version %s is not known to hold %s", stored.ResourceVersion, hash)
	}
	cached(t, &corev1.Service{}, client.ObjectKeyFromObject(desired), stored.ResourceVersion)
	if ensure().Wrote {
		t.Error("Ensure rewrote an object known to be in place")
	}

	// Someone else changes the selector: a new version, compared, reverted.
	stored.Spec.Selector = map[string]string{"app": "hijacked"}
	if err := k8s.Update(ctx, stored); err != nil {
		t.Fatal(err)
	}
	cached(t, &corev1.Service{}, client.ObjectKeyFromObject(desired), stored.ResourceVersion)
	if !ensure().Wrote {
		t.Fatal("Ensure did not revert another manager's change")
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(desired), stored); err != nil {
		t.Fatal(err)
	}
	if stored.Spec.Selector["app"] != "x" {
		t.Errorf("selector after the revert: %v", stored.Spec.Selector)
	}
}
