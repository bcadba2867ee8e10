package writepath

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// ErrForeignObject is returned by Applier.Ensure when an object with the generated name exists
// and does not carry our managed-by label: the operator never adopts it.
var ErrForeignObject = errors.New("object exists and is not managed by inferencepool-operator")

// Applier writes generated objects with server-side apply, and only when they differ from what
// the cache holds: a reconcile that changes nothing writes nothing.
type Applier struct {
	// Client reads from the informer cache and writes to the API server.
	Client client.Client
	Scheme *runtime.Scheme
	// ServedList tells whether the API server serves a list's kind, ServedObject an object's
	// (nil: all are).
	ServedList   func(client.ObjectList) bool
	ServedObject func(client.Object) bool
	// sourceIndex is the field index of generated objects by their source annotation.
	sourceIndex string
	// memory is what it remembers of each generated object (memory.go): the write the cache has
	// not seen yet, what is known to be in place, the reverts of another manager's changes.
	memory *memory
}

// New returns an Applier writing with c. sourceIndex is the name of the field index of
// generated objects by their source annotation (translate.AnnotationSource), which pruning lists by.
func New(c client.Client, scheme *runtime.Scheme, sourceIndex string) *Applier {
	return &Applier{Client: c, Scheme: scheme, sourceIndex: sourceIndex, memory: newMemory(time.Now)}
}

// Ensured is what Ensure did.
type Ensured struct {
	Wrote bool
	// retryAfter is set when reverting another manager's change waits its turn (fight.go).
	retryAfter time.Duration
	// fought describes the other managers and their fields the first time the object is
	// fought over, for the Warning event; nextRevert is the delay before the next revert.
	fought     string
	nextRevert time.Duration
}

// Ensure makes the object desired exist as rendered. It reports what it did, and returns
// ErrForeignObject (wrapped) when an unmanaged object holds the name.
func (a *Applier) Ensure(ctx context.Context, desired client.Object) (Ensured, error) {
	var res Ensured
	gvk, err := apiutil.GVKForObject(desired, a.Scheme)
	if err != nil {
		return res, err
	}
	key := a.Key(desired)
	fp, err := fingerprint(desired)
	if err != nil {
		return res, err
	}
	// The apply map is built only when something is to be compared or written (memory.go).
	var want map[string]any
	hash, known := a.memory.hashOf(key, fp)
	if !known {
		if want, hash, err = applyMapOf(desired); err != nil {
			return res, err
		}
		a.memory.want(key, fp, hash)
	}

	existing, err := a.Scheme.New(gvk)
	if err != nil {
		return res, err
	}
	existingObj := existing.(client.Object)
	err = a.Client.Get(ctx, client.ObjectKeyFromObject(desired), existingObj)
	switch {
	case apierrors.IsNotFound(err):
		if a.memory.stale(key, "", hash) {
			// Created a moment ago; look again shortly in case it was deleted since.
			res.retryAfter = createdRecheck
			return res, nil
		}
	case err != nil:
		return res, err
	case a.memory.stale(key, existingObj.GetResourceVersion(), hash):
		return res, nil // the cache has not seen this write of ours yet
	default:
		if existingObj.GetLabels()[translate.LabelManagedBy] != translate.ManagedByValue {
			return res, fmt.Errorf("%s %s: %w", gvk.Kind, client.ObjectKeyFromObject(desired), ErrForeignObject)
		}
		rv := existingObj.GetResourceVersion()
		if a.memory.holds(key, rv, hash) {
			return res, nil // nobody has written it since it was found or made as wanted
		}
		if want == nil {
			if want, _, err = applyMapOf(desired); err != nil {
				return res, err
			}
		}
		// Fields others added (the cache keeps managedFields of generated objects) go first:
		// with them in place, an apply could even be invalid (two ports of one name).
		foreign, reclaim, err := foreignSpecPatch(existingObj.GetManagedFields(), want)
		if err != nil {
			return res, err
		}
		if existingObj.GetAnnotations()[translate.AnnotationDesiredHash] == hash {
			if len(foreign) == 0 && !reclaim {
				have, err := runtime.DefaultUnstructuredConverter.ToUnstructured(existingObj)
				if err != nil {
					return res, err
				}
				if holdsFields(have, want, true) {
					a.memory.recordHolds(key, rv, hash)
					return res, nil
				}
			}
			// What the operator wants has not changed, yet the object differs: someone else
			// changed it. Revert, paced when it keeps happening.
			ok, wait, warn := a.memory.admit(key)
			if !ok {
				res.retryAfter = wait
				return res, nil
			}
			if warn {
				res.fought, res.nextRevert = otherManagers(existingObj.GetManagedFields()), a.memory.nextDelay(key)
			}
		}
		if err := a.revert(ctx, existingObj, foreign); err != nil {
			return res, err
		}
	}

	if want == nil { // a create
		if want, _, err = applyMapOf(desired); err != nil {
			return res, err
		}
	}
	u := &unstructured.Unstructured{Object: want}
	u.SetGroupVersionKind(gvk)
	if err := a.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(translate.FieldManager), client.ForceOwnership); err != nil {
		return res, fmt.Errorf("applying %s %s: %w", gvk.Kind, client.ObjectKeyFromObject(desired), err)
	}
	a.memory.recordWrite(key, existingObj.GetResourceVersion(), hash)
	a.memory.recordHolds(key, u.GetResourceVersion(), hash) // the apply's response is the object written
	res.Wrote = true
	return res, nil
}

// applyMapOf renders desired as the map its apply sends, with the desired-hash annotation, and
// returns that hash.
func applyMapOf(desired client.Object) (map[string]any, string, error) {
	want, err := translate.ApplyMap(desired)
	if err != nil {
		return nil, "", err
	}
	hash, err := translate.ApplyMapHash(want)
	if err != nil {
		return nil, "", err
	}
	setAnnotation(want, translate.AnnotationDesiredHash, hash)
	return want, hash, nil
}

// ForeignRecheck is how soon a source is reconciled again while an object the operator does not
// own holds the name of one it generates.
const ForeignRecheck = 15 * time.Second

// createdRecheck is how soon a source is reconciled again when the object it created a moment
// ago is not in the cache yet.
const createdRecheck = 2 * time.Second

// EnsureAll applies objs for the user's object source, recording a Warning event on it for
// each name held by a foreign object, and one for each object another controller fights over.
// It returns what a prune must keep (KeepSet) and when to reconcile again for a revert that waits
// its turn (0: no need). Objects of kinds the API server does not serve are left out: nothing of
// theirs can be written, and pruning skips those kinds.
func EnsureAll(ctx context.Context, a *Applier, rec events.EventRecorder, source client.Object, objs []client.Object) (KeepSet, time.Duration, error) {
	keep := KeepSet{}
	var retry time.Duration
	for _, obj := range objs {
		if a.ServedObject != nil && !a.ServedObject(obj) {
			continue
		}
		res, err := a.Ensure(ctx, obj)
		if err != nil {
			if isForeign(err) {
				rec.Eventf(source, nil, corev1.EventTypeWarning, "GeneratedNameInUse", "Reconcile",
					"%v; the operator leaves it untouched until it is renamed or removed", err)
				// Make before break: what this object would replace (the same kind under an
				// older name) stays until it is in place. Nothing maps the foreign object's
				// events back to this source: look again in a while.
				keep.holdKind(a.kindOf(obj))
				if retry == 0 || ForeignRecheck < retry {
					retry = ForeignRecheck
				}
				continue
			}
			return nil, 0, err
		}
		keep[a.Key(obj)] = true
		if res.retryAfter > 0 && (retry == 0 || res.retryAfter < retry) {
			retry = res.retryAfter
		}
		if res.fought != "" {
			rec.Eventf(source, obj, corev1.EventTypeWarning, "FieldManagerConflict", "Revert",
				"%s keeps changing %s %s/%s, which the operator generates and reverts; it now reverts with a growing delay (next in %v, then doubling up to %v): stop the other controller from writing this object",
				res.fought, obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName(), res.nextRevert, FightMaxDelay)
		}
		if res.Wrote {
			log.FromContext(ctx).V(1).Info("applied", "object", a.Key(obj))
		}
	}
	return keep, retry, nil
}

// KeepSet is what a prune leaves in place: objects by "Kind/namespace/name", and whole kinds.
// Every object a reconcile wants is applied before anything is pruned, so a renamed object (an
// upgrade that changes a naming rule) exists under its new name before the old one goes.
type KeepSet map[string]bool

// holdKind keeps every object of kind: one of its desired objects could not be written.
func (k KeepSet) holdKind(kind string) { k[kind+"/*"] = true }

// keeps tells whether the prune leaves obj, of kind, whose key is key.
func (k KeepSet) keeps(kind, key string) bool { return k[key] || k[kind+"/*"] }

// PruneAll deletes, in every namespace and of each kind in lists the API server serves, the
// objects generated from src (found through the source index) whose "Kind/namespace/name" is not in
// keep. lists are empty prototypes, shared by concurrent reconciles: each is copied before use.
func (a *Applier) PruneAll(ctx context.Context, lists []client.ObjectList, src translate.Source, keep KeepSet) error {
	for _, proto := range lists {
		if a.ServedList != nil && !a.ServedList(proto) {
			continue
		}
		list := proto.DeepCopyObject().(client.ObjectList)
		// Read-only: pruning reads names, annotations and UIDs, and deletes by them.
		if err := a.Client.List(ctx, list, client.MatchingFields{a.sourceIndex: src.String()}, client.UnsafeDisableDeepCopy); err != nil {
			return err
		}
		items, err := metaItems(list)
		if err != nil {
			return err
		}
		for _, obj := range items {
			if obj.GetAnnotations()[translate.AnnotationSource] != src.String() || keep.keeps(a.kindOf(obj), a.Key(obj)) {
				continue
			}
			uid := obj.GetUID()
			a.memory.forget(a.Key(obj))
			err := a.Client.Delete(ctx, obj, client.Preconditions{UID: &uid})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return err
			}
		}
	}
	return nil
}

// key is "Kind/namespace/name" of obj, the unit of keep sets.
func (a *Applier) Key(obj client.Object) string {
	return a.kindOf(obj) + "/" + obj.GetNamespace() + "/" + obj.GetName()
}

// kindOf is obj's kind, from its type when its TypeMeta is empty (objects read from the cache).
func (a *Applier) kindOf(obj client.Object) string {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	if kind == "" {
		if gvk, err := apiutil.GVKForObject(obj, a.Scheme); err == nil {
			kind = gvk.Kind
		}
	}
	return kind
}

func isForeign(err error) bool { return errors.Is(err, ErrForeignObject) }

func metaItems(list client.ObjectList) ([]client.Object, error) {
	v := reflect.ValueOf(list).Elem().FieldByName("Items")
	if !v.IsValid() {
		return nil, fmt.Errorf("%T has no Items", list)
	}
	out := make([]client.Object, 0, v.Len())
	for i := 0; i < v.Len(); i++ {
		obj, ok := v.Index(i).Addr().Interface().(client.Object)
		if !ok {
			return nil, fmt.Errorf("%T items are not objects", list)
		}
		out = append(out, obj)
	}
	return out, nil
}

func setAnnotation(m map[string]any, key, value string) {
	md, _ := m["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		m["metadata"] = md
	}
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		md["annotations"] = ann
	}
	ann[key] = value
}

// contains tells whether have holds every field of want with the same value. Maps may have
// more keys (server defaults, other managers' fields); lists must match element by element.
// At the top level apiVersion and kind are skipped: typed objects read from the cache lack them.
func holdsFields(have, want any, top bool) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return len(w) == 0 && have == nil
		}
		for k, wv := range w {
			if top && (k == "apiVersion" || k == "kind") {
				continue
			}
			if !holdsFields(h[k], wv, false) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return len(w) == 0 && have == nil
		}
		for i := range w {
			if !holdsFields(h[i], w[i], false) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(have, want)
	}
}
