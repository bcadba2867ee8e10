package controllers

import (
	"crypto/sha256"
	"encoding/json"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// applied remembers, per generated object, what the operator last wanted of it and which
// version of it is known to hold that. Most reconciles want what they wanted before and find
// it in place; without this, each of them converted the desired object to the apply map (for
// its hash) and the cached object to a map (to compare), for every object of the source. Those
// conversions were most of what a reconcile that writes nothing allocated, and the burst of such
// reconciles that follows a cold start at 3000 pools allocated fast enough to double the heap
// (docs/performance.md). A record costs about 200 bytes per generated object.
type applied struct {
	mu sync.Mutex
	by map[string]appliedRecord
}

type appliedRecord struct {
	// fingerprint is a hash of the desired object's JSON: the same fingerprint, the same apply.
	fingerprint [sha256.Size]byte
	// hash is the apply's translate.ApplyMapHash (the desired-hash annotation).
	hash string
	// version is a resourceVersion known to hold the apply of hash: the one the operator's own
	// apply returned, or one Ensure compared and found holding it ("": none known).
	version string
}

func newApplied() *applied { return &applied{by: map[string]appliedRecord{}} }

// fingerprint hashes the JSON of a desired object (encoding/json sorts map keys, and struct
// fields come in their declared order: the same object, the same bytes).
func fingerprint(obj client.Object) ([sha256.Size]byte, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// hashOf returns the apply hash remembered for key's desired object with fingerprint fp.
func (a *applied) hashOf(key string, fp [sha256.Size]byte) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.by[key]
	if !ok || r.fingerprint != fp {
		return "", false
	}
	return r.hash, true
}

// want remembers that key's desired object with fingerprint fp applies as hash; a version
// known to hold an earlier hash is dropped.
func (a *applied) want(key string, fp [sha256.Size]byte, hash string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.by[key]
	if r.hash != hash {
		r.version = ""
	}
	r.fingerprint, r.hash = fp, hash
	a.by[key] = r
}

// holds tells whether version rv of key is known to hold the apply of hash: nobody has
// written the object since the operator applied or compared it.
func (a *applied) holds(key, rv, hash string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.by[key]
	return ok && rv != "" && r.version == rv && r.hash == hash
}

// recordHolds records that version rv of key holds the apply of hash.
func (a *applied) recordHolds(key, rv, hash string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.by[key]; ok && r.hash == hash {
		r.version = rv
		a.by[key] = r
	}
}

// forget drops what is known of key (its object is gone, or about to be).
func (a *applied) forget(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.by, key)
}
