//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"text/template"
	"time"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/kit"
)

// pollInterval and waitTimeout bound every wait: the fake cluster reacts in well under a
// second, Envoy Gateway within a few.
const (
	pollInterval = 200 * time.Millisecond
	waitTimeout  = 60 * time.Second
)

func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(gwapiv1.Install(s))
	utilruntime.Must(egv1a1.AddToScheme(s))
	return s
}

func newClient(t *testing.T) client.Client {
	t.Helper()
	c, err := client.New(env.cfg, client.Options{Scheme: scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newNamespace creates a namespace for the test and deletes it afterwards.
func newNamespace(t *testing.T, c client.Client) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: strings.ToLower(t.Name()) + "-"}}
	ns.GenerateName = strings.NewReplacer("/", "-", "_", "-").Replace(ns.GenerateName)
	if len(ns.GenerateName) > 40 {
		ns.GenerateName = ns.GenerateName[:39] + "-"
	}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = c.Delete(context.Background(), ns)
		}
	})
	return ns.Name
}

// applyTemplate renders a YAML template with data and server-side applies the objects.
func applyTemplate(t *testing.T, tmpl string, data any) {
	t.Helper()
	var b bytes.Buffer
	if err := template.Must(template.New("").Option("missingkey=error").Parse(tmpl)).Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	objs, err := cluster.DecodeYAML(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.Apply(context.Background(), env.cfg, objs...); err != nil {
		t.Fatal(err)
	}
}

// eventually polls check until it returns nil, failing the test with the last error after
// waitTimeout. It also fails fast when a component of the harness has died.
func eventually(t *testing.T, what string, check func(ctx context.Context) error) {
	t.Helper()
	kit.Eventually(t, kit.Options{Timeout: waitTimeout, Interval: pollInterval, What: what, Abort: harnessHealthy}, check)
}

func harnessHealthy() error {
	if err := env.cluster.Healthy(); err != nil {
		return err
	}
	if err := env.eg.Healthy(); err != nil {
		return err
	}
	return env.op.Healthy()
}

// conditionSets returns the condition lists of an object's status, wherever its kind keeps
// them: status.conditions (Gateway, Backend), status.parents[].conditions (routes) and
// status.ancestors[].conditions (policies), with a label naming each set.
func conditionSets(u *unstructured.Unstructured) (map[string][]metav1.Condition, error) {
	sets := map[string][]metav1.Condition{}
	add := func(label string, raw []any) error {
		var conds []metav1.Condition
		for _, r := range raw {
			m, ok := r.(map[string]any)
			if !ok {
				continue
			}
			var c metav1.Condition
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &c); err != nil {
				return err
			}
			conds = append(conds, c)
		}
		sets[label] = conds
		return nil
	}
	if raw, ok, _ := unstructured.NestedSlice(u.Object, "status", "conditions"); ok {
		if err := add("status", raw); err != nil {
			return nil, err
		}
	}
	for _, list := range []string{"parents", "ancestors"} {
		entries, _, _ := unstructured.NestedSlice(u.Object, "status", list)
		for i, e := range entries {
			m, _ := e.(map[string]any)
			raw, _, _ := unstructured.NestedSlice(m, "conditions")
			ref, _, _ := unstructured.NestedMap(m, list[:len(list)-1]+"Ref")
			if err := add(fmt.Sprintf("%s[%d] %v", list, i, ref["name"]), raw); err != nil {
				return nil, err
			}
		}
	}
	return sets, nil
}

// waitConditions waits until the object (apiVersion/kind namespace/name) has at least one
// condition set and every set has each of the want conditions True, and none of the
// unwanted ones True.
func waitConditions(t *testing.T, c client.Client, apiVersion, kind, namespace, name string, want []string, unwanted ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s %s/%s %v", kind, namespace, name, want), func(ctx context.Context) error {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, u); err != nil {
			return err
		}
		sets, err := conditionSets(u)
		if err != nil {
			return err
		}
		if len(sets) == 0 {
			return fmt.Errorf("no status conditions yet")
		}
		for label, conds := range sets {
			for _, w := range want {
				if !meta.IsStatusConditionTrue(conds, w) {
					return fmt.Errorf("%s: %s not True: %s", label, w, describe(conds))
				}
			}
			for _, u := range unwanted {
				if meta.IsStatusConditionTrue(conds, u) {
					return fmt.Errorf("%s: %s is True: %s", label, u, describe(conds))
				}
			}
		}
		return nil
	})
}

func describe(conds []metav1.Condition) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s=%s/%s (%s)", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(parts, "; ")
}

func labelSelector(s string) (labels.Selector, error) { return labels.Parse(s) }
