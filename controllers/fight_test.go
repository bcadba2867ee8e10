package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/writepath"
)

// Another controller changes the shadow Service's selector every second for a minute. The
// operator reverts it each time it may, with a doubling delay, so it writes a handful of times
// instead of sixty, records one Warning event naming the other manager and the field, and the
// Service ends as the operator wants it once the other controller stops.
func TestFightWithAnotherControllerBacksOff(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute-long fight")
	}
	ns := newNamespace(t)
	servedPoolSetup(t, ns, "llm")
	pool := newPool(ns, "llm", "vllm", 8000)
	mustCreate(t, pool)
	key := shadowKey(ns, "llm")
	waitService(t, key, selectorIs(map[string]string{"app": "vllm"}))
	time.Sleep(time.Second)

	serviceWrites := func(w write) bool { return w.Kind == "Service" && w.Namespace == ns && w.Name == key.Name }
	writes.reset()
	const fight = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), fight)
	defer cancel()
	changes := 0
	for tick := time.NewTicker(time.Second); ctx.Err() == nil; {
		svc := &corev1.Service{}
		if err := k8s.Get(ctx, key, svc); err == nil {
			patch := client.MergeFrom(svc.DeepCopy())
			svc.Spec.Selector = map[string]string{"app": fmt.Sprintf("other-%d", changes)}
			if err := k8s.Patch(ctx, svc, patch, client.FieldOwner("other-controller")); err == nil {
				changes++
			}
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	t.Logf("the other controller changed the selector %d times in %v", changes, fight)

	// Once it stops, the operator's last revert lands within the current delay.
	waitServiceWithin(t, key, writepath.FightMaxDelay, selectorIs(map[string]string{"app": "vllm"}))
	reverts := writes.matching(serviceWrites)
	t.Logf("the operator wrote the Service %d times", len(reverts))
	// 60 changes at 1/s: reverts at 0, 1, 3, 7, 15, 31 s and one after the fight (~63 s).
	if len(reverts) < 4 || len(reverts) > 12 {
		t.Errorf("the operator wrote the Service %d times during a %v fight of %d changes, want a handful (backoff): %v", len(reverts), fight, changes, reverts)
	}
	evs := eventsFor(t, pool, "FieldManagerConflict")
	if len(evs) != 1 {
		t.Fatalf("%d FieldManagerConflict events on the pool, want exactly 1: %v", len(evs), evs)
	}
	if msg := evs[0].Note; !strings.Contains(msg, `"other-controller"`) || !strings.Contains(msg, "spec.selector") || !strings.Contains(msg, key.Name) {
		t.Errorf("event %q does not name the other manager, the field and the Service", msg)
	}
	if evs[0].Type != corev1.EventTypeWarning || evs[0].Related == nil || evs[0].Related.Name != key.Name {
		t.Errorf("event %+v: want a Warning related to the Service", evs[0])
	}
}

// waitServiceWithin is waitService with a longer timeout.
func waitServiceWithin(t *testing.T, key client.ObjectKey, timeout time.Duration, check func(*corev1.Service) error) {
	t.Helper()
	eventuallyWithin(t, timeout, func() error {
		svc := &corev1.Service{}
		if err := get(svc, key); err != nil {
			return err
		}
		return check(svc)
	})
}
