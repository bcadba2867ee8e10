package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// occurrences counts how many times events were emitted: the event recorder sends a repeat
// of an event as a series on the same Event (count 2 on the first repeat, later counts on its
// heartbeat), so a second emission shows as a series.
func occurrences(events []eventsv1.Event) int {
	n := 0
	for _, e := range events {
		if e.Series != nil {
			n += int(e.Series.Count)
		} else {
			n++
		}
	}
	return n
}

// waitEventCount waits until the pool has had the event reason exactly n times, and returns
// the last Event.
func waitEventCount(t *testing.T, pool *giev1.InferencePool, reason string, n int) eventsv1.Event {
	t.Helper()
	var last eventsv1.Event
	eventually(t, func() error {
		evs := eventsFor(t, pool, reason)
		if got := occurrences(evs); got != n {
			return fmt.Errorf("%d %s events, want %d: %+v", got, reason, n, evs)
		}
		if n > 0 {
			last = evs[len(evs)-1]
		}
		return nil
	})
	return last
}

// staysEventCount checks for a while that the pool's count of event reason stays n.
func staysEventCount(t *testing.T, pool *giev1.InferencePool, reason string, n int) {
	t.Helper()
	consistently(t, 2*time.Second, func() error {
		if got := occurrences(eventsFor(t, pool, reason)); got != n {
			return fmt.Errorf("%d %s events, want %d", got, reason, n)
		}
		return nil
	})
}

// shadowSlice is an EndpointSlice of the pool's shadow Service with endpoints of the given
// readiness (none: the EndpointSlice controller's placeholder for a selector matching no pod).
func shadowSlice(ns, pool, name string, ready ...bool) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: translate.ShadowServiceName(pool)}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for i, r := range ready {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{fmt.Sprintf("10.244.1.%d", i+1)},
			Conditions: discoveryv1.EndpointConditions{Ready: ptrTo(r)},
		})
	}
	return s
}

// A served pool whose shadow Service lists no ready endpoint gets one Warning NoReadyPods
// naming its selector and target ports, whatever the reconciles in between; a ready pod gives
// one Normal ReadyPodsFound; losing it again, one more Warning. Before the EndpointSlice
// controller has written any slice of the Service, nothing is said.
func TestNoReadyPodsEvents(t *testing.T) {
	ns := newNamespace(t)
	servedPoolSetup(t, ns, "llm")
	pool := newPool(ns, "llm", "vllm", 8000, 8001)
	mustCreate(t, pool)
	waitService(t, shadowKey(ns, "llm"), nil)
	staysEventCount(t, pool, "NoReadyPods", 0)

	// The selector matches no pod: the EndpointSlice controller's placeholder.
	slice := shadowSlice(ns, "llm", "ipool-llm-placeholder")
	mustCreate(t, slice)
	ev := waitEventCount(t, pool, "NoReadyPods", 1)
	if ev.Type != corev1.EventTypeWarning {
		t.Errorf("NoReadyPods is %s, want Warning", ev.Type)
	}
	for _, want := range []string{"app=vllm", "8000, 8001", "503", translate.ShadowServiceName("llm")} {
		if !strings.Contains(ev.Note, want) {
			t.Errorf("NoReadyPods message %q does not name %q", ev.Note, want)
		}
	}

	// Pods come, not ready yet; the pool is reconciled for unrelated reasons: no new event.
	mustCreate(t, shadowSlice(ns, "llm", "ipool-llm-starting", false, false))
	mustUpdate(t, pool, func(p *giev1.InferencePool) {
		p.SetAnnotations(map[string]string{"touched": time.Now().Format(time.RFC3339Nano)})
	})
	staysEventCount(t, pool, "NoReadyPods", 1)
	staysEventCount(t, pool, "ReadyPodsFound", 0)

	// One becomes ready.
	mustCreate(t, shadowSlice(ns, "llm", "ipool-llm-ready", false, true))
	ev = waitEventCount(t, pool, "ReadyPodsFound", 1)
	if ev.Type != corev1.EventTypeNormal || !strings.Contains(ev.Note, "app=vllm") {
		t.Errorf("ReadyPodsFound %s %q, want a Normal event naming the selector", ev.Type, ev.Note)
	}
	staysEventCount(t, pool, "NoReadyPods", 1)

	// And goes: a second Warning.
	mustDelete(t, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ipool-llm-ready"}})
	waitEventCount(t, pool, "NoReadyPods", 2)
	staysEventCount(t, pool, "ReadyPodsFound", 1)
}

// A pool no route on our Gateways references is not served: its pods are nobody's concern here.
func TestNoReadyPodsOnlyForServedPools(t *testing.T) {
	ns := newNamespace(t)
	servedPoolSetup(t, ns, "served")
	unserved := newPool(ns, "unserved", "a", 8000)
	mustCreate(t, unserved)
	mustCreate(t, shadowSlice(ns, "unserved", "ipool-unserved-placeholder"))
	served := newPool(ns, "served", "b", 8000)
	mustCreate(t, served)
	mustCreate(t, shadowSlice(ns, "served", "ipool-served-placeholder"))
	// Once the served pool has its event, the unserved one has been reconciled with its slice.
	waitEventCount(t, served, "NoReadyPods", 1)
	staysEventCount(t, unserved, "NoReadyPods", 0)
}

// setPolicyVerdict writes Envoy Gateway's verdict on a generated policy for the ancestor that
// is the generated Gateway gwName-eg in ns (its other ancestors kept), about the policy's
// current generation, or the one before when stale.
func setPolicyVerdict[T client.Object](t *testing.T, obj T, ns, gwName string, accepted metav1.ConditionStatus, message string, stale bool) {
	t.Helper()
	setStatus(t, obj, func(o T) {
		st := translate.PolicyStatusOf(o)
		gen := o.GetGeneration()
		if stale {
			gen--
		}
		reason := "Accepted"
		if accepted != metav1.ConditionTrue {
			reason = "Invalid"
		}
		name := gwapiv1.ObjectName(translate.GeneratedGatewayName(gwName))
		entry := gwapiv1.PolicyAncestorStatus{
			AncestorRef: gwapiv1.ParentReference{
				Group: ptrTo(gwapiv1.Group(gwapiv1.GroupName)), Kind: ptrTo(gwapiv1.Kind("Gateway")),
				Namespace: ptrTo(gwapiv1.Namespace(ns)), Name: name,
			},
			ControllerName: egControllerName,
			Conditions: []metav1.Condition{{Type: "Accepted", Status: accepted, Reason: reason, Message: message,
				ObservedGeneration: gen, LastTransitionTime: metav1.Now()}},
		}
		for i, a := range st.Ancestors {
			if a.AncestorRef.Name == name && string(a.ControllerName) == egControllerName {
				st.Ancestors[i] = entry
				return
			}
		}
		st.Ancestors = append(st.Ancestors, entry)
	})
}

// waitPoolResolvedRefs waits until the pool's entry for Gateway ns/gw is ResolvedRefs status
// (reason InvalidExtensionRef when False) with a message check accepts.
func waitPoolResolvedRefs(t *testing.T, pool *giev1.InferencePool, ns, gw string, status metav1.ConditionStatus, check func(msg string) error) {
	t.Helper()
	reason := string(giev1.InferencePoolReasonResolvedRefs)
	if status == metav1.ConditionFalse {
		reason = string(giev1.InferencePoolReasonInvalidExtensionRef)
	}
	eventually(t, func() error {
		if err := get(pool, client.ObjectKeyFromObject(pool)); err != nil {
			return err
		}
		p, err := ourPoolParent(pool, ns, gw)
		if err != nil {
			return err
		}
		if err := hasCondition(p.Conditions, "ResolvedRefs", status, reason); err != nil {
			return err
		}
		if err := hasCondition(p.Conditions, "Accepted", metav1.ConditionTrue, "Accepted"); err != nil {
			return err
		}
		return check(meta.FindStatusCondition(p.Conditions, "ResolvedRefs").Message)
	})
}

func messageHas(parts ...string) func(string) error {
	return func(msg string) error {
		for _, p := range parts {
			if !strings.Contains(msg, p) {
				return fmt.Errorf("message %q does not contain %q", msg, p)
			}
		}
		return nil
	}
}

func messageLacks(part string, then func(string) error) func(string) error {
	return func(msg string) error {
		if strings.Contains(msg, part) {
			return fmt.Errorf("message %q names %q", msg, part)
		}
		return then(msg)
	}
}

// Envoy Gateway (played by the test) rejects the pool's generated policies: the pool's entry
// for the Gateway says ResolvedRefs=False/InvalidExtensionRef, naming each rejected policy and
// quoting Envoy Gateway. A verdict about an older generation of the policy, or for another
// Gateway's generated Gateway, does not count; accepted again, the pool is ResolvedRefs=True.
func TestPoolReportsRejectedPolicies(t *testing.T) {
	ns := newNamespace(t)
	class, pool := poolWithEPP(t, ns, nil)
	egAcceptsGateway(t, ns, "gw")
	egJudgesRoute(t, ns, "route", metav1.ConditionTrue, metav1.ConditionTrue)
	btp := waitGenerated(t, &egv1a1.BackendTrafficPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class, "HTTPRoute", 0)})
	eep := waitGenerated(t, &egv1a1.EnvoyExtensionPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class, "HTTPRoute", 0)})
	waitPoolResolvedRefs(t, pool, ns, "gw", metav1.ConditionTrue, messageHas("All references resolved"))

	const extProcMsg = "ExtProc: no ready endpoints for the related Service " + "x/moderation."
	const overrideMsg = "ResponseOverride: can't find the referenced configmap x/error-pages."
	// The extension policy rejected for another Gateway's generated Gateway only, the traffic
	// policy rejected about a generation it no longer has: neither counts. Then the traffic
	// policy rejected about its current generation: the message names it alone.
	setPolicyVerdict(t, eep, ns, "other", metav1.ConditionFalse, extProcMsg, false)
	setPolicyVerdict(t, eep, ns, "gw", metav1.ConditionTrue, "Policy has been accepted.", false)
	setPolicyVerdict(t, btp, ns, "gw", metav1.ConditionFalse, "stale: "+overrideMsg, true)
	consistently(t, 2*time.Second, func() error {
		if err := get(pool, client.ObjectKeyFromObject(pool)); err != nil {
			return err
		}
		p, err := ourPoolParent(pool, ns, "gw")
		if err != nil {
			return err
		}
		return hasCondition(p.Conditions, "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
	})
	setPolicyVerdict(t, btp, ns, "gw", metav1.ConditionFalse, overrideMsg, false)
	waitPoolResolvedRefs(t, pool, ns, "gw", metav1.ConditionFalse,
		messageLacks("EnvoyExtensionPolicy", messageLacks("stale", messageHas("BackendTrafficPolicy "+ns+"/"+btp.Name, `"`+overrideMsg+`"`, "500"))))

	// The extension policy rejected for this Gateway too: both, the extension policy first.
	setPolicyVerdict(t, eep, ns, "gw", metav1.ConditionFalse, extProcMsg, false)
	waitPoolResolvedRefs(t, pool, ns, "gw", metav1.ConditionFalse, func(msg string) error {
		eepAt, btpAt := "EnvoyExtensionPolicy "+ns+"/"+eep.Name, "BackendTrafficPolicy "+ns+"/"+btp.Name
		if err := messageHas(eepAt, `"`+extProcMsg+`"`, "endpoint picker's ext_proc", btpAt, `"`+overrideMsg+`"`)(msg); err != nil {
			return err
		}
		if strings.Index(msg, eepAt) > strings.Index(msg, btpAt) {
			return fmt.Errorf("message %q names the traffic policy first", msg)
		}
		return nil
	})

	// Envoy Gateway accepts both: resolved again.
	setPolicyVerdict(t, eep, ns, "gw", metav1.ConditionTrue, "Policy has been accepted.", false)
	setPolicyVerdict(t, btp, ns, "gw", metav1.ConditionTrue, "Policy has been accepted.", false)
	waitPoolResolvedRefs(t, pool, ns, "gw", metav1.ConditionTrue, messageHas("All references resolved"))
}
