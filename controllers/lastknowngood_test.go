package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/writepath"
)

// A configuration mistake never takes traffic down (translate/gateway_serving.go): whatever happens to a
// class, its parameters, its Envoy Gateway class or the operator, what was generated for a served
// Gateway, its route and pool stays (same UIDs, zero DELETE requests), the generated Gateway keeps
// its Envoy Gateway class, and the Gateway says it serves its last known good configuration.
// Fixing the mistake applies what waited, and still recreates nothing.

// servedStack is a served Gateway with a route to a pool and a TCPRoute, in its own namespace, with parameters
// that set a request timeout (so the tests can tell held settings from defaults).
type servedStack struct {
	ns, class, params, egClass string
}

const heldRequestTimeout = "300s"

// newServedStack creates parameters (Envoy Gateway class egClass, request timeout 300s), our
// class, a Gateway, a route and a pool with its EPP Service, and waits until everything is
// generated and Envoy Gateway (as the tests play it) has accepted the Gateway.
func newServedStack(t *testing.T, egClass string) servedStack {
	t.Helper()
	ns := newNamespace(t)
	st := servedStack{ns: ns, class: uniqueName(ns, "class"), params: uniqueName(ns, "params"), egClass: egClass}
	mustCreate(t, st.parameters())
	class := ourClass(st.class)
	class.Spec.ParametersRef = parametersRef(st.params)
	mustCreate(t, class)
	gw := newGateway(ns, "gw", st.class)
	gw.Spec.Listeners = append(gw.Spec.Listeners, gwapiv1.Listener{Name: "tcp", Protocol: gwapiv1.TCPProtocolType, Port: 5432})
	mustCreate(t, gw)
	mustCreate(t, newRoute(ns, "route", "gw", poolBackendRef("", "llm")))
	// A route served by copy is held like the rest.
	mustCreate(t, &gwapiv1.TCPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, Spec: gwapiv1.TCPRouteSpec{
		CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: "gw", SectionName: ptr.To(gwapiv1.SectionName("tcp"))}}},
		Rules:           []gwapiv1.TCPRouteRule{{BackendRefs: []gwapiv1.BackendRef{{BackendObjectReference: gwapiv1.BackendObjectReference{Name: "postgres", Port: ptr.To(gwapiv1.PortNumber(5432))}}}}},
	}})
	mustCreate(t, newPool(ns, "llm", "vllm", 8000))
	mustCreate(t, eppService(ns, "llm"))
	egAcceptsGateway(t, ns, "gw")
	st.waitGenerated(t)
	return st
}

func (st servedStack) parameters() *v1alpha1.InferenceGatewayParameters {
	return &v1alpha1.InferenceGatewayParameters{
		ObjectMeta: metav1.ObjectMeta{Name: st.params},
		Spec: v1alpha1.InferenceGatewayParametersSpec{
			EnvoyGatewayClassName: st.egClass,
			RouteTimeouts:         &v1alpha1.RouteTimeouts{Request: ptr.To(v1alpha1.Duration(heldRequestTimeout))},
		},
	}
}

// generatedKinds are the kinds a served stack generates (Backend: the EPP, TLS InsecureSkipVerify;
// TCPRoute: the TCPRoute's copy).
var generatedKinds = []string{"Gateway", "ClientTrafficPolicy", "HTTPRoute", "Service", "BackendTrafficPolicy", "EnvoyExtensionPolicy", "Backend", "TCPRoute"}

// generated lists the UIDs of the stack's generated objects by "Kind/name".
func (st servedStack) generated(t *testing.T) map[string]types.UID {
	t.Helper()
	out := map[string]types.UID{}
	for _, kind := range generatedKinds {
		list := &unstructured.UnstructuredList{}
		gvk, err := gvkOfKind(kind)
		if err != nil {
			t.Fatal(err)
		}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(kind + "List"))
		if err := k8s.List(context.Background(), list, client.InNamespace(st.ns),
			client.MatchingLabels{translate.LabelManagedBy: translate.ManagedByValue}); err != nil {
			t.Fatalf("listing %s: %v", kind, err)
		}
		for _, item := range list.Items {
			out[kind+"/"+item.GetName()] = item.GetUID()
		}
	}
	return out
}

// waitGenerated waits until every kind of generatedKinds is generated, and the generated route
// carries the parameters' request timeout.
func (st servedStack) waitGenerated(t *testing.T) {
	t.Helper()
	eventually(t, func() error {
		have := st.generated(t)
		for _, kind := range generatedKinds {
			if !slices.ContainsFunc(mapKeys(have), func(k string) bool { return strings.HasPrefix(k, kind+"/") }) {
				return fmt.Errorf("no %s generated yet (have %v)", kind, mapKeys(have))
			}
		}
		return st.routeTimeoutIs(heldRequestTimeout)
	})
}

func (st servedStack) routeTimeoutIs(want string) error {
	gen := &gwapiv1.HTTPRoute{}
	if err := get(gen, client.ObjectKey{Namespace: st.ns, Name: translate.GeneratedRouteName("route")}); err != nil {
		return err
	}
	if to := gen.Spec.Rules[0].Timeouts; to == nil || to.Request == nil || string(*to.Request) != want {
		return fmt.Errorf("generated route timeouts %+v, want request %s", to, want)
	}
	return nil
}

// generatedGatewayClass is the Envoy Gateway class of the stack's generated Gateway.
func (st servedStack) generatedGatewayClass(t *testing.T) string {
	t.Helper()
	gen := &gwapiv1.Gateway{}
	if err := get(gen, client.ObjectKey{Namespace: st.ns, Name: translate.GeneratedGatewayName("gw")}); err != nil {
		t.Fatalf("generated Gateway: %v", err)
	}
	return string(gen.Spec.GatewayClassName)
}

// waitHeld waits until the Gateway says it serves its last known good configuration with reason,
// and returns the condition.
func (st servedStack) waitHeld(t *testing.T, reason string) metav1.Condition {
	t.Helper()
	var got metav1.Condition
	eventually(t, func() error {
		gw := &gwapiv1.Gateway{}
		if err := get(gw, client.ObjectKey{Namespace: st.ns, Name: "gw"}); err != nil {
			return err
		}
		c := meta.FindStatusCondition(gw.Status.Conditions, translate.ConditionLastKnownGood)
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != reason {
			return fmt.Errorf("Gateway conditions %+v, want %s True/%s", gw.Status.Conditions, translate.ConditionLastKnownGood, reason)
		}
		if a := meta.FindStatusCondition(gw.Status.Conditions, "Programmed"); a == nil || a.Status != metav1.ConditionTrue {
			return fmt.Errorf("held Gateway not Programmed: %+v", gw.Status.Conditions)
		}
		got = *c
		return nil
	})
	return got
}

// waitServed waits until the Gateway no longer says it is held.
func (st servedStack) waitServed(t *testing.T) {
	t.Helper()
	eventually(t, func() error {
		gw := &gwapiv1.Gateway{}
		if err := get(gw, client.ObjectKey{Namespace: st.ns, Name: "gw"}); err != nil {
			return err
		}
		if c := meta.FindStatusCondition(gw.Status.Conditions, translate.ConditionLastKnownGood); c != nil {
			return fmt.Errorf("still held: %s", c.Message)
		}
		return nil
	})
}

// assertKept checks that the generated objects are the same (UIDs) as before, that the operator
// sent no DELETE in the stack's namespace, and that the generated Gateway still uses egClass.
func (st servedStack) assertKept(t *testing.T, before map[string]types.UID, egClass string) {
	t.Helper()
	after := st.generated(t)
	for k, uid := range before {
		if after[k] != uid {
			t.Errorf("%s: UID %s, was %s (deleted or recreated)", k, after[k], uid)
		}
	}
	if deletes := writes.matching(func(w write) bool { return w.Namespace == st.ns && strings.HasPrefix(w.Verb, "delete") }); len(deletes) > 0 {
		t.Errorf("the operator deleted served objects: %v", deletes)
	}
	if got := st.generatedGatewayClass(t); got != egClass {
		t.Errorf("generated Gateway re-pointed to Envoy Gateway class %q, want %q", got, egClass)
	}
}

// quiet lets the reconciles the mistake triggered run to their end before the assertions.
func quiet() { time.Sleep(2 * time.Second) }

// mistakeCase is one mistake, its fix, and the reason the Gateway reports meanwhile.
type mistakeCase struct {
	name   string
	reason string
	// classReason is the class's Accepted=False reason while the mistake holds.
	classReason string
	// onHold, when set, must appear in the Gateway's condition.
	onHold   string
	mistake  func(t *testing.T, st servedStack)
	fix      func(t *testing.T, st servedStack)
	egClass  func(st servedStack) string // the Envoy Gateway class served after the fix
	needsEGC bool                        // the stack needs an Envoy Gateway class of its own
}

func TestConfigurationMistakesKeepServing(t *testing.T) {
	deleteParams := func(t *testing.T, st servedStack) {
		mustDelete(t, &v1alpha1.InferenceGatewayParameters{ObjectMeta: metav1.ObjectMeta{Name: st.params}})
	}
	restoreParams := func(t *testing.T, st servedStack) { mustCreate(t, st.parameters()) }
	setParamsRef := func(name func(servedStack) string) func(*testing.T, servedStack) {
		return func(t *testing.T, st servedStack) {
			mustUpdate(t, &gwapiv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: st.class}}, func(c *gwapiv1.GatewayClass) {
				c.Spec.ParametersRef.Name = name(st)
			})
		}
	}
	setEGClass := func(name func(servedStack) string) func(*testing.T, servedStack) {
		return func(t *testing.T, st servedStack) {
			mustUpdate(t, &v1alpha1.InferenceGatewayParameters{ObjectMeta: metav1.ObjectMeta{Name: st.params}}, func(p *v1alpha1.InferenceGatewayParameters) {
				p.Spec.EnvoyGatewayClassName = name(st)
			})
		}
	}
	judgeEGClass := func(status metav1.ConditionStatus, reason string) func(*testing.T, servedStack) {
		return func(t *testing.T, st servedStack) {
			setStatus(t, &gwapiv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: st.egClass}}, func(c *gwapiv1.GatewayClass) {
				c.Status.Conditions = []metav1.Condition{egCondition("Accepted", status, reason, c.Generation)}
			})
		}
	}
	same := func(st servedStack) string { return st.egClass }
	notAccepted := string(gwapiv1.GatewayClassReasonInvalidParameters)
	for _, tc := range []mistakeCase{
		{name: "parameters deleted", reason: translate.ReasonGatewayClassNotAccepted, classReason: notAccepted,
			mistake: deleteParams, fix: restoreParams, egClass: same},
		{name: "parametersRef typo", reason: translate.ReasonGatewayClassNotAccepted, classReason: notAccepted,
			mistake: setParamsRef(func(st servedStack) string { return st.params + "-typo" }),
			fix:     setParamsRef(func(st servedStack) string { return st.params }), egClass: same},
		{name: "parameters invalid", reason: translate.ReasonGatewayClassNotAccepted, classReason: notAccepted,
			// The parameters name one of the operator's own classes as the Envoy Gateway class.
			mistake: setEGClass(func(st servedStack) string { return st.class }),
			fix:     setEGClass(func(st servedStack) string { return st.egClass }), egClass: same},
		{name: "Envoy Gateway class typo", reason: translate.ReasonGatewayClassNotAccepted, classReason: translate.ReasonEnvoyGatewayClassNotFound,
			onHold:  `envoyGatewayClassName: "eg" → "eg-typo"`,
			mistake: setEGClass(func(servedStack) string { return "eg-typo" }),
			fix:     setEGClass(func(servedStack) string { return testEnvoyGatewayClass }), egClass: same},
		{name: "Envoy Gateway class not accepted", reason: translate.ReasonGatewayClassNotAccepted, classReason: translate.ReasonEnvoyGatewayClassNotAccepted,
			needsEGC: true,
			mistake:  judgeEGClass(metav1.ConditionFalse, "InvalidParameters"),
			fix:      judgeEGClass(metav1.ConditionTrue, "Accepted"), egClass: same},
	} {
		t.Run(tc.name, func(t *testing.T) {
			egClass := testEnvoyGatewayClass
			if tc.needsEGC {
				// Its own Envoy Gateway class, whose verdict this test changes.
				egClass = uniqueName(newNamespace(t), "eg")
				if err := createAcceptedEnvoyGatewayClass(egClass); err != nil {
					t.Fatal(err)
				}
			}
			st := newServedStack(t, egClass)
			before := st.generated(t)
			writes.reset()

			tc.mistake(t, st)
			classCondition(t, st.class, metav1.ConditionFalse, tc.classReason)
			c := st.waitHeld(t, tc.reason)
			if tc.onHold != "" && !strings.Contains(c.Message, tc.onHold) {
				t.Errorf("LastKnownGood message %q does not list %q as on hold", c.Message, tc.onHold)
			}
			eventually(t, func() error { // the recorder writes events asynchronously
				if len(eventsFor(t, &gwapiv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: st.ns, Name: "gw"}}, translate.ReasonLastKnownGood)) == 0 {
					return fmt.Errorf("no %s event on the Gateway", translate.ReasonLastKnownGood)
				}
				return nil
			})
			quiet()
			st.assertKept(t, before, egClass)
			if err := st.routeTimeoutIs(heldRequestTimeout); err != nil {
				t.Errorf("held route: %v", err)
			}

			tc.fix(t, st)
			classCondition(t, st.class, metav1.ConditionTrue, string(gwapiv1.GatewayClassReasonAccepted))
			st.waitServed(t)
			quiet()
			st.assertKept(t, before, tc.egClass(st))
		})
	}
}

// An Envoy Gateway class change is make-before-break: the generated Gateway keeps the class that
// serves it until the new one exists and is accepted, then moves, without being recreated.
func TestEnvoyGatewayClassChangeIsMakeBeforeBreak(t *testing.T) {
	st := newServedStack(t, testEnvoyGatewayClass)
	before := st.generated(t)
	next := uniqueName(st.ns, "eg-next")
	writes.reset()
	mustUpdate(t, &v1alpha1.InferenceGatewayParameters{ObjectMeta: metav1.ObjectMeta{Name: st.params}}, func(p *v1alpha1.InferenceGatewayParameters) {
		p.Spec.EnvoyGatewayClassName = next
	})
	st.waitHeld(t, translate.ReasonGatewayClassNotAccepted)
	quiet()
	st.assertKept(t, before, testEnvoyGatewayClass)

	// The new class appears, not yet accepted: still held.
	mustCreate(t, &gwapiv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: next}, Spec: gwapiv1.GatewayClassSpec{ControllerName: egControllerName}})
	classCondition(t, st.class, metav1.ConditionFalse, translate.ReasonEnvoyGatewayClassNotAccepted)
	quiet()
	st.assertKept(t, before, testEnvoyGatewayClass)

	// Envoy Gateway accepts it: the generated Gateway moves to it, same object.
	setStatus(t, &gwapiv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: next}}, func(c *gwapiv1.GatewayClass) {
		c.Status.Conditions = []metav1.Condition{egCondition("Accepted", metav1.ConditionTrue, "Accepted", c.Generation)}
	})
	classCondition(t, st.class, metav1.ConditionTrue, string(gwapiv1.GatewayClassReasonAccepted))
	eventually(t, func() error {
		if got := st.generatedGatewayClass(t); got != next {
			return fmt.Errorf("generated Gateway on %q, want %q", got, next)
		}
		return nil
	})
	st.waitServed(t)
	st.assertKept(t, before, next)
}

// Our classes carry Gateway API's finalizer while Gateways use them. A class deleted while in use
// stays, and keeps serving; it goes when its last Gateway does.
func TestGatewayClassFinalizer(t *testing.T) {
	st := newServedStack(t, testEnvoyGatewayClass)
	classHasFinalizer := func(want bool) func() error {
		return func() error {
			c := &gwapiv1.GatewayClass{}
			if err := get(c, client.ObjectKey{Name: st.class}); err != nil {
				return err
			}
			if has := slices.Contains(c.Finalizers, gwapiv1.GatewayClassFinalizerGatewaysExist); has != want {
				return fmt.Errorf("finalizers %v, want %s: %v", c.Finalizers, gwapiv1.GatewayClassFinalizerGatewaysExist, want)
			}
			return nil
		}
	}
	eventually(t, classHasFinalizer(true))

	// An unused class has none.
	idle := uniqueName(st.ns, "idle")
	mustCreate(t, ourClass(idle))
	classCondition(t, idle, metav1.ConditionTrue, string(gwapiv1.GatewayClassReasonAccepted))
	c := &gwapiv1.GatewayClass{}
	if err := get(c, client.ObjectKey{Name: idle}); err != nil || len(c.Finalizers) != 0 {
		t.Errorf("unused class: finalizers %v (%v), want none", c.Finalizers, err)
	}

	before := st.generated(t)
	writes.reset()
	mustDelete(t, &gwapiv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: st.class}})
	quiet()
	if err := get(c, client.ObjectKey{Name: st.class}); err != nil || c.DeletionTimestamp.IsZero() {
		t.Fatalf("the class in use should stay, being deleted: %v, deletionTimestamp %v", err, c.DeletionTimestamp)
	}
	st.assertKept(t, before, testEnvoyGatewayClass)
	eventually(t, func() error {
		if len(eventsFor(t, c, ReasonDeletionWaitsForGateways)) == 0 {
			return fmt.Errorf("no %s event on the class", ReasonDeletionWaitsForGateways)
		}
		return nil
	})

	// The last Gateway leaves: the finalizer goes, and the class with it.
	mustDelete(t, &gwapiv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: st.ns, Name: "gw"}})
	eventually(t, func() error { return absent(&gwapiv1.GatewayClass{}, client.ObjectKey{Name: st.class}) })
}

// A class gone without its finalizer (deleted while the operator was down, the finalizer removed
// by hand): the Gateway's class does not exist; what it serves stays, held.
func TestGatewayClassGoneKeepsServing(t *testing.T) {
	st := newServedStack(t, testEnvoyGatewayClass)
	before := st.generated(t)
	writes.reset()
	restartOperator(t, func() {
		mustUpdate(t, &gwapiv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: st.class}}, func(c *gwapiv1.GatewayClass) {
			c.Finalizers = nil
		})
		mustDelete(t, &gwapiv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: st.class}})
		eventually(t, func() error { return absent(&gwapiv1.GatewayClass{}, client.ObjectKey{Name: st.class}) })
	})
	st.waitHeld(t, translate.ReasonGatewayClassNotFound)
	quiet()
	st.assertKept(t, before, testEnvoyGatewayClass)

	// The class comes back (as a reinstall would make it): served again, nothing recreated.
	class := ourClass(st.class)
	class.Spec.ParametersRef = parametersRef(st.params)
	mustCreate(t, class)
	st.waitServed(t)
	quiet()
	st.assertKept(t, before, testEnvoyGatewayClass)
}

// An operator started while the parameters are missing (an uninstall that removed them with the
// CRD, then a reinstall) deletes nothing: the generated Gateway's recorded settings say how it was
// served. Restoring them writes nothing: the settings are the same.
func TestRestartWithParametersMissing(t *testing.T) {
	st := newServedStack(t, testEnvoyGatewayClass)
	before := st.generated(t)
	writes.reset()
	restartOperator(t, func() {
		mustDelete(t, &v1alpha1.InferenceGatewayParameters{ObjectMeta: metav1.ObjectMeta{Name: st.params}})
	})
	classCondition(t, st.class, metav1.ConditionFalse, string(gwapiv1.GatewayClassReasonInvalidParameters))
	st.waitHeld(t, translate.ReasonGatewayClassNotAccepted)
	quiet()
	st.assertKept(t, before, testEnvoyGatewayClass)
	if err := st.routeTimeoutIs(heldRequestTimeout); err != nil {
		t.Errorf("the restarted operator lost the held settings: %v", err)
	}

	mustCreate(t, st.parameters())
	st.waitServed(t)
	quiet()
	st.assertKept(t, before, testEnvoyGatewayClass)
	generatedWrites := writes.matching(func(w write) bool {
		return w.Namespace == st.ns && w.Subresource == "" && w.Verb != "create" && w.Kind != "Event"
	})
	if len(generatedWrites) != 0 {
		t.Errorf("restoring the same parameters rewrote generated objects: %v", generatedWrites)
	}
}

// An upgrade that renames a generated object creates the new one before the old one goes; while
// the new name is held by an object the operator does not own, the old one stays.
func TestRenamedGeneratedObjectIsMakeBeforeBreak(t *testing.T) {
	st := newServedStack(t, testEnvoyGatewayClass)
	ctpName := translate.ClientTrafficPolicyName("gw")
	current := st.generated(t)["ClientTrafficPolicy/"+ctpName]

	// What an older version would have generated under another name: a copy of today's, renamed.
	old := &unstructured.Unstructured{}
	old.SetGroupVersionKind(mustGVK(t, "ClientTrafficPolicy"))
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: st.ns, Name: ctpName}, old); err != nil {
		t.Fatal(err)
	}
	renamed := old.DeepCopy()
	for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"} {
		unstructured.RemoveNestedField(renamed.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(renamed.Object, "status")
	renamed.SetName(ctpName + "-v0")

	// The new name held by a foreign object: the old one stays.
	writes.reset()
	restartOperator(t, func() {
		mustDelete(t, old)
		eventually(t, func() error { return absent(old.DeepCopy(), client.ObjectKeyFromObject(old)) })
		mustCreate(t, renamed.DeepCopy())
		foreign := &unstructured.Unstructured{}
		foreign.SetGroupVersionKind(mustGVK(t, "ClientTrafficPolicy"))
		foreign.SetNamespace(st.ns)
		foreign.SetName(ctpName)
		_ = unstructured.SetNestedSlice(foreign.Object, []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "other"}}, "spec", "targetRefs")
		mustCreate(t, foreign)
	})
	gw := &gwapiv1.Gateway{}
	if err := get(gw, client.ObjectKey{Namespace: st.ns, Name: "gw"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if len(eventsFor(t, gw, "GeneratedNameInUse")) == 0 {
			return fmt.Errorf("no GeneratedNameInUse event yet")
		}
		return nil
	})
	quiet()
	if err := get(renamed.DeepCopy(), client.ObjectKeyFromObject(renamed)); err != nil {
		t.Errorf("the old object went while its replacement could not be made: %v", err)
	}

	// The name is free again: the new object is made, then the old one goes.
	mustDelete(t, &unstructured.Unstructured{Object: map[string]any{"apiVersion": renamed.GetAPIVersion(), "kind": "ClientTrafficPolicy",
		"metadata": map[string]any{"namespace": st.ns, "name": ctpName}}})
	// The operator looks again within writepath.ForeignRecheck.
	eventuallyWithin(t, waitTimeout+writepath.ForeignRecheck, func() error { return absent(renamed.DeepCopy(), client.ObjectKeyFromObject(renamed)) })
	made, deleted := -1, -1
	for i, w := range writes.snapshot() {
		if w.Namespace != st.ns || w.Kind != "ClientTrafficPolicy" {
			continue
		}
		if w.Verb == "apply" && w.Name == ctpName && made < 0 {
			made = i
		}
		if w.Verb == "delete" && w.Name == ctpName+"-v0" {
			deleted = i
		}
	}
	if made < 0 || deleted < 0 || made > deleted {
		t.Errorf("writes %v: want the apply of %s before the delete of %s-v0", writes.snapshot(), ctpName, ctpName)
	}
	if now := st.generated(t)["ClientTrafficPolicy/"+ctpName]; now == "" || now == current {
		t.Errorf("ClientTrafficPolicy %s: UID %q (before the rename %q): want a new one", ctpName, now, current)
	}
}

func mustGVK(t *testing.T, kind string) schema.GroupVersionKind {
	t.Helper()
	gvk, err := gvkOfKind(kind)
	if err != nil {
		t.Fatal(err)
	}
	return gvk
}

// gvkOfKind finds kind in the operator's scheme (Gateway API's and Envoy Gateway's first: their
// kinds are the generated ones).
func gvkOfKind(kind string) (schema.GroupVersionKind, error) {
	for _, gv := range []schema.GroupVersion{gwapiv1.SchemeGroupVersion, egv1a1.GroupVersion, corev1.SchemeGroupVersion} {
		if gvk := gv.WithKind(kind); k8s.Scheme().Recognizes(gvk) {
			return gvk, nil
		}
	}
	return schema.GroupVersionKind{}, fmt.Errorf("kind %s not in the scheme", kind)
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
