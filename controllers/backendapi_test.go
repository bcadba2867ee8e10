package controllers

import (
	"strings"
	"testing"
	"time"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// Envoy Gateway with its Backend API off refuses the generated EnvoyExtensionPolicy for the
// EPP's Backend ("backend ... not found") and never judges the Backend: the class using that
// Envoy Gateway class says so (EnvoyGatewayBackendDisabled) once the Backend has gone unjudged
// past the grace period, and is accepted again when Envoy Gateway accepts the policy.
func TestBackendAPIDisabledReported(t *testing.T) {
	ns := newNamespace(t)
	egName := uniqueName(ns, "eg")
	if err := createAcceptedEnvoyGatewayClass(egName); err != nil {
		t.Fatal(err)
	}
	params := &v1alpha1.InferenceGatewayParameters{ObjectMeta: metav1.ObjectMeta{Name: uniqueName(ns, "params")},
		Spec: v1alpha1.InferenceGatewayParametersSpec{EnvoyGatewayClassName: egName}}
	mustCreate(t, params)
	class := ourClass(uniqueName(ns, "class"))
	class.Spec.ParametersRef = parametersRef(params.Name)
	mustCreate(t, class)
	mustCreate(t, newGateway(ns, "gw", class.Name))
	mustCreate(t, newRoute(ns, "route", "gw", poolBackendRef("", "llm")))
	pool := newPool(ns, "llm", "vllm", 8000)
	mustCreate(t, pool)
	mustCreate(t, eppService(ns, "llm"))
	classCondition(t, class.Name, metav1.ConditionTrue, "Accepted")

	eep := waitGenerated(t, &egv1a1.EnvoyExtensionPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class.Name, "HTTPRoute", 0)})
	backend := translate.EPPBackendName("llm")
	verdict := func(status metav1.ConditionStatus, message string) {
		setStatus(t, eep, func(e *egv1a1.EnvoyExtensionPolicy) {
			e.Status.Ancestors = []gwapiv1.PolicyAncestorStatus{{
				AncestorRef:    gwapiv1.ParentReference{Group: ptr.To(gwapiv1.Group(gwapiv1.GroupName)), Kind: ptr.To(gwapiv1.Kind("Gateway")), Namespace: ptr.To(gwapiv1.Namespace(ns)), Name: gwapiv1.ObjectName(translate.GeneratedGatewayName("gw"))},
				ControllerName: "gateway.envoyproxy.io/gatewayclass-controller",
				Conditions:     []metav1.Condition{{Type: "Accepted", Status: status, Reason: "Invalid", Message: message, ObservedGeneration: e.Generation, LastTransitionTime: metav1.Now()}},
			}}
			if status == metav1.ConditionTrue {
				e.Status.Ancestors[0].Conditions[0].Reason = "Accepted"
			}
		})
	}
	start := time.Now()
	verdict(metav1.ConditionFalse, "ExtProc: backend "+ns+"/"+backend+" not found.")
	c := classConditionWithin(t, class.Name, backendGrace+waitTimeout, metav1.ConditionFalse, translate.ReasonEnvoyGatewayBackendDisabled)
	if !strings.Contains(c.Message, "extensionApis.enableBackend: true") || !strings.Contains(c.Message, eep.Name) {
		t.Errorf("message %q does not say what to change and why", c.Message)
	}
	t.Logf("reported after %v (grace %v)", time.Since(start).Round(100*time.Millisecond), backendGrace)
	verdict(metav1.ConditionTrue, "Policy has been accepted.")
	classCondition(t, class.Name, metav1.ConditionTrue, "Accepted")
}

// classConditionWithin is classCondition with a longer timeout.
func classConditionWithin(t *testing.T, name string, timeout time.Duration, status metav1.ConditionStatus, reason string) metav1.Condition {
	t.Helper()
	var got metav1.Condition
	eventuallyWithin(t, timeout, func() error {
		class := &gwapiv1.GatewayClass{}
		if err := get(class, client.ObjectKey{Name: name}); err != nil {
			return err
		}
		for _, c := range class.Status.Conditions {
			if c.Type == "Accepted" && c.Status == status && c.Reason == reason {
				got = c
				return nil
			}
		}
		return errAbsent
	})
	return got
}
