package translate_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// The invariants every translation keeps, whatever the snapshot (fuzz_test.go feeds them): the
// output is a function of the snapshot's content, and everything generated is an object the API
// server accepts and the operator can prune, that points only at what exists.

// checkTranslation translates snap and reports every invariant it breaks.
func checkTranslation(t *testing.T, snap *translate.Snapshot) {
	t.Helper()
	pristine := copySnapshot(snap)
	translated := copySnapshot(snap)
	res := translate.All(translated)

	// Determinism: copies give the same output; so does translating the same snapshot again
	// (its memo warm); so does the snapshot with every list reversed (the cache's order is
	// arbitrary), events aside, whose order across objects means nothing.
	same := func(what string, a, b translate.Result) {
		if !bytes.Equal(canonical(t, a), canonical(t, b)) {
			t.Errorf("%s: %s", what, diff(string(render(t, a)), string(render(t, b))))
		}
	}
	same("two translations of copies of one snapshot differ", res, translate.All(copySnapshot(snap)))
	same("translating one snapshot twice gives different results", res, translate.All(translated))
	if !sameSnapshot(translated, pristine) {
		t.Errorf("the translation changed its input snapshot")
	}
	same("the translation depends on the order of the snapshot's lists", withoutEvents(res), withoutEvents(translate.All(reversedSnapshot(snap))))

	checkObjects(t, pristine, res.Objects)
	checkReferences(t, pristine, res.Objects)
	checkStatuses(t, res)
	checkLastKnownGood(t, pristine, res.Objects)
}

// canonical renders a result as JSON: generated objects sorted by kind, namespace and name (as
// applied: no status, no server-set metadata), statuses by object. Cheaper than the golden
// files' YAML (render), which the fuzz targets would otherwise spend most of their time on.
func canonical(t *testing.T, res translate.Result) []byte {
	t.Helper()
	objs := append([]client.Object(nil), res.Objects...)
	sort.SliceStable(objs, func(i, j int) bool { return kindKey(objs[i]) < kindKey(objs[j]) })
	applied := make([]map[string]any, len(objs))
	for i, obj := range objs {
		m, err := translate.ApplyMap(obj)
		if err != nil {
			t.Fatal(err)
		}
		applied[i] = m
	}
	out, err := json.Marshal(map[string]any{ // maps marshal with sorted keys
		"objects":        applied,
		"gatewayClasses": res.GatewayClassStatuses,
		"gateways":       byName(res.GatewayStatuses),
		"routes":         byName(res.RouteParents),
		"copiedRoutes":   res.CopiedRouteParents,
		"pools":          byName(res.PoolParents),
		"failOpen":       byName(res.FailOpenActive),
		"noReadyPods":    byName(res.NoReadyPods),
		"policies":       res.PolicyAncestors,
		"events":         res.Events,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func byName[V any](m map[types.NamespacedName]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k.String()] = v
	}
	return out
}

// checkObjects checks each generated object on its own: metadata the API server accepts, the
// marks pruning relies on (managed-by label, source annotation naming a user's object), owners
// that exist in the object's namespace (ownerReferences cannot cross namespaces); and that no two
// sources generate the same object.
func checkObjects(t *testing.T, snap *translate.Snapshot, objs []client.Object) {
	t.Helper()
	seen := map[string]string{}
	for _, obj := range objs {
		key := kindKey(obj)
		src := obj.GetAnnotations()[translate.AnnotationSource]
		if other, dup := seen[key]; dup {
			t.Errorf("%s is generated twice: from %s and from %s", key, other, src)
		}
		seen[key] = src

		gvk := obj.GetObjectKind().GroupVersionKind()
		if gvk.Kind == "" || gvk.Version == "" {
			t.Errorf("%s/%s has no apiVersion and kind (server-side apply needs them)", obj.GetNamespace(), obj.GetName())
		}
		nameFn := apivalidation.NameIsDNSSubdomain
		if gvk.Kind == "Service" {
			nameFn = apivalidation.NameIsDNS1035Label
		}
		for _, err := range apivalidation.ValidateObjectMetaAccessor(obj, true, nameFn, field.NewPath("metadata")) {
			t.Errorf("%s: %v", key, err)
		}
		if obj.GetLabels()[translate.LabelManagedBy] != translate.ManagedByValue {
			t.Errorf("%s lacks label %s=%s", key, translate.LabelManagedBy, translate.ManagedByValue)
		}
		if !userObjectExists(snap, src) {
			t.Errorf("%s: annotation %s=%q does not name a user's object of the snapshot", key, translate.AnnotationSource, src)
		}
		if len(obj.GetOwnerReferences()) == 0 {
			t.Errorf("%s has no ownerReference", key)
		}
		for _, o := range obj.GetOwnerReferences() {
			if o.Name == "" || o.Kind == "" || o.APIVersion == "" || !ownerExists(snap, o, obj.GetNamespace()) {
				t.Errorf("%s: ownerReference %s %s %q (uid %q) is not a user's object in namespace %s", key, o.APIVersion, o.Kind, o.Name, o.UID, obj.GetNamespace())
			}
		}
	}
}

// userObjectExists tells whether source ("Kind/namespace/name") is an object of the snapshot
// that the operator did not generate.
func userObjectExists(snap *translate.Snapshot, source string) bool {
	parts := strings.SplitN(source, "/", 3)
	if len(parts) != 3 {
		return false
	}
	for _, o := range userObjects(snap, parts[0], parts[1]) {
		if o.GetName() == parts[2] {
			return true
		}
	}
	return false
}

// ownerExists tells whether the ownerReference o names a user's object in namespace (same
// apiVersion, kind, name and UID).
func ownerExists(snap *translate.Snapshot, o metav1.OwnerReference, namespace string) bool {
	for _, obj := range userObjects(snap, o.Kind, namespace) {
		if obj.GetName() == o.Name && obj.GetUID() == o.UID && obj.GetObjectKind().GroupVersionKind().GroupVersion().String() == o.APIVersion {
			return true
		}
	}
	return false
}

// userObjects lists the snapshot's objects of kind in namespace that the operator did not
// generate, with their apiVersion and kind set (the cache's typed objects lack them).
func userObjects(snap *translate.Snapshot, kind, namespace string) []client.Object {
	var out []client.Object
	for _, obj := range snapshotObjects(snap) {
		gvks, _, err := scheme.ObjectKinds(obj)
		if err != nil || gvks[0].Kind != kind || obj.GetNamespace() != namespace || obj.GetLabels()[translate.LabelManagedBy] == translate.ManagedByValue {
			continue
		}
		obj = obj.DeepCopyObject().(client.Object)
		obj.GetObjectKind().SetGroupVersionKind(gvks[0])
		out = append(out, obj)
	}
	return out
}

// scheme knows the kinds of the snapshot's typed objects.
var scheme = controllers.NewScheme()

// checkStatuses checks the statuses the operator writes against the API's rules: valid
// conditions (reason pattern, message at most 32768 bytes, ...) and the lists' maxima.
func checkStatuses(t *testing.T, res translate.Result) {
	t.Helper()
	conditions := func(where string, conds []metav1.Condition) {
		if len(conds) > 8 {
			t.Errorf("%s: %d conditions, the API allows 8", where, len(conds))
		}
		stamped := make([]metav1.Condition, len(conds))
		for i, c := range conds {
			c.LastTransitionTime = metav1.Unix(1767225600, 0) // the status writer's job
			stamped[i] = c
		}
		for _, err := range metav1validation.ValidateConditions(stamped, field.NewPath("conditions")) {
			t.Errorf("%s: %s", where, shorten(err.Error()))
		}
	}
	limit := func(where string, n, max int) {
		if n > max {
			t.Errorf("%s: %d entries, the API allows %d", where, n, max)
		}
	}
	for name, c := range res.GatewayClassStatuses {
		conditions("GatewayClass "+name, []metav1.Condition{c})
	}
	for _, nn := range sortedNN(res.GatewayStatuses) {
		st := res.GatewayStatuses[nn]
		conditions("Gateway "+nn.String(), st.Conditions)
		limit("Gateway "+nn.String()+" listeners", len(st.Listeners), 64)
		limit("Gateway "+nn.String()+" addresses", len(st.Addresses), 16)
		for _, l := range st.Listeners {
			conditions("Gateway "+nn.String()+" listener "+string(l.Name), l.Conditions)
		}
	}
	for _, nn := range sortedNN(res.RouteParents) {
		limit("HTTPRoute "+nn.String()+" parents", len(res.RouteParents[nn]), 32)
		for _, p := range res.RouteParents[nn] {
			conditions("HTTPRoute "+nn.String()+" parent "+string(p.ParentRef.Name), p.Conditions)
		}
	}
	for _, k := range sortedKeys(res.CopiedRouteParents) {
		limit(k+" parents", len(res.CopiedRouteParents[k]), 32)
		for _, p := range res.CopiedRouteParents[k] {
			conditions(k+" parent "+string(p.ParentRef.Name), p.Conditions)
		}
	}
	for _, nn := range sortedNN(res.PoolParents) {
		limit("InferencePool "+nn.String()+" parents", len(res.PoolParents[nn]), 32)
		for _, p := range res.PoolParents[nn] {
			conditions("InferencePool "+nn.String()+" parent "+string(p.ParentRef.Name), p.Conditions)
		}
	}
	keys := make([]string, 0, len(res.PolicyAncestors))
	for k := range res.PolicyAncestors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		limit(k+" ancestors", len(res.PolicyAncestors[k]), 16)
		for _, a := range res.PolicyAncestors[k] {
			conditions(k+" ancestor "+string(a.AncestorRef.Name), a.Conditions)
		}
	}
}

// shorten keeps failure messages readable when they quote 32 KiB values.
func shorten(s string) string {
	if len(s) > 300 {
		return s[:300] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}
