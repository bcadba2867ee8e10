package controllers

import (
	"sync"
)

// The informer cache sees the operator's own writes a moment after they are made. A reconcile
// that runs in between (another event for the same source) would find the version it just
// overwrote and write the same thing again: a wasted request, or a 409 for a status. written
// remembers, per object (or status), the resourceVersion each write replaced and a hash of what
// it wrote; while the cache still holds that version, a write of the same thing is skipped.
// The watch event of the write itself reconciles the source again, so nothing is lost.
type written struct {
	mu sync.Mutex
	by map[string]writeRecord
}

type writeRecord struct {
	replaced string // resourceVersion the write replaced ("" for a create)
	hash     string // what was written
}

func newWritten() *written { return &written{by: map[string]writeRecord{}} }

// stale tells whether the cache's version rv of key is one the operator already replaced with
// hash. It forgets the record once the cache holds a later version.
func (w *written) stale(key, rv, hash string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.by[key]
	if !ok {
		return false
	}
	if r.replaced != rv {
		delete(w.by, key)
		return false
	}
	return r.hash == hash
}

// record remembers that the operator replaced version rv of key with hash.
func (w *written) record(key, rv, hash string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.by[key] = writeRecord{replaced: rv, hash: hash}
}

// forget drops what is known of key (its object is gone).
func (w *written) forget(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.by, key)
}
