package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// generatedKinds are the kinds the operator generates. The demo lists each (in every version
// the operator's scheme knows, preferred first) by the managed-by label, so objects that later
// versions of the operator generate show up without changing the demo. A kind whose list
// fails (not served) is skipped.
var generatedKinds = []schema.GroupKind{
	{Group: "", Kind: "Service"},
	{Group: "gateway.networking.k8s.io", Kind: "Gateway"},
	{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"},
	{Group: "gateway.networking.k8s.io", Kind: "ReferenceGrant"},
	{Group: "gateway.networking.k8s.io", Kind: "BackendTLSPolicy"},
	{Group: "gateway.envoyproxy.io", Kind: "BackendTrafficPolicy"},
	{Group: "gateway.envoyproxy.io", Kind: "EnvoyExtensionPolicy"},
	{Group: "gateway.envoyproxy.io", Kind: "ClientTrafficPolicy"},
	{Group: "gateway.envoyproxy.io", Kind: "Backend"},
}

// statusKinds are the user's kinds whose status the operator writes, in print order.
var statusKinds = map[string]int{"GatewayClass": 0, "Gateway": 1, "HTTPRoute": 2, "InferencePool": 3}

// viewer prints the operator's output and remembers what it printed, to print only changes.
type viewer struct {
	c    client.Client
	user []*unstructured.Unstructured // the applied objects whose status the operator writes
	seen map[string]entry             // entry.key → what was printed last
	// withEnvoyGateway is true when the real Envoy Gateway runs next to the operator.
	withEnvoyGateway bool
}

func newViewer(c client.Client, applied []*unstructured.Unstructured) *viewer {
	v := &viewer{c: c, seen: map[string]entry{}}
	for _, obj := range applied {
		if _, ok := statusKinds[obj.GetKind()]; ok {
			v.user = append(v.user, obj)
		}
	}
	sort.SliceStable(v.user, func(i, j int) bool {
		a, b := v.user[i], v.user[j]
		if statusKinds[a.GetKind()] != statusKinds[b.GetKind()] {
			return statusKinds[a.GetKind()] < statusKinds[b.GetKind()]
		}
		return describe(a) < describe(b)
	})
	return v
}

// entry is one printed block: a generated object, or the status of a user object.
type entry struct {
	key  string // unique and stable, sorts in print order: "1 ..." generated, "2 ..." statuses
	head string
	body string
}

// listGenerated lists every generated object, in generatedKinds order then by namespace/name.
func listGenerated(ctx context.Context, c client.Client) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, gk := range generatedKinds {
		for _, gv := range c.Scheme().PrioritizedVersionsForGroup(gk.Group) {
			gvk := gv.WithKind(gk.Kind)
			if !c.Scheme().Recognizes(gvk) {
				continue
			}
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(gv.WithKind(gk.Kind + "List"))
			if err := c.List(ctx, list, client.MatchingLabels{translate.LabelManagedBy: translate.ManagedByValue}); err != nil {
				continue // not served in this version: try the next
			}
			items := list.Items
			sort.Slice(items, func(i, j int) bool { return describe(&items[i]) < describe(&items[j]) })
			for i := range items {
				items[i].SetGroupVersionKind(gvk)
				out = append(out, &items[i])
			}
			break
		}
	}
	return out
}

// entries renders the current state: generated objects (without managedFields) and the
// statuses of the user's objects.
func (v *viewer) entries(ctx context.Context) ([]entry, error) {
	var out []entry
	for _, obj := range listGenerated(ctx, v.c) {
		obj = obj.DeepCopy()
		unstructured.RemoveNestedField(obj.Object, "metadata", "managedFields")
		body, err := yaml.Marshal(obj.Object)
		if err != nil {
			return nil, err
		}
		out = append(out, entry{
			key:  fmt.Sprintf("1 %02d %s", kindOrder(obj.GroupVersionKind().GroupKind()), describe(obj)),
			head: fmt.Sprintf("%s %s", obj.GetKind(), describe(obj)),
			body: string(body),
		})
	}
	for i, src := range v.user {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(src.GroupVersionKind())
		if err := v.c.Get(ctx, client.ObjectKeyFromObject(src), obj); err != nil {
			out = append(out, entry{key: fmt.Sprintf("2 status %03d", i), head: src.GetKind() + " " + describe(src), body: fmt.Sprintf("# %v\n", err)})
			continue
		}
		status, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "status")
		body, err := yaml.Marshal(map[string]any{"status": status})
		if err != nil {
			return nil, err
		}
		out = append(out, entry{
			key:  fmt.Sprintf("2 status %03d", i),
			head: fmt.Sprintf("%s %s (generation %d)", obj.GetKind(), describe(obj), obj.GetGeneration()),
			body: string(body),
		})
	}
	return out, nil
}

// printAll prints everything once, and remembers it for follow.
func (v *viewer) printAll(ctx context.Context, out io.Writer) error {
	es, err := v.entries(ctx)
	if err != nil {
		return err
	}
	section := ""
	for _, e := range es {
		if s := e.key[:1]; s != section {
			section = s
			if s == "1" {
				fmt.Fprintf(out, "\n=== Generated by the operator (label %s=%s), managedFields omitted ===\n", translate.LabelManagedBy, translate.ManagedByValue)
			} else {
				fmt.Fprintln(out, "\n=== Status of your objects, as the operator reports it ===")
				if !v.withEnvoyGateway {
					fmt.Fprintln(out, "# No Envoy Gateway runs in this demo, so what the operator mirrors from it (Gateway and route")
					fmt.Fprintln(out, "# Accepted/Programmed, hence the pool's Accepted) stays Pending: DEMO_FLAGS=--envoy-gateway runs it.")
				}
			}
		}
		fmt.Fprintf(out, "--- # %s\n%s", e.head, e.body)
		v.seen[e.key] = e
	}
	if !hasGenerated(es) {
		fmt.Fprintln(out, "\n(The operator generated nothing.)")
	}
	return nil
}

// kindOrder is the position of gk in generatedKinds.
func kindOrder(gk schema.GroupKind) int {
	for i, k := range generatedKinds {
		if k == gk {
			return i
		}
	}
	return len(generatedKinds)
}

func sortedEntries(m map[string]entry) []entry {
	out := make([]entry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func hasGenerated(es []entry) bool {
	for _, e := range es {
		if strings.HasPrefix(e.key, "1") {
			return true
		}
	}
	return false
}

// follow prints what changes, every interval, until ctx ends.
func (v *viewer) follow(ctx context.Context, out io.Writer, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		es, err := v.entries(ctx)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintln(out, "reading:", err)
			}
			continue
		}
		now := map[string]entry{}
		stamp := time.Now().Format("15:04:05")
		for _, e := range es {
			now[e.key] = e
			old, ok := v.seen[e.key]
			switch {
			case !ok:
				fmt.Fprintf(out, "--- # %s new: %s\n%s", stamp, e.head, e.body)
			case old.body != e.body:
				fmt.Fprintf(out, "--- # %s changed: %s\n%s", stamp, e.head, e.body)
			}
		}
		for _, old := range sortedEntries(v.seen) {
			if _, ok := now[old.key]; !ok {
				fmt.Fprintf(out, "--- # %s deleted: %s\n", stamp, old.head)
			}
		}
		v.seen = now
	}
}

// waitSettled waits until the operator has accepted the sample GatewayClasses of its
// controller, has generated at least one object, and nothing it writes has changed for two
// seconds.
func waitSettled(ctx context.Context, c client.Client, applied []*unstructured.Unstructured, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var classes []*unstructured.Unstructured
	for _, obj := range applied {
		if ctrlName, _, _ := unstructured.NestedString(obj.Object, "spec", "controllerName"); obj.GetKind() == "GatewayClass" && ctrlName == translate.ControllerName {
			classes = append(classes, obj)
		}
	}
	const stableRounds = 4
	last, stable, problem := "", 0, ""
	for {
		fp, p := fingerprint(ctx, c, applied, classes)
		switch {
		case p != "":
			stable, problem = 0, p
		case fp == last:
			stable++
		default:
			stable, problem = 0, "output still changing"
		}
		last = fp
		if stable >= stableRounds {
			return nil
		}
		select {
		case <-ctx.Done():
			if problem == "" {
				problem = "output still changing"
			}
			return fmt.Errorf("the operator's output did not settle within %v: %s", timeout, problem)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// fingerprint summarises the resourceVersions of the generated objects and of the applied
// objects, or says what is not there yet.
func fingerprint(ctx context.Context, c client.Client, applied, classes []*unstructured.Unstructured) (string, string) {
	for _, class := range classes {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(class.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(class), got); err != nil {
			return "", err.Error()
		}
		if !acceptedObserved(got) {
			return "", fmt.Sprintf("GatewayClass %s has no Accepted condition from the operator yet", got.GetName())
		}
	}
	var b strings.Builder
	gen := listGenerated(ctx, c)
	if len(gen) == 0 {
		return "", "no generated objects yet"
	}
	for _, obj := range gen {
		fmt.Fprintf(&b, "%s %s %s;", obj.GetKind(), describe(obj), obj.GetResourceVersion())
	}
	for _, src := range applied {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(src.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(src), got); err == nil {
			fmt.Fprintf(&b, "%s %s %s;", got.GetKind(), describe(got), got.GetResourceVersion())
		}
	}
	return b.String(), ""
}

// acceptedObserved tells whether a GatewayClass has an Accepted condition that is not the API
// server's default (Unknown/Pending) and observes its current generation.
func acceptedObserved(class *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(class.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != "Accepted" || m["status"] == "Unknown" {
			continue
		}
		gen, _ := m["observedGeneration"].(int64)
		return gen == class.GetGeneration()
	}
	return false
}
