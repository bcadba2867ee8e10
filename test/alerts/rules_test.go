package alerts

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// job is the job the ServiceMonitors (config/prometheus/monitor.yaml and the chart's) give the
// operator's metrics, through their jobLabel; test/helm checks that side.
const job = "inferencepool-operator"

// rule is one alerting rule of a PrometheusRule.
type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// rules reads the alerting rules of config/prometheus/prometheus_rule.yaml.
func rules(t *testing.T) []rule {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(envtest.RepoRoot(), "config", "prometheus", "prometheus_rule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []rule `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(b, &doc); err != nil {
		t.Fatalf("config/prometheus/prometheus_rule.yaml: %v", err)
	}
	var out []rule
	for _, g := range doc.Spec.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatal("config/prometheus/prometheus_rule.yaml has no rules")
	}
	return out
}

// selectors returns the vector selectors of a PromQL expression: each metric it reads, with the
// label matchers it reads it with (the metric name matcher left out).
func selectors(expr string) (map[string][][]*labels.Matcher, error) {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	out := map[string][][]*labels.Matcher{}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			var ms []*labels.Matcher
			for _, m := range vs.LabelMatchers {
				if m.Name != labels.MetricName {
					ms = append(ms, m)
				}
			}
			out[vs.Name] = append(out[vs.Name], ms)
		}
		return nil
	})
	return out, nil
}

func metricNames(sel map[string][][]*labels.Matcher) []string {
	var out []string
	for name := range sel {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestSelectors checks the extraction the other tests rely on: metric names, not functions,
// keywords, label names or strings; every selector of a metric, with its matchers.
func TestSelectors(t *testing.T) {
	sel, err := selectors(`sum by (controller) (rate(foo_total{job="j",name=~"a|b"}[5m])) > 0
		and on (controller) deriv(bar[15m]) > 0 or absent(foo_total{job="other"}) or vector(0)`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(metricNames(sel), ","); got != "bar,foo_total" {
		t.Errorf("metric names %s, want bar,foo_total", got)
	}
	if len(sel["foo_total"]) != 2 || len(sel["foo_total"][0]) != 2 || sel["foo_total"][0][1].String() != `name=~"a|b"` || len(sel["bar"][0]) != 0 {
		t.Errorf("selectors %v", sel)
	}
	if _, err := selectors(`sum(rate(foo[5m])`); err == nil {
		t.Error("an unbalanced expression parsed")
	}
}

// requiredAlerts are the conditions the operator's users asked to be alerted on (project issue 12).
var requiredAlerts = []string{
	"InferencePoolFailingOpen",              // a pool failing open for more than N minutes
	"InferencePoolOperatorReconcileErrors",  // reconcile errors sustained
	"InferencePoolOperatorNoLeader",         // the operator without a leader
	"InferencePoolOperatorWorkQueueGrowing", // work queue depth growing
}

var heading = regexp.MustCompile(`(?m)^#{2,4} (\S+)\s*$`)

// TestAlertRulesAreComplete: each rule parses, waits a valid duration before firing, has a
// severity, a summary and a description, and a runbook_url pointing at its own section of
// docs/operations.md; every metric it reads is selected on the operator's job.
func TestAlertRulesAreComplete(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(envtest.RepoRoot(), "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(string(doc), -1) {
		sections[m[1]] = true
	}
	seen := map[string]bool{}
	for _, r := range rules(t) {
		if r.Alert == "" || seen[r.Alert] {
			t.Errorf("rule %+v: no alert name, or one used twice", r)
			continue
		}
		seen[r.Alert] = true
		sel, err := selectors(r.Expr)
		if err != nil {
			t.Errorf("%s: expr does not parse: %v", r.Alert, err)
			continue
		}
		for name, sets := range sel {
			for _, ms := range sets {
				onJob := false
				for _, m := range ms {
					onJob = onJob || (m.Name == "job" && m.Type == labels.MatchEqual && m.Value == job)
				}
				if !onJob {
					t.Errorf("%s: %s is not selected on job=%q: it would match other operators' metrics", r.Alert, name, job)
				}
			}
		}
		if d, err := model.ParseDuration(r.For); err != nil || d <= 0 {
			t.Errorf("%s: for %q is not a positive duration", r.Alert, r.For)
		}
		if s := r.Labels["severity"]; s != "warning" && s != "critical" {
			t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
		}
		for _, a := range []string{"summary", "description"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: no %s", r.Alert, a)
			}
		}
		wantURL := "https://github.com/inferencepool-operator/inferencepool-operator/blob/main/docs/operations.md#" + strings.ToLower(r.Alert)
		if r.Annotations["runbook_url"] != wantURL {
			t.Errorf("%s: runbook_url %q, want %s", r.Alert, r.Annotations["runbook_url"], wantURL)
		}
		if !sections[r.Alert] {
			t.Errorf("%s: docs/operations.md has no section headed %q (its runbook)", r.Alert, r.Alert)
		}
	}
	for _, a := range requiredAlerts {
		if !seen[a] {
			t.Errorf("no alert %s", a)
		}
	}
}
