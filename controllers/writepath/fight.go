package writepath

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// When another controller keeps changing an object the operator generates, each revert is
// answered by another change: reverting at once would make the two a hot loop of writes. The
// operator reverts the first change at once (a user's stray edit), and each further change of
// the same object within fightWindow only after a delay that doubles (fightBaseDelay,
// 2x, 4x, ... up to FightMaxDelay); it says so once per fight, naming the other manager and the
// fields, in a Warning event on the source.
const (
	fightBaseDelay = time.Second
	// FightMaxDelay is the longest a revert waits.
	FightMaxDelay = 5 * time.Minute
	// fightWindow is how long after its last revert an object counts as still fought over.
	fightWindow = 10 * time.Minute
)

// fight counts the reverts of another manager's changes of one object (memory.go holds it).
type fight struct {
	reverts int
	last    time.Time
	warned  bool
}

// admit tells whether the object key may be reverted now; if not, how long to wait. When it
// may, the revert is counted, and warn is true the first time the object is fought over (its
// second revert within fightWindow).
func (m *memory) admit(key string) (ok bool, wait time.Duration, warn bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	r := m.of(key)
	ft := r.fight
	if ft == nil || now.Sub(ft.last) > fightWindow {
		ft = &fight{}
		r.fight = ft
	}
	if ft.reverts > 0 {
		delay := fightBaseDelay << min(ft.reverts-1, 20)
		if delay > FightMaxDelay {
			delay = FightMaxDelay
		}
		if next := ft.last.Add(delay); now.Before(next) {
			return false, next.Sub(now), false
		}
	}
	ft.reverts++
	ft.last = now
	if ft.reverts >= 2 && !ft.warned {
		ft.warned = true
		return true, 0, true
	}
	return true, 0, false
}

// nextDelay is how long the next revert of key will wait after this one (for the event).
func (m *memory) nextDelay(key string) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.by[key]; r != nil && r.fight != nil {
		return min(fightBaseDelay<<min(r.fight.reverts-1, 20), FightMaxDelay)
	}
	return fightBaseDelay
}

// otherManagers describes the spec fields that managers other than the operator own on an
// object: "manager (field, field)", sorted, for the fight event.
func otherManagers(managedFields []metav1.ManagedFieldsEntry) string {
	var parts []string
	for _, mf := range managedFields {
		if mf.Manager == translate.FieldManager || mf.Subresource != "" || mf.FieldsV1 == nil {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(mf.FieldsV1.Raw)); err != nil {
			continue
		}
		var fields []string
		set.Leaves().Iterate(func(p fieldpath.Path) {
			if len(p) > 0 && p[0].FieldName != nil && *p[0].FieldName == "spec" {
				fields = append(fields, strings.TrimPrefix(p.String(), "."))
			}
		})
		if len(fields) == 0 {
			continue
		}
		sort.Strings(fields)
		parts = append(parts, fmt.Sprintf("%q (%s)", mf.Manager, strings.Join(fields, ", ")))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "another field manager"
	}
	return strings.Join(parts, ", ")
}
