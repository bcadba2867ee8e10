package controllers

import (
	"context"
	"fmt"
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

// The users' Envoy Gateway policies on a real API server: carried over, merged into the
// operator's own policies, pruned, and reported in their status (translate/userpolicy_copy.go).

// twoRuleRoute sets up, in ns, a served pool "llm" with its EPP and a route "route" whose rule
// "chat" uses the pool and rule "health" a Service. It returns the class and the route.
func twoRuleRoute(t *testing.T, ns string) (string, *gwapiv1.HTTPRoute) {
	t.Helper()
	class, route := servedPoolSetup(t, ns, "llm")
	mustUpdate(t, route, func(r *gwapiv1.HTTPRoute) {
		r.Spec.Rules = []gwapiv1.HTTPRouteRule{
			{Name: ptr.To(gwapiv1.SectionName("chat")), BackendRefs: []gwapiv1.HTTPBackendRef{poolBackendRef("", "llm")}},
			{Name: ptr.To(gwapiv1.SectionName("health")), BackendRefs: []gwapiv1.HTTPBackendRef{{BackendRef: gwapiv1.BackendRef{
				BackendObjectReference: gwapiv1.BackendObjectReference{Name: "health", Port: ptr.To(gwapiv1.PortNumber(8080))},
			}}}},
		}
	})
	mustCreate(t, newPool(ns, "llm", "vllm", 8000))
	mustCreate(t, eppService(ns, "llm"))
	return class, route
}

// userTarget is a targetRef to a user object of kind (with a section when not empty).
func userTarget(kind, name, section string) gwapiv1.LocalPolicyTargetReferenceWithSectionName {
	ref := gwapiv1.LocalPolicyTargetReferenceWithSectionName{
		LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{Group: gwapiv1.GroupName, Kind: gwapiv1.Kind(kind), Name: gwapiv1.ObjectName(name)},
	}
	if section != "" {
		ref.SectionName = ptr.To(gwapiv1.SectionName(section))
	}
	return ref
}

// poolTrafficPolicy waits for the operator's BackendTrafficPolicy targeting rule "chat" of the
// route's generated route, and returns it when check accepts it.
func poolTrafficPolicy(t *testing.T, ns string, check func(*egv1a1.BackendTrafficPolicy) error) *egv1a1.BackendTrafficPolicy {
	t.Helper()
	var found *egv1a1.BackendTrafficPolicy
	eventually(t, func() error {
		list := &egv1a1.BackendTrafficPolicyList{}
		if err := k8s.List(context.Background(), list, client.InNamespace(ns), client.MatchingLabels{translate.LabelSourceKind: translate.InferencePoolKind}); err != nil {
			return err
		}
		for i := range list.Items {
			for _, ref := range list.Items[i].Spec.TargetRefs {
				if ref.SectionName != nil && *ref.SectionName == "chat" {
					found = &list.Items[i]
					return check(found)
				}
			}
		}
		return fmt.Errorf("no pool BackendTrafficPolicy targets rule chat (%d in the namespace)", len(list.Items))
	})
	return found
}

// ourAncestor returns the policy's status entry of our controller for Gateway ns/gw.
func ourAncestor(st gwapiv1.PolicyStatus, ns, gw string) (*gwapiv1.PolicyAncestorStatus, error) {
	for i := range st.Ancestors {
		a := &st.Ancestors[i]
		if string(a.ControllerName) == translate.ControllerName && string(a.AncestorRef.Name) == gw &&
			a.AncestorRef.Namespace != nil && string(*a.AncestorRef.Namespace) == ns {
			return a, nil
		}
	}
	return nil, fmt.Errorf("no ancestor entry of ours for Gateway %s/%s in %+v", ns, gw, st.Ancestors)
}

// A route-level BackendTrafficPolicy: its copy targets the generated route; the operator's pool
// policy carries its retries onto the pool rule (with the pool's load balancing); its status
// names the user's Gateway and follows Envoy Gateway's verdicts on both; deleting it prunes.
func TestUserPolicyCarriedMergedAndPruned(t *testing.T) {
	ns := newNamespace(t)
	_, route := twoRuleRoute(t, ns)
	p := &egv1a1.BackendTrafficPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "retries"},
		Spec: egv1a1.BackendTrafficPolicySpec{
			PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: []gwapiv1.LocalPolicyTargetReferenceWithSectionName{userTarget("HTTPRoute", route.Name, "")}},
			ClusterSettings:        egv1a1.ClusterSettings{Retry: &egv1a1.Retry{NumRetries: ptr.To[int32](3)}},
		},
	}
	mustCreate(t, p)

	copyKey := client.ObjectKey{Namespace: ns, Name: translate.CarriedPolicyName("retries")}
	cp := waitUntil(t, &egv1a1.BackendTrafficPolicy{}, copyKey, func(c *egv1a1.BackendTrafficPolicy) error {
		if len(c.Spec.TargetRefs) != 1 || string(c.Spec.TargetRefs[0].Name) != translate.GeneratedRouteName(route.Name) || c.Spec.TargetRefs[0].SectionName != nil {
			return fmt.Errorf("copy targets %+v, want the generated route", c.Spec.TargetRefs)
		}
		if c.Spec.Retry == nil || *c.Spec.Retry.NumRetries != 3 || len(c.OwnerReferences) != 1 || c.OwnerReferences[0].UID != p.UID {
			return fmt.Errorf("copy %+v owned by %+v", c.Spec.Retry, c.OwnerReferences)
		}
		return nil
	})
	pool := poolTrafficPolicy(t, ns, func(b *egv1a1.BackendTrafficPolicy) error {
		if b.Spec.Retry == nil || *b.Spec.Retry.NumRetries != 3 || b.Spec.LoadBalancer == nil || b.Spec.LoadBalancer.EndpointOverride == nil {
			return fmt.Errorf("pool policy retry %+v loadBalancer %+v", b.Spec.Retry, b.Spec.LoadBalancer)
		}
		if b.Annotations[translate.AnnotationCarries] != "BackendTrafficPolicy/"+ns+"/retries" {
			return fmt.Errorf("carries %q", b.Annotations[translate.AnnotationCarries])
		}
		return nil
	})

	// Before Envoy Gateway has judged the generated policies: Pending, on the user's Gateway.
	waitUntil(t, &egv1a1.BackendTrafficPolicy{}, client.ObjectKeyFromObject(p), func(b *egv1a1.BackendTrafficPolicy) error {
		a, err := ourAncestor(b.Status, ns, "gw")
		if err != nil {
			return err
		}
		return hasCondition(a.Conditions, "Accepted", metav1.ConditionUnknown, "Pending")
	})
	// Envoy Gateway accepts both: Accepted. It rejects the pool one: Invalid, saying which.
	egVerdict := func(obj client.Object, status metav1.ConditionStatus, reason string) {
		setStatus(t, obj, func(o client.Object) {
			st := translate.PolicyStatusOf(o)
			st.Ancestors = []gwapiv1.PolicyAncestorStatus{{
				AncestorRef:    gwapiv1.ParentReference{Group: ptr.To(gwapiv1.Group(gwapiv1.GroupName)), Kind: ptr.To(gwapiv1.Kind("Gateway")), Namespace: ptr.To(gwapiv1.Namespace(ns)), Name: gwapiv1.ObjectName(translate.GeneratedGatewayName("gw"))},
				ControllerName: "gateway.envoyproxy.io/gatewayclass-controller",
				Conditions:     []metav1.Condition{egCondition("Accepted", status, reason, o.GetGeneration())},
			}}
		})
	}
	egVerdict(cp, metav1.ConditionTrue, "Accepted")
	egVerdict(pool, metav1.ConditionTrue, "Accepted")
	waitUntil(t, &egv1a1.BackendTrafficPolicy{}, client.ObjectKeyFromObject(p), func(b *egv1a1.BackendTrafficPolicy) error {
		a, err := ourAncestor(b.Status, ns, "gw")
		if err != nil {
			return err
		}
		if a.AncestorRef.SectionName != nil || *a.AncestorRef.Kind != "Gateway" {
			return fmt.Errorf("ancestorRef %+v", a.AncestorRef)
		}
		return hasCondition(a.Conditions, "Accepted", metav1.ConditionTrue, "Accepted")
	})
	egVerdict(pool, metav1.ConditionFalse, "Invalid")
	waitUntil(t, &egv1a1.BackendTrafficPolicy{}, client.ObjectKeyFromObject(p), func(b *egv1a1.BackendTrafficPolicy) error {
		a, err := ourAncestor(b.Status, ns, "gw")
		if err != nil {
			return err
		}
		c := findCond(a.Conditions, "Accepted")
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "Invalid" || !strings.Contains(c.Message, pool.Name) {
			return fmt.Errorf("Accepted %+v, want False/Invalid naming %s", c, pool.Name)
		}
		return nil
	})

	// Deleting the user's policy prunes its copy and what the pool policy carried: the class's
	// own retry comes back.
	mustDelete(t, p)
	eventually(t, func() error { return absent(&egv1a1.BackendTrafficPolicy{}, copyKey) })
	poolTrafficPolicy(t, ns, func(b *egv1a1.BackendTrafficPolicy) error {
		if r := b.Spec.Retry; r == nil || r.NumRetries == nil || *r.NumRetries != v1alpha1.DefaultNumRetries || r.RetryOn == nil || len(r.RetryOn.Triggers) != 3 || b.Annotations[translate.AnnotationCarries] != "" {
			return fmt.Errorf("pool policy carries %+v (%q), want the class's default retry only", b.Spec.Retry, b.Annotations[translate.AnnotationCarries])
		}
		return nil
	})
}

// A user's loadBalancer on the pool rule is refused (Refused=True on the policy), its other
// settings carried; the rule-level policy has no copy. Status entries of other controllers stay.
func TestUserLoadBalancerOnPoolRuleRefused(t *testing.T) {
	ns := newNamespace(t)
	_, route := twoRuleRoute(t, ns)
	p := &egv1a1.BackendTrafficPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sticky"},
		Spec: egv1a1.BackendTrafficPolicySpec{
			PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: []gwapiv1.LocalPolicyTargetReferenceWithSectionName{
				userTarget("HTTPRoute", route.Name, "chat"), userTarget("Gateway", "elsewhere", ""),
			}},
			ClusterSettings: egv1a1.ClusterSettings{
				LoadBalancer: &egv1a1.LoadBalancer{Type: egv1a1.RandomLoadBalancerType},
				Retry:        &egv1a1.Retry{NumRetries: ptr.To[int32](2)},
			},
		},
	}
	mustCreate(t, p)
	// Another controller (Envoy Gateway, for its own Gateway "elsewhere") has an entry.
	foreign := gwapiv1.PolicyAncestorStatus{
		AncestorRef:    gwapiv1.ParentReference{Name: "elsewhere"},
		ControllerName: "gateway.envoyproxy.io/gatewayclass-controller",
		Conditions:     []metav1.Condition{egCondition("Accepted", "True", "Accepted", 1)},
	}
	setStatus(t, p, func(b *egv1a1.BackendTrafficPolicy) { b.Status.Ancestors = []gwapiv1.PolicyAncestorStatus{foreign} })

	poolTrafficPolicy(t, ns, func(b *egv1a1.BackendTrafficPolicy) error {
		if b.Spec.LoadBalancer.Type != egv1a1.LeastRequestLoadBalancerType || b.Spec.Retry == nil || *b.Spec.Retry.NumRetries != 2 {
			return fmt.Errorf("loadBalancer %+v retry %+v", b.Spec.LoadBalancer, b.Spec.Retry)
		}
		return nil
	})
	waitUntil(t, &egv1a1.BackendTrafficPolicy{}, client.ObjectKeyFromObject(p), func(b *egv1a1.BackendTrafficPolicy) error {
		a, err := ourAncestor(b.Status, ns, "gw")
		if err != nil {
			return err
		}
		if err := hasCondition(a.Conditions, translate.PolicyConditionRefused, metav1.ConditionTrue, translate.PolicyReasonNotCarried); err != nil {
			return err
		}
		if !strings.Contains(findCond(a.Conditions, translate.PolicyConditionRefused).Message, "loadBalancer") {
			return fmt.Errorf("Refused does not name loadBalancer: %+v", a.Conditions)
		}
		if len(b.Status.Ancestors) != 2 || b.Status.Ancestors[0].ControllerName != foreign.ControllerName {
			return fmt.Errorf("ancestors %+v, want the foreign entry kept", b.Status.Ancestors)
		}
		return nil
	})
	eventually(t, func() error {
		return absent(&egv1a1.BackendTrafficPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.CarriedPolicyName("sticky")})
	})
}

// A Gateway-level ClientTrafficPolicy is merged into the operator's one, which keeps removing
// the destination header even though the user's policy sets it.
func TestUserClientTrafficPolicyMerged(t *testing.T) {
	ns := newNamespace(t)
	twoRuleRoute(t, ns)
	p := &egv1a1.ClientTrafficPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "client"},
		Spec: egv1a1.ClientTrafficPolicySpec{
			PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: []gwapiv1.LocalPolicyTargetReferenceWithSectionName{userTarget("Gateway", "gw", "")}},
			Timeout:                &egv1a1.ClientTimeout{HTTP: &egv1a1.HTTPClientTimeout{RequestReceivedTimeout: ptr.To(gwapiv1.Duration("30s"))}},
			Headers: &egv1a1.HeaderSettings{EarlyRequestHeaders: &egv1a1.HTTPHeaderFilter{
				Set: []gwapiv1.HTTPHeader{{Name: translate.DestinationHeader, Value: "10.0.0.1:8000"}},
			}},
		},
	}
	mustCreate(t, p)
	waitUntil(t, &egv1a1.ClientTrafficPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.ClientTrafficPolicyName("gw")}, func(c *egv1a1.ClientTrafficPolicy) error {
		if c.Spec.Timeout == nil || c.Spec.Timeout.HTTP == nil || string(*c.Spec.Timeout.HTTP.RequestReceivedTimeout) != "30s" {
			return fmt.Errorf("timeout %+v not carried", c.Spec.Timeout)
		}
		h := c.Spec.Headers.EarlyRequestHeaders
		if len(h.Set) != 0 || len(h.Remove) != 1 || h.Remove[0] != translate.DestinationHeader {
			return fmt.Errorf("early headers %+v, want the destination header removed and not set", h)
		}
		return nil
	})
	eventually(t, func() error {
		return absent(&egv1a1.ClientTrafficPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.CarriedPolicyName("client")})
	})
}

// Once a user's policy is carried over and its status written, touching it and its targets, and
// a resync, write nothing.
func TestUserPolicySteadyStateMakesNoWrites(t *testing.T) {
	ns := newNamespace(t)
	_, route := twoRuleRoute(t, ns)
	policies := []client.Object{
		&egv1a1.BackendTrafficPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "retries"},
			Spec: egv1a1.BackendTrafficPolicySpec{
				PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: []gwapiv1.LocalPolicyTargetReferenceWithSectionName{userTarget("HTTPRoute", route.Name, "")}},
				ClusterSettings:        egv1a1.ClusterSettings{Retry: &egv1a1.Retry{NumRetries: ptr.To[int32](3)}},
			},
		},
		&egv1a1.SecurityPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "auth"},
			Spec: egv1a1.SecurityPolicySpec{
				PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: []gwapiv1.LocalPolicyTargetReferenceWithSectionName{userTarget("HTTPRoute", route.Name, "chat")}},
				BasicAuth:              &egv1a1.BasicAuth{Users: gwapiv1.SecretObjectReference{Name: "users"}},
			},
		},
		&egv1a1.EnvoyExtensionPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "lua"},
			Spec: egv1a1.EnvoyExtensionPolicySpec{
				PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: []gwapiv1.LocalPolicyTargetReferenceWithSectionName{userTarget("Gateway", "gw", "")}},
				Lua:                    []egv1a1.Lua{{Type: egv1a1.LuaValueTypeInline, Inline: ptr.To("function envoy_on_request(h) end")}},
			},
		},
	}
	for _, p := range policies {
		mustCreate(t, p)
	}
	for _, p := range policies {
		waitGenerated(t, translate.PolicyKindOf(kindOf(p)).New(), client.ObjectKey{Namespace: ns, Name: translate.CarriedPolicyName(p.GetName())})
		obj := p
		eventually(t, func() error {
			if err := get(obj, client.ObjectKeyFromObject(obj)); err != nil {
				return err
			}
			_, err := ourAncestor(*translate.PolicyStatusOf(obj), ns, "gw")
			return err
		})
	}
	time.Sleep(time.Second)

	writes.reset()
	before := reconcileTotal(t, "backendtrafficpolicy")
	for _, p := range append(policies, route) {
		mustUpdate(t, p, func(o client.Object) {
			o.SetAnnotations(map[string]string{"touched": time.Now().Format(time.RFC3339Nano)})
		})
	}
	eventually(t, func() error {
		if n := reconcileTotal(t, "backendtrafficpolicy") - before; n < 1 {
			return fmt.Errorf("no policy reconcile after the touches")
		}
		return nil
	})
	time.Sleep(time.Second)
	if w := writes.matching(inNamespace(ns)); len(w) != 0 {
		t.Errorf("writes after touching unchanged inputs: %v", w)
	}
	writes.reset()
	waitResync(t, reconcileCounts(t, "securitypolicy", "backendtrafficpolicy", "envoyextensionpolicy", "inferencepool", "gateway"))
	if w := writes.matching(inNamespace(ns)); len(w) != 0 {
		t.Errorf("writes during a resync period in steady state: %v", w)
	}
}

func kindOf(o client.Object) string {
	switch o.(type) {
	case *egv1a1.SecurityPolicy:
		return translate.KindSecurityPolicy
	case *egv1a1.BackendTrafficPolicy:
		return translate.KindBackendTrafficPolicy
	case *egv1a1.ClientTrafficPolicy:
		return translate.KindClientTrafficPolicy
	}
	return translate.KindEnvoyExtensionPolicy
}
