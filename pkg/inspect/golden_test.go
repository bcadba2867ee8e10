package inspect

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

var update = flag.Bool("update", false, "rewrite testdata/out from the current code")

// TestGolden reads each testdata/in/<case>.yaml cluster and compares with
// testdata/out/<case>.txt: analyze on all namespaces, as text and as JSON, then describe of
// every user's Gateway, HTTPRoute and InferencePool in it.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/in/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs (%v)", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			got := render(t, c)
			out := filepath.Join("testdata", "out", name+".txt")
			if *update {
				if err := os.WriteFile(out, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("%v (go test ./pkg/inspect -run TestGolden -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the output:\n%s", out, got)
			}
		})
	}
}

func render(t *testing.T, c *Cluster) []byte {
	var b bytes.Buffer
	text, js := Output{}, Output{Format: "json"}
	fs := Analyze(c, "")
	b.WriteString("$ kubectl inferencepool analyze -A\n")
	if err := text.Findings(&b, fs); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n$ kubectl inferencepool analyze -A -o json\n")
	if err := js.Findings(&b, fs); err != nil {
		t.Fatal(err)
	}
	describe := func(kind, ns, name string) {
		b.WriteString("\n$ kubectl inferencepool describe " + kind + " " + name + " -n " + ns + "\n")
		tree, err := Describe(c, kind, types.NamespacedName{Namespace: ns, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := text.Tree(&b, tree); err != nil {
			t.Fatal(err)
		}
		if tree.AnyBroken() {
			b.WriteString("(exit 1)\n")
		}
	}
	for _, gw := range c.Snap.Gateways {
		if !ours(&gw) {
			describe("gateway", gw.Namespace, gw.Name)
		}
	}
	for _, r := range c.Snap.HTTPRoutes {
		if !ours(&r) {
			describe("route", r.Namespace, r.Name)
		}
	}
	for _, p := range c.Snap.Pools {
		describe("pool", p.Namespace, p.Name)
	}
	return b.Bytes()
}
