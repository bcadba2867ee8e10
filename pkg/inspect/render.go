package inspect

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// Output is how the plugin prints: text (a tree, a table), json or yaml.
type Output struct {
	Format string // "", "text", "json" or "yaml"
	// Color marks broken lines and errors red, warnings yellow (only on a terminal).
	Color bool
}

const (
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	reset  = "\x1b[0m"
)

func (o Output) structured(w io.Writer, v any) (bool, error) {
	switch o.Format {
	case "", "text":
		return false, nil
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return true, err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return true, err
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return true, err
		}
		_, err = w.Write(b)
		return true, err
	}
	return true, fmt.Errorf("unknown output format %q: text, json or yaml", o.Format)
}

// Tree prints a describe tree.
func (o Output) Tree(w io.Writer, root *Node) error {
	if done, err := o.structured(w, root); done {
		return err
	}
	var b strings.Builder
	o.line(&b, root, "", "")
	_, err := io.WriteString(w, b.String())
	return err
}

func (o Output) line(b *strings.Builder, n *Node, first, rest string) {
	text := n.Text
	if n.Broken {
		text = "✗ " + text
		if o.Color {
			text = red + text + reset
		}
	}
	b.WriteString(first + text + "\n")
	for i, c := range n.Children {
		if i == len(n.Children)-1 {
			o.line(b, c, rest+"└─ ", rest+"   ")
		} else {
			o.line(b, c, rest+"├─ ", rest+"│  ")
		}
	}
}

// Findings prints analyze's findings.
func (o Output) Findings(w io.Writer, fs []Finding) error {
	if fs == nil {
		fs = []Finding{}
	}
	if done, err := o.structured(w, fs); done {
		return err
	}
	if len(fs) == 0 {
		_, err := fmt.Fprintln(w, "No problems found.")
		return err
	}
	var b strings.Builder
	for _, f := range fs {
		head := fmt.Sprintf("%s %-7s %s %s", f.Code, f.Severity, f.Name, f.Object)
		if o.Color {
			c := yellow
			if f.Severity == Error {
				c = red
			}
			head = c + head + reset
		}
		fmt.Fprintf(&b, "%s\n    %s\n    fix: %s\n", head, f.Message, f.Fix)
	}
	errors, warnings := 0, 0
	for _, f := range fs {
		if f.Severity == Error {
			errors++
		} else {
			warnings++
		}
	}
	fmt.Fprintf(&b, "%d errors, %d warnings.\n", errors, warnings)
	_, err := io.WriteString(w, b.String())
	return err
}
