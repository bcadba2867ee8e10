package translate_test

import (
	"reflect"
	"testing"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// copySnapshot deep-copies every exported field of s, by reflection so that fields the Snapshot
// gains later are copied too: each list element by its DeepCopy method, other values as they
// are. The translation's memo (unexported) is left behind, as a fresh snapshot has none.
func copySnapshot(s *translate.Snapshot) *translate.Snapshot {
	return mapSnapshotLists(s, func(v reflect.Value) reflect.Value { return v })
}

// reversedSnapshot is copySnapshot with every list in reverse order: the informer cache lists
// objects in no particular order, so the translation must not depend on it.
func reversedSnapshot(s *translate.Snapshot) *translate.Snapshot {
	return mapSnapshotLists(s, func(v reflect.Value) reflect.Value {
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(v.Len() - 1 - i).Set(v.Index(i))
		}
		return out
	})
}

// mapSnapshotLists deep-copies s and passes each (copied, non-nil) list through f.
func mapSnapshotLists(s *translate.Snapshot, f func(reflect.Value) reflect.Value) *translate.Snapshot {
	out := &translate.Snapshot{}
	src, dst := reflect.ValueOf(s).Elem(), reflect.ValueOf(out).Elem()
	for i := 0; i < src.NumField(); i++ {
		if !src.Type().Field(i).IsExported() {
			continue
		}
		field := src.Field(i)
		if field.Kind() != reflect.Slice || field.IsNil() {
			dst.Field(i).Set(field)
			continue
		}
		list := reflect.MakeSlice(field.Type(), field.Len(), field.Len())
		for j := 0; j < field.Len(); j++ {
			item := field.Index(j)
			if deepCopy := item.Addr().MethodByName("DeepCopy"); deepCopy.IsValid() {
				item = deepCopy.Call(nil)[0].Elem()
			}
			list.Index(j).Set(item)
		}
		dst.Field(i).Set(f(list))
	}
	return out
}

// sameSnapshot tells whether a and b hold equal exported fields.
func sameSnapshot(a, b *translate.Snapshot) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := 0; i < va.NumField(); i++ {
		if va.Type().Field(i).IsExported() && !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return false
		}
	}
	return true
}

// SnapshotKinds describes every list of user's or generated objects a Snapshot holds, once: a
// field added to Snapshot without its kind would be left out by the golden decoder and the scale
// harness.
func TestSnapshotKindsCoverTheSnapshot(t *testing.T) {
	st := reflect.TypeOf(translate.Snapshot{})
	covered := map[string]int{}
	for _, k := range translate.SnapshotKinds {
		s := &translate.Snapshot{}
		if !s.Add(k.New()) {
			t.Errorf("%s: Add refuses its own kind", k.Kind)
			continue
		}
		v := reflect.ValueOf(s).Elem()
		for i := 0; i < v.NumField(); i++ {
			if st.Field(i).IsExported() && v.Field(i).Kind() == reflect.Slice && v.Field(i).Len() == 1 {
				covered[st.Field(i).Name]++
			}
		}
	}
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		if !f.IsExported() || f.Type.Kind() != reflect.Slice || f.Type.Elem().Kind() != reflect.Struct {
			continue
		}
		if covered[f.Name] != 1 {
			t.Errorf("Snapshot.%s is filled by %d of SnapshotKinds, want 1", f.Name, covered[f.Name])
		}
	}
}
