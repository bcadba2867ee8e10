package chartgen

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// prometheusTemplate matches the Prometheus template actions in the alerts' annotations
// ({{ $labels.pool }}), which Helm would otherwise try to execute.
var prometheusTemplate = regexp.MustCompile("(?s){{.*?}}")

// topLevelKey matches a line that starts a top-level key of a YAML document.
var topLevelKey = regexp.MustCompile(`^[^\s#-]`)

// addPrometheusRule writes templates/prometheusrule.yaml: config/prometheus/prometheus_rule.yaml's
// spec, as it is written there (comments included), under the chart's metadata, behind
// prometheusRule.enabled. The spec is copied as text rather than re-marshalled so that the chart reads
// like its source, and no line folding can split a Prometheus template action.
func addPrometheusRule(root string, files map[string][]byte) error {
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(ruleSource)))
	if err != nil {
		return err
	}
	rule := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &rule.Object); err != nil {
		return fmt.Errorf("%s: %w", ruleSource, err)
	}
	if gvk := rule.GroupVersionKind(); gvk.Group != "monitoring.coreos.com" || gvk.Kind != "PrometheusRule" {
		return fmt.Errorf("%s holds a %s, want a monitoring.coreos.com PrometheusRule", ruleSource, gvk)
	}
	if err := onlyFields(rule, map[string]interface{}{"spec": nil}); err != nil {
		return fmt.Errorf("%s: %w", ruleSource, err)
	}
	spec, err := specText(string(b))
	if err != nil {
		return fmt.Errorf("%s: %w", ruleSource, err)
	}
	// {{ $labels.pool }} becomes {{`{{ $labels.pool }}`}}: Helm prints the raw string as it is.
	if strings.Contains(spec, "`") {
		return fmt.Errorf("%s: a backquote would break the escaping of Prometheus templates", ruleSource)
	}
	spec = prometheusTemplate.ReplaceAllStringFunc(spec, func(action string) string {
		return "{{`" + action + "`}}"
	})

	var out strings.Builder
	out.WriteString(templateHeader(ruleSource))
	out.WriteString("{{- if .Values.prometheusRule.enabled }}\n")
	fmt.Fprintf(&out, "apiVersion: %s\nkind: %s\n", rule.GetAPIVersion(), rule.GetKind())
	out.WriteString(metadataBlock(rule.GetName(), true, `"labels" .Values.prometheusRule.labels`))
	out.WriteString(spec)
	out.WriteString("{{- end }}\n")
	files[ruleTemplate] = []byte(out.String())
	return nil
}

// specText returns the "spec:" line of a one-document YAML file and everything after it, which must
// be the last top-level key.
func specText(doc string) (string, error) {
	lines := strings.SplitAfter(doc, "\n")
	for i, l := range lines {
		if strings.TrimRight(l, " \n") != "spec:" {
			continue
		}
		for _, rest := range lines[i+1:] {
			if topLevelKey.MatchString(rest) {
				return "", fmt.Errorf("spec must be the last top-level key; found %q after it", strings.TrimSpace(rest))
			}
		}
		text := strings.Join(lines[i:], "")
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		return text, nil
	}
	return "", fmt.Errorf(`no top-level "spec:" line`)
}

// fromUnstructured converts a rendered object into its typed form.
func fromUnstructured(u *unstructured.Unstructured, into interface{}) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into)
}
