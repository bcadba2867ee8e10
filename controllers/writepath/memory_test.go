package writepath

import (
	"crypto/sha256"
	"testing"
	"time"
)

func TestAppliedRemembersOneVersionPerWant(t *testing.T) {
	a := newMemory(time.Now)
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

// The three things remembered of an object go together: forgetting it drops its pending write,
// what is in place and its fight.
func TestMemoryForgetsAnObjectWhole(t *testing.T) {
	now := time.Unix(1000, 0)
	m := newMemory(func() time.Time { return now })
	m.recordWrite("k", "3", "h")
	m.want("k", sha256.Sum256([]byte("x")), "h")
	m.recordHolds("k", "4", "h")
	m.admit("k")
	if ok, _, _ := m.admit("k"); ok {
		t.Fatal("a second revert at once was admitted")
	}
	if !m.stale("k", "3", "h") || !m.holds("k", "4", "h") {
		t.Fatal("the records were not kept")
	}
	m.forget("k")
	if m.stale("k", "3", "h") || m.holds("k", "4", "h") {
		t.Error("forget kept a pending write or a version in place")
	}
	if ok, _, warn := m.admit("k"); !ok || warn {
		t.Error("forget kept the fight: the next revert waits or warns")
	}
	// A pending write is forgotten once the cache holds a later version; what is in place stays.
	m.want("k", sha256.Sum256([]byte("x")), "h")
	m.recordHolds("k", "6", "h")
	m.recordWrite("k", "5", "h")
	if m.stale("k", "6", "h") || m.stale("k", "5", "h") {
		t.Error("a write stays pending after the cache moved past it")
	}
	if !m.holds("k", "6", "h") {
		t.Error("dropping the pending write dropped the version in place")
	}
}

// A create is awaited in the cache for a while, then forgotten: an object created and deleted
// before the cache saw it must be created again, not awaited forever.
func TestCreateNotSeenIsForgotten(t *testing.T) {
	now := time.Unix(1000, 0)
	m := newMemory(func() time.Time { return now })
	m.recordWrite("k", "", "h")
	if !m.stale("k", "", "h") {
		t.Fatal("a create just made is not awaited")
	}
	now = now.Add(createSeenWithin - time.Second)
	if !m.stale("k", "", "h") {
		t.Fatal("a create is forgotten too early")
	}
	now = now.Add(2 * time.Second)
	if m.stale("k", "", "h") {
		t.Fatal("a create the cache never showed is awaited forever")
	}
	if m.stale("k", "", "h") {
		t.Fatal("a forgotten create came back")
	}
	// A replace (rv known) is forgotten only when the cache shows a later version.
	m.recordWrite("k", "5", "h")
	now = now.Add(time.Hour)
	if !m.stale("k", "5", "h") || m.stale("k", "6", "h") {
		t.Error("a replace is forgotten by the clock, or kept past a later version")
	}
}
