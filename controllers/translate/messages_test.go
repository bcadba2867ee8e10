package translate_test

import (
	"fmt"
	"strings"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// The API server refuses a status with a condition message over 32768 bytes, and with it the
// whole status. Messages that list objects, or quote Envoy Gateway's, are cut to fit.

func messagesSnapshot() *translate.Snapshot {
	meta := func(ns, name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(name + "-uid"), Generation: 1}
	}
	return &translate.Snapshot{
		DefaultEnvoyGatewayClass: "eg",
		GatewayClasses: []gwapiv1.GatewayClass{{ObjectMeta: meta("", "inference"),
			Spec: gwapiv1.GatewayClassSpec{ControllerName: translate.ControllerName}}, egClass("eg", true)},
		Gateways: []gwapiv1.Gateway{{ObjectMeta: meta("default", "gw"), Spec: gwapiv1.GatewaySpec{GatewayClassName: "inference",
			Listeners: []gwapiv1.Listener{{Name: "http", Protocol: gwapiv1.HTTPProtocolType, Port: 80}}}}},
		HTTPRoutes: []gwapiv1.HTTPRoute{{ObjectMeta: meta("default", "llm"), Spec: gwapiv1.HTTPRouteSpec{
			CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: "gw"}}}}}},
		Pools: []giev1.InferencePool{{ObjectMeta: meta("default", "pool"), Spec: giev1.InferencePoolSpec{
			Selector: giev1.LabelSelector{MatchLabels: map[giev1.LabelKey]giev1.LabelValue{"app": "pool"}}, TargetPorts: []giev1.Port{{Number: 8000}}}}},
	}
}

func poolRef(name string) gwapiv1.HTTPBackendRef {
	return gwapiv1.HTTPBackendRef{BackendRef: gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{
		Group: ptr.To(gwapiv1.Group(translate.InferenceGroup)), Kind: ptr.To(gwapiv1.Kind(translate.InferencePoolKind)), Name: gwapiv1.ObjectName(name)}}}
}

func checkMessage(t *testing.T, c metav1.Condition) {
	t.Helper()
	c.LastTransitionTime = metav1.Unix(1, 0)
	if errs := metav1validation.ValidateCondition(c, field.NewPath("condition")); len(errs) > 0 {
		t.Fatalf("%s condition refused (message of %d bytes): %v", c.Type, len(c.Message), errs)
	}
	if !strings.HasSuffix(c.Message, " [truncated]") {
		t.Errorf("%s message of %d bytes does not say it was cut", c.Type, len(c.Message))
	}
}

// TestRouteMessageOfManyMissingPools: 16 rules of 16 refs to missing pools of 253-character
// names make a ResolvedRefs message of about 90 KB.
func TestRouteMessageOfManyMissingPools(t *testing.T) {
	snap := messagesSnapshot()
	route := &snap.HTTPRoutes[0]
	for r := range 16 {
		rule := gwapiv1.HTTPRouteRule{}
		for b := range 16 {
			rule.BackendRefs = append(rule.BackendRefs, poolRef(fmt.Sprintf("%s-%02d-%02d", strings.Repeat("p", 247), r, b)))
		}
		route.Spec.Rules = append(route.Spec.Rules, rule)
	}
	parents := translate.All(snap).RouteParents[types.NamespacedName{Namespace: "default", Name: "llm"}]
	if len(parents) != 1 || len(parents[0].Conditions) != 2 {
		t.Fatalf("want one parent with Accepted and ResolvedRefs, got %+v", parents)
	}
	checkMessage(t, parents[0].Conditions[1])
}

// TestMirroredMessageOfEnvoyGateway: Envoy Gateway's verdict on a pool policy that carries the
// user's policy, with a message of the API's full 32768 bytes, is mirrored with a prefix naming
// the pool policy.
func TestMirroredMessageOfEnvoyGateway(t *testing.T) {
	snap := messagesSnapshot()
	snap.HTTPRoutes[0].Spec.Rules = []gwapiv1.HTTPRouteRule{{Name: ptr.To(gwapiv1.SectionName("chat")), BackendRefs: []gwapiv1.HTTPBackendRef{poolRef("pool")}}}
	snap.BackendTrafficPolicies = []egv1a1.BackendTrafficPolicy{
		{ // the user's, on the rule: the pool's policy carries it
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "retries", UID: "retries-uid", Generation: 1},
			Spec: egv1a1.BackendTrafficPolicySpec{PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: []gwapiv1.LocalPolicyTargetReferenceWithSectionName{{
				LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Name: "llm"}, SectionName: ptr.To(gwapiv1.SectionName("chat"))}}}},
		},
		{ // the pool's, as Envoy Gateway left it: refused, with a message as long as the API allows
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "ipool-pool-lb", UID: "lb-uid", Generation: 1,
				Labels:      map[string]string{translate.LabelManagedBy: translate.ManagedByValue},
				Annotations: map[string]string{translate.AnnotationCarries: "BackendTrafficPolicy/default/retries"}},
			Status: gwapiv1.PolicyStatus{Ancestors: []gwapiv1.PolicyAncestorStatus{{
				AncestorRef:    gwapiv1.ParentReference{Name: gwapiv1.ObjectName(translate.GeneratedGatewayName("gw")), Namespace: ptr.To(gwapiv1.Namespace("default"))},
				ControllerName: "gateway.envoyproxy.io/gatewayclass-controller",
				Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionFalse, Reason: "Invalid",
					Message: strings.Repeat("é", 16384), ObservedGeneration: 1, LastTransitionTime: metav1.Unix(1, 0)}},
			}}},
		},
	}
	ancestors := translate.All(snap).PolicyAncestors["BackendTrafficPolicy/default/retries"]
	if len(ancestors) != 1 || ancestors[0].Conditions[0].Status != metav1.ConditionFalse {
		t.Fatalf("want one ancestor with Envoy Gateway's refusal mirrored, got %+v", ancestors)
	}
	checkMessage(t, ancestors[0].Conditions[0])
}
