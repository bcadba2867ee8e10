package scale

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// Ref names an object by kind, namespace and name.
type Ref struct{ Kind, Namespace, Name string }

func (r Ref) String() string { return r.Kind + "/" + r.Namespace + "/" + r.Name }

func (r Ref) nn() types.NamespacedName {
	return types.NamespacedName{Namespace: r.Namespace, Name: r.Name}
}

// Item is one thing the operator must write: a generated object, or the status of a user's object.
type Item struct {
	Ref    Ref
	Status bool
}

func (it Item) String() string {
	if it.Status {
		return "status of " + it.Ref.String()
	}
	return it.Ref.String()
}

// Expected is what the operator must have written for a snapshot of the inputs, from the pure
// translation: the harness compares the cluster with it, so it follows the translation as it
// changes. Maps are read-only once built.
type Expected struct {
	result translate.Result
	// objects are the generated objects (typed, as translated) and what an apply of each sends.
	objects map[Ref]client.Object
	applied map[Ref]map[string]any
	// users are the user's objects with an expected status, as listed (the raw writer updates them).
	users map[Ref]client.Object
	Items []Item
	// snap is the snapshot translated, generated Gateways and routes included.
	snap *translate.Snapshot
	// fresh are the items translated anew when e was derived from another expectation (see
	// with); the others are the other's, unchanged. Nil when every item is fresh.
	fresh []Item
}

// Expect lists the inputs from the API server into a translate.Snapshot and translates it
// (see build).
func Expect(ctx context.Context, c client.Client) (*Expected, error) {
	snap, err := listSnapshot(ctx, c)
	if err != nil {
		return nil, err
	}
	return build(snap)
}

// ListSnapshot lists the inputs from the API server into a translate.Snapshot, as Expect does,
// for a caller that completes it (Snapshot.Add, e.g. objects as their creation returned them)
// before translating it with ExpectOf.
func ListSnapshot(ctx context.Context, c client.Client) (*translate.Snapshot, error) {
	return listSnapshot(ctx, c)
}

// ExpectOf translates snap as Expect translates what it lists. snap is the Expected's afterwards
// (the generated objects are added to it): it must not be translated again.
func ExpectOf(snap *translate.Snapshot) (*Expected, error) { return build(snap) }

// build translates snap. The generated objects the snapshot holds (Gateways, HTTPRoutes,
// policies) go into it too, as the operator would have written them, and it is translated again:
// the user's statuses mirror Envoy Gateway's verdicts on them. Without Envoy Gateway nobody
// judges them, so the user's Gateway, routes and pools stay Pending/Unknown (which the operator
// writes at once only with --first-status-wait=0).
func build(snap *translate.Snapshot) (*Expected, error) {
	first := translate.All(snap)
	x := newIndexed(snap)
	for _, obj := range first.Objects {
		generated := obj.DeepCopyObject().(client.Object)
		if err := setDesiredHash(generated); err != nil {
			return nil, err
		}
		x.putGenerated(generated)
	}
	e := &Expected{result: translate.All(snap), snap: snap,
		objects: map[Ref]client.Object{}, applied: map[Ref]map[string]any{}, users: map[Ref]client.Object{}}
	for _, obj := range e.result.Objects {
		r, err := RefOf(obj)
		if err != nil {
			return nil, err
		}
		want, err := applyMap(obj)
		if err != nil {
			return nil, err
		}
		e.objects[r], e.applied[r] = obj, want
		e.Items = append(e.Items, Item{Ref: r})
	}
	e.addUsers(snap)
	if len(e.result.PolicyAncestors) > 0 {
		// The inputs hold no policy of the user's; were they to, their statuses would need
		// checking and counting like the others'.
		return nil, fmt.Errorf("the translation has statuses of %d user policies, which the harness does not check", len(e.result.PolicyAncestors))
	}
	return e, nil
}

// addUsers records the user's objects that have an expected status, and their items.
func (e *Expected) addUsers(snap *translate.Snapshot) {
	add := func(kind string, obj client.Object, ok bool) {
		if ok {
			r := Ref{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
			e.users[r] = obj
			e.Items = append(e.Items, Item{Ref: r, Status: true})
		}
	}
	for i := range snap.GatewayClasses {
		c := &snap.GatewayClasses[i]
		_, ok := e.result.GatewayClassStatuses[c.Name]
		add("GatewayClass", c, ok)
	}
	for i := range snap.Gateways {
		g := &snap.Gateways[i]
		_, ok := e.result.GatewayStatuses[client.ObjectKeyFromObject(g)]
		add("Gateway", g, ok)
	}
	for i := range snap.HTTPRoutes {
		r := &snap.HTTPRoutes[i]
		_, ok := e.result.RouteParents[client.ObjectKeyFromObject(r)]
		add("HTTPRoute", r, ok)
	}
	for i := range snap.Pools {
		p := &snap.Pools[i]
		_, ok := e.result.PoolParents[client.ObjectKeyFromObject(p)]
		add(translate.InferencePoolKind, p, ok)
	}
}

// Expects tells whether e expects the generated object r.
func (e *Expected) Expects(r Ref) bool {
	_, ok := e.objects[r]
	return ok
}

// Counts are the numbers of expected generated objects and statuses.
func (e *Expected) Counts() (objects, statuses int) {
	return len(e.objects), len(e.users)
}

// Only is e restricted to items (of e): what a writer must write for them alone, e.g. the items
// ChangedSince a previous expectation.
func (e *Expected) Only(items []Item) *Expected {
	out := *e
	out.Items = items
	return &out
}

// listSnapshot reads every input of a translation from the API server.
func listSnapshot(ctx context.Context, c client.Client) (*translate.Snapshot, error) {
	snap := &translate.Snapshot{DefaultEnvoyGatewayClass: defaultEnvoyGatewayClass, ClusterDomain: translate.DefaultClusterDomain}
	for _, k := range translate.SnapshotKinds {
		l := k.NewList()
		if err := c.List(ctx, l); err != nil {
			return nil, fmt.Errorf("listing %T: %w", l, err)
		}
		for _, o := range k.Items(l) {
			snap.Add(o)
		}
	}
	return snap, nil
}

// defaultEnvoyGatewayClass is the operator's --envoy-gateway-class, at its default.
const defaultEnvoyGatewayClass = "eg"

// setDesiredHash annotates obj with its desired hash, as controllers.Applier writes it.
func setDesiredHash(obj client.Object) error {
	h, err := translate.DesiredHash(obj)
	if err != nil {
		return err
	}
	ann := map[string]string{}
	for k, v := range obj.GetAnnotations() {
		ann[k] = v
	}
	ann[translate.AnnotationDesiredHash] = h
	obj.SetAnnotations(ann)
	return nil
}

// applyPayload is what controllers.Applier sends to apply obj: the translation's content, no
// status or server-set metadata, plus the desired-hash annotation.
func applyPayload(obj client.Object) (*unstructured.Unstructured, error) {
	obj = obj.DeepCopyObject().(client.Object)
	if err := setDesiredHash(obj); err != nil {
		return nil, err
	}
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil {
		return nil, err
	}
	m, err := translate.ApplyMap(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

// applyMap is applyPayload without apiVersion and kind, which typed objects read back lack:
// what a generated object must hold.
func applyMap(obj client.Object) (map[string]any, error) {
	u, err := applyPayload(obj)
	if err != nil {
		return nil, err
	}
	delete(u.Object, "apiVersion")
	delete(u.Object, "kind")
	return u.Object, nil
}

var scheme = controllers.NewScheme()

// RefOf is the ref of a typed object.
func RefOf(obj client.Object) (Ref, error) {
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil {
		return Ref{}, err
	}
	return Ref{Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}, nil
}

// poolIndex is the index of the pool an item belongs to (its route shares the pool's name), or
// -1 for the shared objects (class, Gateway).
func poolIndex(it Item, e *Expected) int {
	name := it.Ref.Name
	if !it.Status {
		if src := e.objects[it.Ref].GetAnnotations()[translate.AnnotationSource]; src != "" {
			name = src[strings.LastIndex(src, "/")+1:]
		}
	}
	var i int
	if _, err := fmt.Sscanf(name, "pool-%05d", &i); err != nil {
		return -1
	}
	return i
}

// toMap converts a typed object to its unstructured form.
func toMap(obj runtime.Object) (map[string]any, error) {
	return runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
}

// want is what item it must be in e: the applied content of an object, the translated status
// of a user's object; nil when e does not expect it.
func (e *Expected) want(it Item) any {
	if !it.Status {
		if m, ok := e.applied[it.Ref]; ok {
			return m
		}
		return nil
	}
	if _, ok := e.users[it.Ref]; !ok {
		return nil
	}
	res := e.result
	switch it.Ref.Kind {
	case "GatewayClass":
		return res.GatewayClassStatuses[it.Ref.Name]
	case "Gateway":
		return res.GatewayStatuses[it.Ref.nn()]
	case "HTTPRoute":
		return res.RouteParents[it.Ref.nn()]
	case translate.InferencePoolKind:
		return res.PoolParents[it.Ref.nn()]
	}
	return nil
}

// ChangedSince lists the items of e that prev did not expect, or expected otherwise: what the
// operator must write to go from prev to e.
func (e *Expected) ChangedSince(prev *Expected) []Item {
	var out []Item
	for _, it := range e.Items {
		if !equality.Semantic.DeepEqual(e.want(it), prev.want(it)) {
			out = append(out, it)
		}
	}
	return out
}

// Shards splits e's items among k writers by pool (pool i's items to writer i mod k, the
// shared ones to the first), each share in e's order: what k raw writers write side by side.
func (e *Expected) Shards(k int) []*Expected {
	items := make([][]Item, k)
	for _, it := range e.Items {
		s := max(poolIndex(it, e), 0) % k
		items[s] = append(items[s], it)
	}
	out := make([]*Expected, k)
	for i := range items {
		out[i] = e.Only(items[i])
	}
	return out
}
