package inspect

import (
	"bytes"
	"strings"
	"testing"
)

// Colour marks broken lines and findings only when asked (the plugin asks on a terminal); the
// structured formats never carry it.
func TestOutputColour(t *testing.T) {
	tree := &Node{Text: "InferencePool ns/pool", Children: []*Node{{Text: "Pods: 0/0 ready", Broken: true}, {Text: "Routes"}}}
	fs := []Finding{PoolSelectsNoPod.on(Ref{Kind: "InferencePool", Namespace: "ns", Name: "pool"}, "nothing"),
		SeveralPoolsInRule.on(Ref{Kind: "HTTPRoute", Namespace: "ns", Name: "r"}, "two")}
	render := func(o Output) string {
		var b bytes.Buffer
		if err := o.Tree(&b, tree); err != nil {
			t.Fatal(err)
		}
		if err := o.Findings(&b, fs); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	plain, coloured := render(Output{}), render(Output{Color: true})
	if strings.Contains(plain, "\x1b[") {
		t.Errorf("plain text has escape codes:\n%q", plain)
	}
	if !strings.Contains(coloured, red+"✗ Pods: 0/0 ready"+reset) || !strings.Contains(coloured, red+"IPO101") || !strings.Contains(coloured, yellow+"IPO123") {
		t.Errorf("coloured text does not mark the broken line red, the error red and the warning yellow:\n%q", coloured)
	}
	for _, f := range []string{"json", "yaml"} {
		if s := render(Output{Format: f, Color: true}); strings.Contains(s, "\x1b[") {
			t.Errorf("%s output has escape codes", f)
		}
	}
	if !strings.Contains(plain, "├─ ✗ Pods: 0/0 ready\n└─ Routes\n") {
		t.Errorf("the tree's branches are not drawn as such:\n%s", plain)
	}
}
