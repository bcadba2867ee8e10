package writepath

import (
	"crypto/sha256"
	"encoding/json"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// memory is what the write path remembers of each object it writes (a generated object, or a
// status), under one key and one lock, and forgotten together when the object goes:
//
//   - the write the informer cache has not seen yet (written). The cache sees the operator's own
//     writes a moment after they are made; a reconcile in between would find the version just
//     overwritten and write the same again (a wasted request, or a 409 for a status). While the
//     cache still holds the version a write replaced, a write of the same thing is skipped; the
//     watch event of the write itself reconciles the source again, so nothing is lost.
//   - what the operator last wanted of the object and which version is known to hold it
//     (applied). Most reconciles want what they wanted before and find it in place; without
//     this each converted the desired object to the apply map (for its hash) and the cached
//     object to a map (to compare). Those conversions were most of what a reconcile that writes
//     nothing allocated, enough, in the burst that follows a cold start at 3000 pools, to double
//     the heap (docs/performance.md). About 200 bytes per object.
//   - the reverts of another manager's changes (fight.go).
//
// It only saves work: an operator restarted without it reads everything back and writes only
// what differs.
type memory struct {
	mu  sync.Mutex
	by  map[string]*record
	now func() time.Time
}

// record is what is remembered of one object.
type record struct {
	// written: the operator replaced version replaced ("" for a create) with what hashes as
	// writtenHash; empty when no write awaits the cache.
	replaced, writtenHash string
	// writtenAt is when that write was made: a create the cache never shows is forgotten after
	// createSeenWithin (the object may have been created and deleted between two reads).
	writtenAt time.Time
	// fingerprint is a hash of the desired object's JSON: the same fingerprint, the same apply;
	// hash is that apply's translate.ApplyMapHash (the desired-hash annotation); version is a
	// resourceVersion known to hold it: the one the operator's own apply returned, or one Ensure
	// compared and found holding it ("": none known).
	fingerprint [sha256.Size]byte
	hash        string
	version     string
	// fight counts the reverts of other managers' changes (nil: none recent).
	fight *fight
}

func newMemory(now func() time.Time) *memory {
	return &memory{by: map[string]*record{}, now: now}
}

// of returns key's record, made empty if there is none. The caller holds the lock.
func (m *memory) of(key string) *record {
	r := m.by[key]
	if r == nil {
		r = &record{}
		m.by[key] = r
	}
	return r
}

// stale tells whether the cache's version rv of key is one the operator already replaced with
// hash. It forgets that write once the cache holds a later version, and a create whose object
// the cache still lacks after createSeenWithin (deleted before the cache saw it: it must be
// created again, not awaited forever).
func (m *memory) stale(key, rv, hash string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.by[key]
	if r == nil || r.writtenHash == "" {
		return false
	}
	if r.replaced != rv || (rv == "" && m.now().Sub(r.writtenAt) > createSeenWithin) {
		r.replaced, r.writtenHash = "", ""
		return false
	}
	return r.writtenHash == hash
}

// recordWrite remembers that the operator replaced version rv of key with hash.
func (m *memory) recordWrite(key, rv, hash string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.of(key)
	r.replaced, r.writtenHash, r.writtenAt = rv, hash, m.now()
}

// createSeenWithin bounds how long a create is awaited in the cache: an informer shows a new
// object within milliseconds, so longer means it was deleted before it was seen.
const createSeenWithin = 5 * time.Second

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
func (m *memory) hashOf(key string, fp [sha256.Size]byte) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.by[key]
	if r == nil || r.hash == "" || r.fingerprint != fp {
		return "", false
	}
	return r.hash, true
}

// want remembers that key's desired object with fingerprint fp applies as hash; a version
// known to hold an earlier hash is dropped.
func (m *memory) want(key string, fp [sha256.Size]byte, hash string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.of(key)
	if r.hash != hash {
		r.version = ""
	}
	r.fingerprint, r.hash = fp, hash
}

// holds tells whether version rv of key is known to hold the apply of hash: nobody has written
// the object since the operator applied or compared it.
func (m *memory) holds(key, rv, hash string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.by[key]
	return r != nil && rv != "" && r.version == rv && r.hash == hash
}

// recordHolds records that version rv of key holds the apply of hash (ignored when hash is no
// longer what is wanted).
func (m *memory) recordHolds(key, rv, hash string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.by[key]; r != nil && r.hash == hash {
		r.version = rv
	}
}

// forget drops everything known of key (its object is gone, or about to be).
func (m *memory) forget(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.by, key)
}
