package inspect

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// Ref names an object.
type Ref struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// refOf names obj (its kind from the scheme: typed objects carry no TypeMeta).
func refOf(obj client.Object) Ref {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	if gvk, err := apiutil.GVKForObject(obj, Scheme); err == nil {
		kind = gvk.Kind
	}
	return Ref{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// find returns the cluster's object named r, or nil.
func (c *Cluster) find(r Ref) client.Object {
	objs := c.Snap.ObjectsOf(r.Kind)
	for _, o := range c.Extra {
		if refOf(o).Kind == r.Kind {
			objs = append(objs, o)
		}
	}
	for _, o := range objs {
		if o.GetNamespace() == r.Namespace && o.GetName() == r.Name {
			return o
		}
	}
	return nil
}

// ours tells whether obj is one the operator generated.
func ours(obj client.Object) bool {
	return obj.GetLabels()[translate.LabelManagedBy] == translate.ManagedByValue
}

// Verdict is what the status of an object says, condition by condition: the conditions of its
// own status, of its route parents and of its policy ancestors, False winning over True.
type Verdict struct {
	// Conditions maps a condition type to "True" or "False"; Reasons to the reason with it.
	Conditions map[string]string `json:"conditions,omitempty"`
	Reasons    map[string]string `json:"reasons,omitempty"`
	// Problems are the False conditions, "Type=False (Reason): message".
	Problems []string `json:"problems,omitempty"`
}

// OK tells whether no condition that matters is False.
func (v Verdict) OK() bool { return len(v.Problems) == 0 }

func (v Verdict) String() string {
	if len(v.Conditions) == 0 {
		return "no verdict yet"
	}
	var parts []string
	for _, t := range sortedKeys(v.Conditions) {
		parts = append(parts, fmt.Sprintf("%s=%s (%s)", t, v.Conditions[t], v.Reasons[t]))
	}
	return strings.Join(parts, ", ")
}

// judged are the condition types whose False means something does not work. (Conflicted and
// Overlapping are True when wrong; they are reported as problems too.)
var judged = map[string]bool{"Accepted": true, "Programmed": true, "ResolvedRefs": true}

// verdictOf reads obj's status conditions, those of its parents (routes, pools) and of its
// ancestors (policies). controller, when set, keeps only the entries that controller wrote.
func verdictOf(obj client.Object, controller string) Verdict {
	v := Verdict{Conditions: map[string]string{}}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return v
	}
	conds, _, _ := unstructured.NestedSlice(u, "status", "conditions")
	v.add(conds)
	for _, list := range []string{"parents", "ancestors"} {
		entries, _, _ := unstructured.NestedSlice(u, "status", list)
		for _, e := range entries {
			m, _ := e.(map[string]any)
			if cn, _ := m["controllerName"].(string); controller != "" && cn != controller {
				continue
			}
			c, _ := m["conditions"].([]any)
			v.add(c)
		}
	}
	sort.Strings(v.Problems)
	return v
}

// conditionsVerdict is the verdict of one status entry's conditions.
func conditionsVerdict(conds []metav1.Condition) Verdict {
	v := Verdict{Conditions: map[string]string{}}
	list := make([]any, len(conds))
	for i, c := range conds {
		list[i] = map[string]any{"type": c.Type, "status": string(c.Status), "reason": c.Reason, "message": c.Message}
	}
	v.add(list)
	return v
}

// add folds conditions (as unstructured maps) into v.
func (v *Verdict) add(conds []any) {
	for _, c := range conds {
		m, _ := c.(map[string]any)
		t, _ := m["type"].(string)
		s, _ := m["status"].(string)
		bad := (judged[t] && s == "False") || ((t == "Conflicted" || t == "Overlapping") && s == "True")
		if !judged[t] && !bad {
			continue
		}
		if v.Conditions[t] != "False" || bad {
			if v.Reasons == nil {
				v.Reasons = map[string]string{}
			}
			v.Conditions[t] = s
			v.Reasons[t], _ = m["reason"].(string)
		}
		if bad {
			v.Problems = append(v.Problems, fmt.Sprintf("%s=%s (%v): %v", t, s, m["reason"], m["message"]))
		}
	}
}

// selectedPods are the pool's pods: its namespace, its selector, not being deleted.
func (c *Cluster) selectedPods(pool *giev1.InferencePool) []corev1.Pod {
	set := labels.Set{}
	for k, v := range pool.Spec.Selector.MatchLabels {
		set[string(k)] = string(v)
	}
	sel := labels.SelectorFromSet(set)
	var out []corev1.Pod
	for _, p := range c.Pods {
		if p.Namespace == pool.Namespace && p.DeletionTimestamp == nil && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// declaresPort tells whether one of the pod's containers declares port (a pod need not declare
// its ports: only a pod that declares some and not this one surely lacks it).
func declaresPort(p *corev1.Pod, port int32) (declared, any bool) {
	for _, ctr := range p.Spec.Containers {
		for _, cp := range ctr.Ports {
			any = true
			if cp.ContainerPort == port {
				declared = true
			}
		}
	}
	return declared, any
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
