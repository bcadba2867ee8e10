package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
)

// classCondition waits until the GatewayClass name has an Accepted condition with status and
// reason observed at its current generation, and returns it.
func classCondition(t *testing.T, name string, status metav1.ConditionStatus, reason string) metav1.Condition {
	t.Helper()
	var got metav1.Condition
	eventually(t, func() error {
		class := &gwapiv1.GatewayClass{}
		if err := get(class, client.ObjectKey{Name: name}); err != nil {
			return err
		}
		c := meta.FindStatusCondition(class.Status.Conditions, string(gwapiv1.GatewayClassConditionStatusAccepted))
		if c == nil {
			return fmt.Errorf("no Accepted condition")
		}
		if c.Status != status || c.Reason != reason || c.ObservedGeneration != class.Generation {
			return fmt.Errorf("Accepted is %s/%s at generation %d (%q), want %s/%s at %d",
				c.Status, c.Reason, c.ObservedGeneration, c.Message, status, reason, class.Generation)
		}
		got = *c
		return nil
	})
	return got
}

func newParameters(name string) *v1alpha1.InferenceGatewayParameters {
	return &v1alpha1.InferenceGatewayParameters{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.InferenceGatewayParametersSpec{EnvoyGatewayClassName: "eg-custom"},
	}
}

func TestGatewayClassWithoutParametersIsAccepted(t *testing.T) {
	name := uniqueName(newNamespace(t), "class")
	writes.reset()
	mustCreate(t, ourClass(name))
	c := classCondition(t, name, metav1.ConditionTrue, string(gwapiv1.GatewayClassReasonAccepted))
	if c.ObservedGeneration != 1 {
		t.Errorf("observedGeneration = %d, want 1", c.ObservedGeneration)
	}
	// The write counter saw the status write (the zero-write assertions rely on it).
	// Writes to this class only: inNamespace("") would take every cluster-scoped write, such as
	// an earlier test's class being cleaned up meanwhile.
	got := writes.matching(func(w write) bool { return w.Kind == "GatewayClass" && w.Name == name })
	if len(got) != 1 || got[0].Kind != "GatewayClass" || got[0].Subresource != "status" {
		t.Errorf("writes for the class = %v, want one GatewayClass status write", got)
	}
}

func TestGatewayClassWithValidParametersIsAccepted(t *testing.T) {
	ns := newNamespace(t)
	params := uniqueName(ns, "params")
	mustCreate(t, newParameters(params))
	class := ourClass(uniqueName(ns, "class"))
	class.Spec.ParametersRef = parametersRef(params)
	mustCreate(t, class)
	c := classCondition(t, class.Name, metav1.ConditionTrue, string(gwapiv1.GatewayClassReasonAccepted))
	if !strings.Contains(c.Message, params) {
		t.Errorf("message %q does not name the parameters %q", c.Message, params)
	}
}

// A class whose parameters do not exist is InvalidParameters, and becomes Accepted when they
// are created: the parameters watch finds the class through its index.
func TestGatewayClassWithMissingParameters(t *testing.T) {
	ns := newNamespace(t)
	params := uniqueName(ns, "params")
	class := ourClass(uniqueName(ns, "class"))
	class.Spec.ParametersRef = parametersRef(params)
	mustCreate(t, class)
	c := classCondition(t, class.Name, metav1.ConditionFalse, string(gwapiv1.GatewayClassReasonInvalidParameters))
	if !strings.Contains(c.Message, "not found") {
		t.Errorf("message %q does not say the parameters are missing", c.Message)
	}

	mustCreate(t, newParameters(params))
	classCondition(t, class.Name, metav1.ConditionTrue, string(gwapiv1.GatewayClassReasonAccepted))

	// And back: deleting the parameters makes the class invalid again.
	mustDelete(t, &v1alpha1.InferenceGatewayParameters{ObjectMeta: metav1.ObjectMeta{Name: params}})
	classCondition(t, class.Name, metav1.ConditionFalse, string(gwapiv1.GatewayClassReasonInvalidParameters))
}

func TestGatewayClassWithParametersOfWrongKind(t *testing.T) {
	ns := newNamespace(t)
	// An object of that name exists, but it is not our kind: the class must not be accepted.
	mustCreate(t, newParameters(uniqueName(ns, "cm")))
	class := ourClass(uniqueName(ns, "class"))
	class.Spec.ParametersRef = &gwapiv1.ParametersReference{Group: "", Kind: "ConfigMap", Name: uniqueName(ns, "cm"), Namespace: ptr.To(gwapiv1.Namespace(ns))}
	mustCreate(t, class)
	c := classCondition(t, class.Name, metav1.ConditionFalse, string(gwapiv1.GatewayClassReasonInvalidParameters))
	if !strings.Contains(c.Message, "ConfigMap") {
		t.Errorf("message %q does not name the wrong kind", c.Message)
	}
}

func TestGatewayClassWithNamespacedParametersRef(t *testing.T) {
	ns := newNamespace(t)
	params := uniqueName(ns, "params")
	mustCreate(t, newParameters(params))
	class := ourClass(uniqueName(ns, "class"))
	class.Spec.ParametersRef = parametersRef(params)
	class.Spec.ParametersRef.Namespace = ptr.To(gwapiv1.Namespace(ns))
	mustCreate(t, class)
	c := classCondition(t, class.Name, metav1.ConditionFalse, string(gwapiv1.GatewayClassReasonInvalidParameters))
	if !strings.Contains(c.Message, "cluster-scoped") {
		t.Errorf("message %q does not say the parameters are cluster-scoped", c.Message)
	}
}

// observedGeneration follows spec changes, and the condition follows a parametersRef edit.
func TestGatewayClassObservedGenerationFollowsSpec(t *testing.T) {
	ns := newNamespace(t)
	params := uniqueName(ns, "params")
	mustCreate(t, newParameters(params))
	class := ourClass(uniqueName(ns, "class"))
	mustCreate(t, class)
	classCondition(t, class.Name, metav1.ConditionTrue, string(gwapiv1.GatewayClassReasonAccepted))

	mustUpdate(t, class, func(c *gwapiv1.GatewayClass) { c.Spec.ParametersRef = parametersRef(uniqueName(ns, "missing")) })
	c := classCondition(t, class.Name, metav1.ConditionFalse, string(gwapiv1.GatewayClassReasonInvalidParameters))
	if c.ObservedGeneration != 2 {
		t.Errorf("observedGeneration = %d, want 2", c.ObservedGeneration)
	}
	mustUpdate(t, class, func(c *gwapiv1.GatewayClass) { c.Spec.ParametersRef = parametersRef(params) })
	c = classCondition(t, class.Name, metav1.ConditionTrue, string(gwapiv1.GatewayClassReasonAccepted))
	if c.ObservedGeneration != 3 {
		t.Errorf("observedGeneration = %d, want 3", c.ObservedGeneration)
	}
}

// A reconcile that finds the same verdict writes nothing, and keeps lastTransitionTime.
func TestGatewayClassNoStatusWriteWhenUnchanged(t *testing.T) {
	ns := newNamespace(t)
	params := uniqueName(ns, "params")
	p := newParameters(params)
	mustCreate(t, p)
	class := ourClass(uniqueName(ns, "class"))
	class.Spec.ParametersRef = parametersRef(params)
	mustCreate(t, class)
	before := classCondition(t, class.Name, metav1.ConditionTrue, string(gwapiv1.GatewayClassReasonAccepted))

	writes.reset()
	reconciles := reconcileTotal(t, "gatewayclass")
	// Touching the parameters (an annotation: same spec) makes the class reconcile.
	mustUpdate(t, p, func(p *v1alpha1.InferenceGatewayParameters) {
		p.Annotations = map[string]string{"touched": "yes"}
	})
	eventually(t, func() error {
		if n := reconcileTotal(t, "gatewayclass"); n <= reconciles {
			return fmt.Errorf("gatewayclass reconciles still %v", n)
		}
		return nil
	})
	if w := writes.matching(inNamespace(ns, class.Name, params)); len(w) != 0 {
		t.Errorf("writes after an unchanged reconcile: %v", w)
	}
	after := classCondition(t, class.Name, metav1.ConditionTrue, string(gwapiv1.GatewayClassReasonAccepted))
	if !after.LastTransitionTime.Equal(&before.LastTransitionTime) {
		t.Errorf("lastTransitionTime moved from %v to %v", before.LastTransitionTime, after.LastTransitionTime)
	}
}

// A GatewayClass of another controller is not ours: its status stays as the API server made it.
func TestGatewayClassOfOtherControllerUntouched(t *testing.T) {
	ns := newNamespace(t)
	other := &gwapiv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: uniqueName(ns, "other")},
		Spec:       gwapiv1.GatewayClassSpec{ControllerName: "example.com/other-controller"},
	}
	mustCreate(t, other)
	// Our own class, created after, proves the controller has had time to see the other one.
	mine := uniqueName(ns, "mine")
	mustCreate(t, ourClass(mine))
	classCondition(t, mine, metav1.ConditionTrue, string(gwapiv1.GatewayClassReasonAccepted))

	consistently(t, 2*waitTimeout/15, func() error {
		got := &gwapiv1.GatewayClass{}
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(other), got); err != nil {
			return err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, string(gwapiv1.GatewayClassConditionStatusAccepted))
		if c != nil && c.Status != metav1.ConditionUnknown {
			return fmt.Errorf("another controller's class got Accepted=%s/%s", c.Status, c.Reason)
		}
		return nil
	})
}
