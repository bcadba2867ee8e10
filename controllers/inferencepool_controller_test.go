package controllers

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// shadowKey is the key of the shadow Service of the pool name in ns.
func shadowKey(ns, pool string) client.ObjectKey {
	return client.ObjectKey{Namespace: ns, Name: translate.ShadowServiceName(pool)}
}

// waitService waits until the Service key exists and check accepts it, and returns it.
func waitService(t *testing.T, key client.ObjectKey, check func(*corev1.Service) error) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{}
	eventually(t, func() error {
		if err := get(svc, key); err != nil {
			return err
		}
		if check == nil {
			return nil
		}
		return check(svc)
	})
	return svc
}

// waitAbsent waits until the Service key does not exist.
func waitAbsent(t *testing.T, key client.ObjectKey) {
	t.Helper()
	eventually(t, func() error { return absent(&corev1.Service{}, key) })
}

// staysAbsent checks the Service key does not appear for a while (after the test has proved
// that the operator reconciled what it would have come from).
func staysAbsent(t *testing.T, key client.ObjectKey) {
	t.Helper()
	consistently(t, 2*time.Second, func() error { return absent(&corev1.Service{}, key) })
}

func selectorIs(want map[string]string) func(*corev1.Service) error {
	return func(svc *corev1.Service) error {
		if !reflect.DeepEqual(svc.Spec.Selector, want) {
			return fmt.Errorf("selector %v, want %v", svc.Spec.Selector, want)
		}
		return nil
	}
}

// portsAre checks the Service has exactly one TCP port per target port, port = targetPort,
// named port-<n>, with appProtocol.
func portsAre(appProtocol string, targets ...int32) func(*corev1.Service) error {
	return func(svc *corev1.Service) error {
		if len(svc.Spec.Ports) != len(targets) {
			return fmt.Errorf("ports %+v, want %v", svc.Spec.Ports, targets)
		}
		for i, n := range targets {
			p := svc.Spec.Ports[i]
			want := corev1.ServicePort{
				Name: fmt.Sprintf("port-%d", n), Protocol: corev1.ProtocolTCP, Port: n,
				TargetPort: intstr.FromInt32(n), AppProtocol: ptr.To(appProtocol),
			}
			if !reflect.DeepEqual(p, want) {
				return fmt.Errorf("port %d is %+v (appProtocol %v), want %+v (appProtocol %s)", i, p, ptr.Deref(p.AppProtocol, "<nil>"), want, appProtocol)
			}
		}
		return nil
	}
}

func TestShadowServiceForReferencedPool(t *testing.T) {
	ns := newNamespace(t)
	servedPoolSetup(t, ns, "llm")
	pool := newPool(ns, "llm", "vllm", 8000, 8001)
	mustCreate(t, pool)

	svc := waitService(t, shadowKey(ns, "llm"), nil)
	if svc.Name != "ipool-llm" {
		t.Errorf("name %q, want the stable ipool-llm", svc.Name)
	}
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("type %s clusterIP %q, want a headless ClusterIP Service", svc.Spec.Type, svc.Spec.ClusterIP)
	}
	if err := selectorIs(map[string]string{"app": "vllm"})(svc); err != nil {
		t.Error(err)
	}
	// The pool's appProtocol defaults to http in the CRD; it is carried to every port.
	if err := portsAre("http", 8000, 8001)(svc); err != nil {
		t.Error(err)
	}
	for k, v := range map[string]string{
		translate.LabelManagedBy:  translate.ManagedByValue,
		translate.LabelSourceKind: translate.InferencePoolKind,
		translate.LabelSourceName: "llm",
	} {
		if svc.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, svc.Labels[k], v)
		}
	}
	if len(svc.OwnerReferences) != 1 {
		t.Fatalf("ownerReferences %+v, want one to the pool", svc.OwnerReferences)
	}
	owner := svc.OwnerReferences[0]
	if owner.APIVersion != giev1.GroupVersion.String() || owner.Kind != "InferencePool" || owner.Name != "llm" ||
		owner.UID != pool.UID || !ptr.Deref(owner.Controller, false) {
		t.Errorf("ownerReference %+v, want the controlling InferencePool llm %s", owner, pool.UID)
	}
	if len(svc.ManagedFields) == 0 {
		t.Fatal("no managedFields")
	}
	for _, mf := range svc.ManagedFields {
		if mf.Manager != translate.FieldManager || mf.Operation != metav1.ManagedFieldsOperationApply {
			t.Errorf("managedFields entry %s/%s, want only %s/Apply", mf.Manager, mf.Operation, translate.FieldManager)
		}
	}
}

// A class with parameters serves its pools like a class without; a class whose parameters
// are missing serves nothing until they exist, and stops when they go.
func TestShadowServiceForClassWithParameters(t *testing.T) {
	ns := newNamespace(t)
	params := uniqueName(ns, "params")
	class := ourClass(uniqueName(ns, "class"))
	class.Spec.ParametersRef = parametersRef(params)
	mustCreate(t, class)
	mustCreate(t, newGateway(ns, "gw", class.Name))
	mustCreate(t, newRoute(ns, "route", "gw", poolBackendRef("", "llm")))
	mustCreate(t, newPool(ns, "llm", "vllm", 8000))
	key := shadowKey(ns, "llm")

	// Parameters missing: the class is invalid (its status says so) and serves nothing.
	classCondition(t, class.Name, metav1.ConditionFalse, string(gwapiv1.GatewayClassReasonInvalidParameters))
	staysAbsent(t, key)

	p := newParameters(params)
	mustCreate(t, p)
	waitService(t, key, selectorIs(map[string]string{"app": "vllm"}))

	// Parameters deleted once it is served: it stays served (translate/gateway_serving.go); removing the
	// route that uses the pool is what removes the Service.
	mustDelete(t, p)
	classCondition(t, class.Name, metav1.ConditionFalse, string(gwapiv1.GatewayClassReasonInvalidParameters))
	staysPresent(t, key)
	mustDelete(t, &gwapiv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "route"}})
	waitAbsent(t, key)
}

// staysPresent checks that the Service key exists for a while.
func staysPresent(t *testing.T, key client.ObjectKey) {
	t.Helper()
	consistently(t, 2*time.Second, func() error { return get(&corev1.Service{}, key) })
}

// Only a pool that a route on one of our Gateways references gets a Service.
func TestNoShadowServiceForUnservedPools(t *testing.T) {
	ns := newNamespace(t)
	servedPoolSetup(t, ns, "served")

	// A route on a Gateway of another controller's class.
	other := &gwapiv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: uniqueName(ns, "other")},
		Spec:       gwapiv1.GatewayClassSpec{ControllerName: "example.com/other-controller"},
	}
	mustCreate(t, other)
	mustCreate(t, newGateway(ns, "other-gw", other.Name))
	mustCreate(t, newRoute(ns, "other-route", "other-gw", poolBackendRef("", "other-class")))
	// A route on a Gateway that does not exist.
	mustCreate(t, newRoute(ns, "lost-route", "no-such-gw", poolBackendRef("", "no-gateway")))

	mustCreate(t, newPool(ns, "unreferenced", "a", 8000))
	mustCreate(t, newPool(ns, "other-class", "b", 8000))
	mustCreate(t, newPool(ns, "no-gateway", "c", 8000))
	// Created last: once its Service exists, the operator has had the others in its queue.
	mustCreate(t, newPool(ns, "served", "d", 8000))
	waitService(t, shadowKey(ns, "served"), nil)

	for _, name := range []string{"unreferenced", "other-class", "no-gateway"} {
		staysAbsent(t, shadowKey(ns, name))
	}
}

func TestShadowServiceFollowsPoolSpec(t *testing.T) {
	ns := newNamespace(t)
	servedPoolSetup(t, ns, "llm")
	pool := newPool(ns, "llm", "v1", 8000)
	pool.Spec.AppProtocol = giev1.AppProtocolH2C
	mustCreate(t, pool)
	key := shadowKey(ns, "llm")
	waitService(t, key, portsAre("kubernetes.io/h2c", 8000))

	mustUpdate(t, pool, func(p *giev1.InferencePool) {
		p.Spec.Selector.MatchLabels = map[giev1.LabelKey]giev1.LabelValue{"app": "v2", "tier": "gpu"}
	})
	waitService(t, key, selectorIs(map[string]string{"app": "v2", "tier": "gpu"}))

	mustUpdate(t, pool, func(p *giev1.InferencePool) {
		p.Spec.TargetPorts = []giev1.Port{{Number: 9000}, {Number: 9001}, {Number: 9002}}
	})
	waitService(t, key, portsAre("kubernetes.io/h2c", 9000, 9001, 9002))

	mustUpdate(t, pool, func(p *giev1.InferencePool) {
		p.Spec.TargetPorts = []giev1.Port{{Number: 9001}}
		p.Spec.AppProtocol = giev1.AppProtocolHTTP
	})
	waitService(t, key, portsAre("http", 9001))
	// And a removed selector key is removed from the Service.
	mustUpdate(t, pool, func(p *giev1.InferencePool) {
		p.Spec.Selector.MatchLabels = map[giev1.LabelKey]giev1.LabelValue{"app": "v2"}
	})
	waitService(t, key, selectorIs(map[string]string{"app": "v2"}))
}

// A user's edit of the generated Service is reverted. Each edit gets its own pool, so one
// unreverted edit cannot hide whether another is reverted.
func TestShadowServiceEditReverted(t *testing.T) {
	want := map[string]string{"app": "vllm"}
	for _, tc := range []struct {
		name  string
		edit  func(*corev1.Service)
		check func(*corev1.Service) error
	}{{
		name:  "selector value changed",
		edit:  func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "hijacked"} },
		check: selectorIs(want),
	}, {
		name:  "selector key added",
		edit:  func(s *corev1.Service) { s.Spec.Selector["extra"] = "x" },
		check: selectorIs(want),
	}, {
		name: "port changed",
		edit: func(s *corev1.Service) {
			s.Spec.Ports[0].Port = 9999
			s.Spec.Ports[0].TargetPort = intstr.FromInt32(9999)
		},
		check: portsAre("http", 8000),
	}, {
		name: "port added",
		edit: func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "debug", Port: 7000, Protocol: corev1.ProtocolTCP})
		},
		check: portsAre("http", 8000),
	}, {
		name:  "appProtocol changed",
		edit:  func(s *corev1.Service) { s.Spec.Ports[0].AppProtocol = ptr.To("kubernetes.io/h2c") },
		check: portsAre("http", 8000),
	}, {
		// Pruning finds generated objects by these labels: losing one would leak the Service.
		name: "source label removed",
		edit: func(s *corev1.Service) { delete(s.Labels, translate.LabelSourceKind) },
		check: func(s *corev1.Service) error {
			if s.Labels[translate.LabelSourceKind] != translate.InferencePoolKind {
				return fmt.Errorf("labels %v", s.Labels)
			}
			return nil
		},
	}, {
		name: "ownerReference removed",
		edit: func(s *corev1.Service) { s.OwnerReferences = nil },
		check: func(s *corev1.Service) error {
			if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != translate.InferencePoolKind {
				return fmt.Errorf("ownerReferences %+v", s.OwnerReferences)
			}
			return nil
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ns := newNamespace(t)
			servedPoolSetup(t, ns, "llm")
			mustCreate(t, newPool(ns, "llm", "vllm", 8000))
			key := shadowKey(ns, "llm")
			svc := waitService(t, key, nil)
			mustUpdate(t, svc, tc.edit)
			waitService(t, key, tc.check)
		})
	}
}

func TestDeletedShadowServiceRecreated(t *testing.T) {
	ns := newNamespace(t)
	servedPoolSetup(t, ns, "llm")
	mustCreate(t, newPool(ns, "llm", "vllm", 8000))
	key := shadowKey(ns, "llm")
	old := waitService(t, key, nil)
	mustDelete(t, old)
	waitService(t, key, func(s *corev1.Service) error {
		if s.UID == old.UID {
			return fmt.Errorf("still the deleted Service")
		}
		return portsAre("http", 8000)(s)
	})
}

func TestShadowServiceDeletedWhenRouteRemoved(t *testing.T) {
	ns := newNamespace(t)
	_, route := servedPoolSetup(t, ns, "llm")
	mustCreate(t, newPool(ns, "llm", "vllm", 8000))
	key := shadowKey(ns, "llm")
	waitService(t, key, nil)

	mustDelete(t, route)
	waitAbsent(t, key)

	// The route comes back: so does the Service.
	mustCreate(t, newRoute(ns, "route", "gw", poolBackendRef("", "llm")))
	waitService(t, key, nil)
}

// A route whose rules stop referencing a pool: the pool's Service goes, the new pool's comes.
func TestShadowServiceDeletedWhenRuleStopsReferencingPool(t *testing.T) {
	ns := newNamespace(t)
	_, route := servedPoolSetup(t, ns, "a")
	mustCreate(t, newPool(ns, "a", "a", 8000))
	mustCreate(t, newPool(ns, "b", "b", 8000))
	waitService(t, shadowKey(ns, "a"), nil)

	mustUpdate(t, route, func(r *gwapiv1.HTTPRoute) {
		r.Spec.Rules[0].BackendRefs = []gwapiv1.HTTPBackendRef{poolBackendRef("", "b")}
	})
	waitService(t, shadowKey(ns, "b"), nil)
	waitAbsent(t, shadowKey(ns, "a"))
}

// The route's Gateway leaving our class (or going away) stops serving the pool.
func TestShadowServiceDeletedWhenGatewayLeaves(t *testing.T) {
	ns := newNamespace(t)
	servedPoolSetup(t, ns, "llm")
	mustCreate(t, newPool(ns, "llm", "vllm", 8000))
	key := shadowKey(ns, "llm")
	waitService(t, key, nil)

	mustDelete(t, &gwapiv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gw"}})
	waitAbsent(t, key)
}

// A Service that holds the generated name but is not the operator's is never adopted: it is
// left exactly as it is, and the pool gets a Warning event. Once it goes, the operator serves
// the pool.
func TestForeignServiceWithGeneratedNameUntouched(t *testing.T) {
	ns := newNamespace(t)
	key := shadowKey(ns, "llm")
	foreign := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: key.Name, Labels: map[string]string{"owner": "someone-else"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "theirs"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 1234, TargetPort: intstr.FromInt32(1234)}},
		},
	}
	mustCreate(t, foreign)
	servedPoolSetup(t, ns, "llm")
	pool := newPool(ns, "llm", "vllm", 8000)
	mustCreate(t, pool)

	eventually(t, func() error {
		evs := eventsFor(t, pool, "GeneratedNameInUse")
		if len(evs) == 0 {
			return fmt.Errorf("no GeneratedNameInUse event on the pool")
		}
		if evs[0].Type != corev1.EventTypeWarning || !strings.Contains(evs[0].Note, key.Name) {
			return fmt.Errorf("event %s %q, want a Warning naming %s", evs[0].Type, evs[0].Note, key.Name)
		}
		return nil
	})
	consistently(t, 2*time.Second, func() error {
		got := &corev1.Service{}
		if err := get(got, key); err != nil {
			return err
		}
		if got.ResourceVersion != foreign.ResourceVersion {
			return fmt.Errorf("foreign Service written: resourceVersion %s → %s", foreign.ResourceVersion, got.ResourceVersion)
		}
		if !reflect.DeepEqual(got.Spec, foreign.Spec) || !reflect.DeepEqual(got.Labels, foreign.Labels) {
			return fmt.Errorf("foreign Service changed: %+v", got)
		}
		return nil
	})

	mustDelete(t, foreign)
	waitService(t, key, func(s *corev1.Service) error {
		if s.Labels[translate.LabelManagedBy] != translate.ManagedByValue {
			return fmt.Errorf("not the operator's Service yet: labels %v", s.Labels)
		}
		return selectorIs(map[string]string{"app": "vllm"})(s)
	})
}

// A pool name of 200 characters (valid: InferencePool names are DNS-1123 subdomains) gives a
// Service name that is a DNS-1035 label, and a working Service.
func TestLongPoolNameGivesValidServiceName(t *testing.T) {
	ns := newNamespace(t)
	name := strings.Repeat("a", 100) + "." + strings.Repeat("b", 99)
	if len(name) != 200 {
		t.Fatalf("test name has %d characters", len(name))
	}
	servedPoolSetup(t, ns, name)
	pool := newPool(ns, name, "vllm", 8000)
	mustCreate(t, pool)

	key := shadowKey(ns, name)
	if errs := validation.IsDNS1035Label(key.Name); len(errs) != 0 || len(key.Name) > 63 {
		t.Fatalf("Service name %q (%d characters) is not a DNS-1035 label: %v", key.Name, len(key.Name), errs)
	}
	svc := waitService(t, key, selectorIs(map[string]string{"app": "vllm"}))
	if err := portsAre("http", 8000)(svc); err != nil {
		t.Error(err)
	}
	if v := svc.Labels[translate.LabelSourceName]; len(validation.IsValidLabelValue(v)) != 0 {
		t.Errorf("source-name label %q is not a valid label value", v)
	}
	if len(svc.OwnerReferences) != 1 || svc.OwnerReferences[0].Name != name {
		t.Errorf("ownerReferences %+v, want the pool's full name", svc.OwnerReferences)
	}

	// Pruning finds it by its shortened label too.
	mustDelete(t, &gwapiv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "route"}})
	waitAbsent(t, key)
}

// A route referencing a pool in another namespace is served only while a ReferenceGrant in
// the pool's namespace allows it.
func TestCrossNamespacePoolNeedsReferenceGrant(t *testing.T) {
	routeNS := newNamespace(t)
	poolNS := newNamespace(t)
	class := uniqueName(routeNS, "class")
	mustCreate(t, ourClass(class))
	mustCreate(t, newGateway(routeNS, "gw", class))
	mustCreate(t, newRoute(routeNS, "route", "gw", poolBackendRef(poolNS, "llm"), poolBackendRef("", "local")))
	mustCreate(t, newPool(poolNS, "llm", "vllm", 8000))
	// The same route's local pool is served: once it is, the route has been seen.
	mustCreate(t, newPool(routeNS, "local", "local", 8000))
	waitService(t, shadowKey(routeNS, "local"), nil)
	key := shadowKey(poolNS, "llm")
	staysAbsent(t, key)

	// A grant for another kind, or from another namespace, does not help.
	mustCreate(t, &gwapiv1beta1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: poolNS, Name: "wrong"},
		Spec: gwapiv1beta1.ReferenceGrantSpec{
			From: []gwapiv1beta1.ReferenceGrantFrom{{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Namespace: "elsewhere"}},
			To:   []gwapiv1beta1.ReferenceGrantTo{{Group: translate.InferenceGroup, Kind: translate.InferencePoolKind}},
		},
	})
	staysAbsent(t, key)

	grant := &gwapiv1beta1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: poolNS, Name: "routes"},
		Spec: gwapiv1beta1.ReferenceGrantSpec{
			From: []gwapiv1beta1.ReferenceGrantFrom{{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Namespace: gwapiv1.Namespace(routeNS)}},
			To:   []gwapiv1beta1.ReferenceGrantTo{{Group: translate.InferenceGroup, Kind: translate.InferencePoolKind, Name: ptr.To(gwapiv1.ObjectName("llm"))}},
		},
	}
	mustCreate(t, grant)
	waitService(t, key, selectorIs(map[string]string{"app": "vllm"}))

	mustDelete(t, grant)
	waitAbsent(t, key)
}

// Once everything has settled, reconciles (triggered by touching the inputs, and by the
// cache's periodic resync) write nothing.
func TestSteadyStateMakesNoWrites(t *testing.T) {
	ns := newNamespace(t)
	otherNS := newNamespace(t)
	class, route := servedPoolSetup(t, ns, "llm")
	mustUpdate(t, route, func(r *gwapiv1.HTTPRoute) {
		r.Spec.Rules = append(r.Spec.Rules,
			gwapiv1.HTTPRouteRule{BackendRefs: []gwapiv1.HTTPBackendRef{poolBackendRef("", "h2c")}},
			gwapiv1.HTTPRouteRule{BackendRefs: []gwapiv1.HTTPBackendRef{poolBackendRef("", "taken")}},
			gwapiv1.HTTPRouteRule{BackendRefs: []gwapiv1.HTTPBackendRef{poolBackendRef(otherNS, "remote")}},
		)
	})
	mustCreate(t, &gwapiv1beta1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: otherNS, Name: "routes"},
		Spec: gwapiv1beta1.ReferenceGrantSpec{
			From: []gwapiv1beta1.ReferenceGrantFrom{{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Namespace: gwapiv1.Namespace(ns)}},
			To:   []gwapiv1beta1.ReferenceGrantTo{{Group: translate.InferenceGroup, Kind: translate.InferencePoolKind}},
		},
	})
	mustCreate(t, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: translate.ShadowServiceName("taken")},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	})
	pools := []*giev1.InferencePool{
		newPool(ns, "llm", "vllm", 8000, 8001),
		newPool(ns, "h2c", "h2c", 8000),
		newPool(ns, "taken", "taken", 8000),
		newPool(ns, "unreferenced", "x", 8000),
		newPool(otherNS, "remote", "remote", 8000),
	}
	pools[1].Spec.AppProtocol = giev1.AppProtocolH2C
	for _, p := range pools {
		mustCreate(t, p)
	}
	waitService(t, shadowKey(ns, "llm"), nil)
	waitService(t, shadowKey(ns, "h2c"), nil)
	waitService(t, shadowKey(otherNS, "remote"), nil)
	eventually(t, func() error {
		if len(eventsFor(t, pools[2], "GeneratedNameInUse")) == 0 {
			return fmt.Errorf("no GeneratedNameInUse event yet")
		}
		return nil
	})
	// Let the convergence finish before counting: on a loaded machine its last status writes
	// can come seconds after the objects above exist.
	ours := func(w write) bool { return inNamespace(ns, class)(w) || inNamespace(otherNS)(w) }
	waitQuiet(t, ours, 2*time.Second)
	writes.reset()
	before := reconcileTotal(t, "inferencepool")

	// Touch every input without changing what it means: annotations only.
	touch := func(obj client.Object) {
		mustUpdate(t, obj, func(o client.Object) {
			o.SetAnnotations(map[string]string{"touched": time.Now().Format(time.RFC3339Nano)})
		})
	}
	touch(route)
	touch(&gwapiv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gw"}})
	touch(&gwapiv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: class}})
	for _, p := range pools {
		touch(p)
	}
	eventually(t, func() error {
		// Each touch of the route, Gateway or class reconciles its 4 pools; each pool touch one.
		if n := reconcileTotal(t, "inferencepool") - before; n < float64(len(pools)) {
			return fmt.Errorf("only %v pool reconciles after the touches", n)
		}
		return nil
	})
	time.Sleep(time.Second)
	if w := writes.matching(ours); len(w) != 0 {
		t.Errorf("writes after touching unchanged inputs: %v", w)
	}

	// And through a periodic resync of the cache, which reconciles every pool.
	writes.reset()
	before = reconcileTotal(t, "inferencepool")
	waitResync(t, reconcileCounts(t, "inferencepool", "httproute", "gateway"))
	eventuallyWithin(t, resyncWait, func() error {
		if n := reconcileTotal(t, "inferencepool") - before; n < float64(len(pools)) {
			return fmt.Errorf("only %v pool reconciles since the resync began, want at least %d", n, len(pools))
		}
		return nil
	})
	if w := writes.matching(ours); len(w) != 0 {
		t.Errorf("writes during a resync period in steady state: %v", w)
	}
	if all := writes.snapshot(); len(all) != 0 {
		t.Logf("writes elsewhere in the cluster during the resync period (other tests' objects): %v", all)
	}
}

// Pools are reconciled DefaultMaxConcurrentPoolReconciles at a time, the other kinds
// DefaultMaxConcurrentReconciles: a pool's reconcile applies several objects in turn.
func TestPoolWorkers(t *testing.T) {
	// The gauge is set as each controller starts.
	eventually(t, func() error {
		families, err := crmetrics.Registry.Gather()
		if err != nil {
			return err
		}
		workers := map[string]float64{}
		for _, f := range families {
			if f.GetName() != "controller_runtime_max_concurrent_reconciles" {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "controller" {
						workers[l.GetValue()] = m.GetGauge().GetValue()
					}
				}
			}
		}
		if workers["inferencepool"] != DefaultMaxConcurrentPoolReconciles || workers["httproute"] != DefaultMaxConcurrentReconciles {
			return fmt.Errorf("workers per controller %v, want %d for inferencepool and %d for httproute", workers, DefaultMaxConcurrentPoolReconciles, DefaultMaxConcurrentReconciles)
		}
		return nil
	})
}
