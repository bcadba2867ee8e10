package translate_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

var update = flag.Bool("update", false, "rewrite testdata/out from the current translation")

// currentAnnotation marks a generated object in an input file as written from the current
// desired state: the test stamps it with the matching desired hash, so its status counts as
// Envoy Gateway's verdict on what the operator wants now.
const currentAnnotation = "test.inferencepool-operator.io/current"

// TestGolden translates each testdata/in/*.yaml snapshot and compares the generated objects,
// statuses, fail-open states, pools without ready pods and events with testdata/out/*.yaml.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/in/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".yaml")
		t.Run(name, func(t *testing.T) {
			snap := loadSnapshot(t, in)
			got := render(t, translateStamped(t, snap))
			out := filepath.Join("testdata", "out", name+".yaml")
			if *update {
				if err := os.WriteFile(out, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("%v (run make golden to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("translation of %s differs from %s (run make golden and review the diff):\n%s", in, out, diff(string(want), string(got)))
			}
		})
	}
}

// translateStamped translates once to learn the desired objects, stamps the input's generated
// objects marked current with their desired hash, and translates again.
func translateStamped(t *testing.T, snap *translate.Snapshot) translate.Result {
	if err := stampCurrent(snap); err != nil {
		t.Fatal(err)
	}
	return translate.All(snap)
}

// stampCurrent stamps the generated objects of snap marked current with their desired hash (on a
// fresh copy of snap: a Snapshot must not change once translated).
func stampCurrent(snap *translate.Snapshot) error {
	first := translate.All(copySnapshot(snap))
	hashes := map[string]string{}
	for _, obj := range first.Objects {
		h, err := translate.DesiredHash(obj)
		if err != nil {
			return err
		}
		hashes[kindKey(obj)] = h
	}
	var problem error
	stamp := func(obj client.Object, kind string) {
		if obj.GetAnnotations()[currentAnnotation] != "true" {
			return
		}
		h, ok := hashes[kind+"/"+obj.GetNamespace()+"/"+obj.GetName()]
		if !ok {
			problem = fmt.Errorf("%s %s/%s is marked current but the translation does not generate it", kind, obj.GetNamespace(), obj.GetName())
			return
		}
		ann := obj.GetAnnotations()
		delete(ann, currentAnnotation)
		ann[translate.AnnotationDesiredHash] = h
		obj.SetAnnotations(ann)
	}
	for _, k := range translate.SnapshotKinds {
		for _, obj := range snap.ObjectsOf(k.Kind) {
			stamp(obj, k.Kind)
		}
	}
	return problem
}

func kindKey(obj client.Object) string {
	return obj.GetObjectKind().GroupVersionKind().Kind + "/" + obj.GetNamespace() + "/" + obj.GetName()
}

// loadSnapshot decodes a multi-document YAML file into a snapshot. A document of kind
// SnapshotSettings (not a Kubernetes kind) sets the snapshot's own fields.
func loadSnapshot(t *testing.T, path string) *translate.Snapshot {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := decodeSnapshot(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return snap
}

// decodeSnapshot is loadSnapshot on the file's bytes (the YAML fuzz target decodes mutated ones).
func decodeSnapshot(data []byte) (*translate.Snapshot, error) {
	decoder := serializer.NewCodecFactory(controllers.NewScheme()).UniversalDeserializer()
	snap := &translate.Snapshot{DefaultEnvoyGatewayClass: "eg"}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(doc)) == 0 || string(bytes.TrimSpace(doc)) == "---" {
			continue
		}
		var meta struct {
			Kind                     string                 `json:"kind"`
			DefaultEnvoyGatewayClass string                 `json:"defaultEnvoyGatewayClass"`
			ClusterDomain            string                 `json:"clusterDomain"`
			MissingAPIs              []translate.MissingAPI `json:"missingAPIs"`
			BackendAPIDisabled       map[string]string      `json:"backendAPIDisabled"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, err
		}
		if meta.Kind == "SnapshotSettings" {
			if meta.DefaultEnvoyGatewayClass != "" {
				snap.DefaultEnvoyGatewayClass = meta.DefaultEnvoyGatewayClass
			}
			snap.ClusterDomain = meta.ClusterDomain
			snap.MissingAPIs = meta.MissingAPIs
			snap.BackendAPIDisabled = meta.BackendAPIDisabled
			continue
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%v\n%s", err, doc)
		}
		o, ok := obj.(client.Object)
		if !ok || !snap.Add(o) {
			return nil, fmt.Errorf("unexpected kind %T", obj)
		}
	}
	return snap, nil
}

// render writes a result as YAML: generated objects sorted by kind, namespace and name, then
// the statuses of the user's objects, fail-open states and events.
func render(t *testing.T, res translate.Result) []byte {
	var buf bytes.Buffer
	objs := append([]client.Object(nil), res.Objects...)
	sort.SliceStable(objs, func(i, j int) bool { return kindKey(objs[i]) < kindKey(objs[j]) })
	for _, obj := range objs {
		m, err := translate.ApplyMap(obj)
		if err != nil {
			t.Fatal(err)
		}
		writeDoc(t, &buf, m)
	}
	for _, name := range sortedKeys(res.GatewayClassStatuses) {
		writeDoc(t, &buf, map[string]any{"kind": "GatewayClass", "name": name, "status": map[string]any{"conditions": []any{res.GatewayClassStatuses[name]}}})
	}
	for _, nn := range sortedNN(res.GatewayStatuses) {
		writeDoc(t, &buf, map[string]any{"kind": "Gateway", "namespace": nn.Namespace, "name": nn.Name, "status": res.GatewayStatuses[nn]})
	}
	for _, nn := range sortedNN(res.RouteParents) {
		writeDoc(t, &buf, map[string]any{"kind": "HTTPRoute", "namespace": nn.Namespace, "name": nn.Name, "status": map[string]any{"parents": res.RouteParents[nn]}})
	}
	for _, key := range sortedKeys(res.CopiedRouteParents) {
		kind, nn, _ := strings.Cut(key, "/")
		ns, name, _ := strings.Cut(nn, "/")
		writeDoc(t, &buf, map[string]any{"kind": kind, "namespace": ns, "name": name, "status": map[string]any{"parents": res.CopiedRouteParents[key]}})
	}
	for _, nn := range sortedNN(res.PoolParents) {
		writeDoc(t, &buf, map[string]any{"kind": "InferencePool", "namespace": nn.Namespace, "name": nn.Name, "status": map[string]any{"parents": res.PoolParents[nn]}})
	}
	for _, key := range sortedKeys(res.PolicyAncestors) {
		kind, nsName, _ := strings.Cut(key, "/")
		ns, name, _ := strings.Cut(nsName, "/")
		writeDoc(t, &buf, map[string]any{"kind": kind, "namespace": ns, "name": name, "status": map[string]any{"ancestors": res.PolicyAncestors[key]}})
	}
	if len(res.FailOpenActive) > 0 {
		var pools []string
		for _, nn := range sortedNN(res.FailOpenActive) {
			pools = append(pools, nn.String())
		}
		writeDoc(t, &buf, map[string]any{"kind": "FailOpenActive", "pools": pools})
	}
	if len(res.NoReadyPods) > 0 {
		var pools []string
		for _, nn := range sortedNN(res.NoReadyPods) {
			pools = append(pools, nn.String())
		}
		writeDoc(t, &buf, map[string]any{"kind": "NoReadyPods", "pools": pools})
	}
	if len(res.Events) > 0 {
		writeDoc(t, &buf, map[string]any{"kind": "Events", "events": res.Events})
	}
	return buf.Bytes()
}

func writeDoc(t *testing.T, buf *bytes.Buffer, v any) {
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(j, &generic); err != nil {
		t.Fatal(err)
	}
	b, err := yaml.Marshal(dropNullTimestamps(generic))
	if err != nil {
		t.Fatal(err)
	}
	buf.WriteString("---\n")
	buf.Write(b)
}

// dropNullTimestamps removes the zero lastTransitionTime of conditions: the translation leaves
// timestamps to the status writer.
func dropNullTimestamps(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "lastTransitionTime" && e == nil {
				delete(x, k)
				continue
			}
			x[k] = dropNullTimestamps(e)
		}
	case []any:
		for i := range x {
			x[i] = dropNullTimestamps(x[i])
		}
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedNN[V any](m map[types.NamespacedName]V) []types.NamespacedName {
	out := make([]types.NamespacedName, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// diff shows the first differing lines of two texts.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, wl, gl)
		}
	}
	return "(no line differs)"
}
