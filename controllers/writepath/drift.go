package writepath

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// Server-side apply with force takes back every field the operator sets, but it cannot remove
// what another manager added next to them: a selector key, a port, a policy target. Those
// additions show in managedFields as spec fields owned by someone else. The Applier removes
// them with a JSON merge patch: a map entry is nulled, a list holding a foreign element
// is replaced by the operator's list. Server defaults are owned by nobody, so they stay.

// revert sends patch (from foreignSpecPatch) to obj as a JSON merge patch, if it has anything.
func (a *Applier) revert(ctx context.Context, obj client.Object, patch map[string]any) error {
	if len(patch) == 0 {
		return nil
	}
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	if err := a.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, data), client.FieldOwner(translate.FieldManager)); err != nil {
		return fmt.Errorf("reverting edits of %s: %w", client.ObjectKeyFromObject(obj), err)
	}
	return nil
}

// foreignSpecPatch builds the JSON merge patch that removes the spec fields that managers other
// than the operator own (empty when there are none). reclaim is true when another manager
// changed (by update) a field the operator sets: a forced apply takes it back. (Equal values
// applied by another manager are shared, not changed, and need nothing.)
func foreignSpecPatch(managedFields []metav1.ManagedFieldsEntry, want map[string]any) (patch map[string]any, reclaim bool, err error) {
	patch = map[string]any{}
	for _, mf := range managedFields {
		if mf.Manager == translate.FieldManager || mf.Subresource != "" || mf.FieldsV1 == nil {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(mf.FieldsV1.Raw)); err != nil {
			return nil, false, fmt.Errorf("reading managedFields of %s: %w", mf.Manager, err)
		}
		set.Iterate(func(p fieldpath.Path) {
			if len(p) < 2 || p[0].FieldName == nil || *p[0].FieldName != "spec" {
				return
			}
			keys, listAt := mapPath(p)
			if listAt < 0 {
				if _, ours := lookup(want, keys); !ours {
					setPath(patch, keys, nil)
				} else if mf.Operation == metav1.ManagedFieldsOperationUpdate {
					reclaim = true
				}
				return
			}
			// A list element: JSON merge patch replaces whole lists, so send ours (or null).
			list, _ := lookup(want, keys[:listAt])
			setPath(patch, keys[:listAt], list)
		})
	}
	return patch, reclaim, nil
}

// mapPath turns a field path into map keys. When the path goes through a list element, listAt
// is the number of keys that lead to the list; else -1.
func mapPath(p fieldpath.Path) ([]string, int) {
	keys := make([]string, 0, len(p))
	for _, el := range p {
		if el.FieldName == nil {
			return keys, len(keys)
		}
		keys = append(keys, *el.FieldName)
	}
	return keys, -1
}

func lookup(m map[string]any, keys []string) (any, bool) {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func setPath(m map[string]any, keys []string, v any) {
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}
