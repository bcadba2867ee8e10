package controllers

import (
	"fmt"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// poolWithEPP sets up a served pool "llm" with its EPP Service and returns the class and pool.
func poolWithEPP(t *testing.T, ns string, mutate func(*giev1.InferencePool)) (string, *giev1.InferencePool) {
	t.Helper()
	class, _ := servedPoolSetup(t, ns, "llm")
	pool := newPool(ns, "llm", "vllm", 8000)
	if mutate != nil {
		mutate(pool)
	}
	mustCreate(t, pool)
	mustCreate(t, eppService(ns, "llm"))
	if err := get(pool, client.ObjectKeyFromObject(pool)); err != nil {
		t.Fatal(err)
	}
	return class, pool
}

// The pool's rules get a BackendTrafficPolicy (endpoint override from the destination header,
// LeastRequest fallback) and an EnvoyExtensionPolicy calling the EPP through a Backend.
func TestPoolPoliciesGenerated(t *testing.T) {
	ns := newNamespace(t)
	class, pool := poolWithEPP(t, ns, nil)

	btp := waitGenerated(t, &egv1a1.BackendTrafficPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class, "HTTPRoute", 0)})
	lb := btp.Spec.LoadBalancer
	if lb == nil || lb.Type != egv1a1.LeastRequestLoadBalancerType || lb.EndpointOverride == nil ||
		*lb.EndpointOverride.ExtractFrom[0].Header != translate.DestinationHeader {
		t.Fatalf("loadBalancer %+v", lb)
	}
	target := btp.Spec.TargetRefs[0]
	if string(target.Name) != translate.GeneratedRouteName("route") || target.SectionName == nil || *target.SectionName != "rule-0" {
		t.Fatalf("targetRefs %+v", btp.Spec.TargetRefs)
	}
	waitUntil(t, &egv1a1.EnvoyExtensionPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class, "HTTPRoute", 0)}, func(eep *egv1a1.EnvoyExtensionPolicy) error {
		ep := eep.Spec.ExtProc[0]
		if string(ep.BackendRefs[0].Name) != translate.EPPBackendName("llm") || *ep.BackendRefs[0].Kind != "Backend" ||
			*ep.ProcessingMode.Request.Body != egv1a1.FullDuplexStreamedExtBodyProcessingMode ||
			*ep.ProcessingMode.Response.Body != egv1a1.FullDuplexStreamedExtBodyProcessingMode ||
			string(*ep.MessageTimeout) != "10s" || *ep.FailOpen || ep.Metadata.WritableNamespaces[0] != "envoy.lb" {
			return fmt.Errorf("extProc %+v", ep)
		}
		return nil
	})
	backend := waitGenerated(t, &egv1a1.Backend{}, client.ObjectKey{Namespace: ns, Name: translate.EPPBackendName("llm")})
	if backend.Spec.Endpoints[0].FQDN.Hostname != fmt.Sprintf("llm-epp.%s.svc.cluster.local", ns) || !*backend.Spec.TLS.InsecureSkipVerify {
		t.Fatalf("backend %+v", backend.Spec)
	}
}

// TLS modes Verify (Service + BackendTLSPolicy) and Disabled (Service, nothing else).
func TestPoolTLSModes(t *testing.T) {
	for _, tc := range []struct {
		mode      v1alpha1.TLSMode
		wantTLSPo bool
	}{{v1alpha1.TLSModeVerify, true}, {v1alpha1.TLSModeDisabled, false}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			ns := newNamespace(t)
			tls := &v1alpha1.EndpointPickerTLS{Mode: tc.mode}
			if tc.mode == v1alpha1.TLSModeVerify {
				tls.CACertificateRefs = []gwapiv1.LocalObjectReference{{Group: "", Kind: "ConfigMap", Name: "epp-ca"}}
				tls.Hostname = ptrTo(gwapiv1.PreciseHostname("epp.internal"))
			}
			params := &v1alpha1.InferenceGatewayParameters{
				ObjectMeta: metav1.ObjectMeta{Name: uniqueName(ns, "params")},
				Spec:       v1alpha1.InferenceGatewayParametersSpec{EndpointPicker: &v1alpha1.EndpointPickerSettings{TLS: tls}},
			}
			mustCreate(t, params)
			class := ourClass(uniqueName(ns, "class"))
			class.Spec.ParametersRef = parametersRef(params.Name)
			mustCreate(t, class)
			mustCreate(t, newGateway(ns, "gw", class.Name))
			mustCreate(t, newRoute(ns, "route", "gw", poolBackendRef("", "llm")))
			pool := newPool(ns, "llm", "vllm", 8000)
			mustCreate(t, pool)
			mustCreate(t, eppService(ns, "llm"))
			if err := get(pool, client.ObjectKeyFromObject(pool)); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, &egv1a1.EnvoyExtensionPolicy{}, client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class.Name, "HTTPRoute", 0)}, func(eep *egv1a1.EnvoyExtensionPolicy) error {
				if ref := eep.Spec.ExtProc[0].BackendRefs[0]; string(ref.Name) != "llm-epp" || *ref.Kind != "Service" {
					return fmt.Errorf("extProc backend %+v", ref)
				}
				return nil
			})
			tlsKey := client.ObjectKey{Namespace: ns, Name: translate.EPPTLSPolicyName("llm")}
			if tc.wantTLSPo {
				btls := waitGenerated(t, &gwapiv1.BackendTLSPolicy{}, tlsKey)
				if string(btls.Spec.Validation.Hostname) != "epp.internal" || btls.Spec.Validation.CACertificateRefs[0].Name != "epp-ca" {
					t.Fatalf("BackendTLSPolicy %+v", btls.Spec)
				}
			} else if err := absent(&gwapiv1.BackendTLSPolicy{}, tlsKey); err != nil {
				t.Fatal(err)
			}
			if err := absent(&egv1a1.Backend{}, client.ObjectKey{Namespace: ns, Name: translate.EPPBackendName("llm")}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// An EPP ref that does not resolve: ResolvedRefs False/InvalidExtensionRef, for each cause.
func TestInvalidEndpointPickerRef(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, ns string, pool *giev1.InferencePool)
	}{
		{"missing Service", func(t *testing.T, ns string, pool *giev1.InferencePool) {}},
		{"ExternalName Service", func(t *testing.T, ns string, pool *giev1.InferencePool) {
			svc := eppService(ns, "llm")
			svc.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "epp.example.com"}
			mustCreate(t, svc)
		}},
		{"wrong port", func(t *testing.T, ns string, pool *giev1.InferencePool) {
			pool.Spec.EndpointPickerRef.Port = &giev1.Port{Number: 9999}
			mustCreate(t, eppService(ns, "llm"))
		}},
		{"wrong kind", func(t *testing.T, ns string, pool *giev1.InferencePool) {
			g := giev1.Group("example.com")
			pool.Spec.EndpointPickerRef.Group, pool.Spec.EndpointPickerRef.Kind = &g, "Picker"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := newNamespace(t)
			servedPoolSetup(t, ns, "llm")
			pool := newPool(ns, "llm", "vllm", 8000)
			tc.setup(t, ns, pool)
			mustCreate(t, pool)
			waitPoolCondition(t, pool, ns, "gw", "ResolvedRefs", metav1.ConditionFalse, string(giev1.InferencePoolReasonInvalidExtensionRef))
		})
	}
}

// FailOpen: while the EPP has no ready endpoint the extension policy is withdrawn (event and
// metric say so); a ready endpoint brings it back.
func TestFailOpenDetachesAndRestores(t *testing.T) {
	ns := newNamespace(t)
	class, pool := poolWithEPP(t, ns, func(p *giev1.InferencePool) {
		p.Spec.EndpointPickerRef.FailureMode = giev1.EndpointPickerFailOpen
	})
	eepKey := client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class, "HTTPRoute", 0)}
	btpKey := client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class, "HTTPRoute", 0)}
	waitGenerated(t, &egv1a1.BackendTrafficPolicy{}, btpKey)
	consistently(t, pollInterval*10, func() error { return absent(&egv1a1.EnvoyExtensionPolicy{}, eepKey) })
	eventually(t, func() error {
		if len(eventsFor(t, pool, "FailOpenActivated")) == 0 {
			return fmt.Errorf("no FailOpenActivated event")
		}
		return nil
	})
	if v := testutil.ToFloat64(failOpenActive.WithLabelValues(ns, "llm")); v != 1 {
		t.Fatalf("failopen metric %v, want 1", v)
	}

	ready := true
	mustCreate(t, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: "llm-epp-1", Labels: map[string]string{discoveryv1.LabelServiceName: "llm-epp"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.7"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	})
	waitGenerated(t, &egv1a1.EnvoyExtensionPolicy{}, eepKey)
	eventually(t, func() error {
		if len(eventsFor(t, pool, "FailOpenDeactivated")) == 0 {
			return fmt.Errorf("no FailOpenDeactivated event")
		}
		if v := testutil.ToFloat64(failOpenActive.WithLabelValues(ns, "llm")); v != 0 {
			return fmt.Errorf("failopen metric %v, want 0", v)
		}
		return nil
	})
}

// Drift on generated policies: an edit is reverted (including an added target, which
// server-side apply alone cannot remove), a deletion re-created.
func TestPolicyDriftReverted(t *testing.T) {
	ns := newNamespace(t)
	class, pool := poolWithEPP(t, ns, nil)
	btpKey := client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class, "HTTPRoute", 0)}
	btp := waitGenerated(t, &egv1a1.BackendTrafficPolicy{}, btpKey)
	mustUpdate(t, btp, func(p *egv1a1.BackendTrafficPolicy) {
		p.Spec.LoadBalancer.Type = egv1a1.RandomLoadBalancerType
		p.Spec.TargetRefs = append(p.Spec.TargetRefs, gwapiv1.LocalPolicyTargetReferenceWithSectionName{
			LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Name: "other"},
		})
	})
	eventually(t, func() error {
		if err := get(btp, btpKey); err != nil {
			return err
		}
		if btp.Spec.LoadBalancer.Type != egv1a1.LeastRequestLoadBalancerType || len(btp.Spec.TargetRefs) != 1 {
			return fmt.Errorf("not reverted: type %s, %d targets", btp.Spec.LoadBalancer.Type, len(btp.Spec.TargetRefs))
		}
		return nil
	})
	eepKey := client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class, "HTTPRoute", 0)}
	mustDelete(t, waitGenerated(t, &egv1a1.EnvoyExtensionPolicy{}, eepKey))
	eventually(t, func() error {
		eep := &egv1a1.EnvoyExtensionPolicy{}
		if err := get(eep, eepKey); err != nil {
			return err
		}
		if !eep.DeletionTimestamp.IsZero() {
			return fmt.Errorf("still the deleted one")
		}
		return nil
	})
}

// A foreign policy holding a generated name is left alone, with a Warning event on the pool.
func TestForeignPolicyUntouched(t *testing.T) {
	ns := newNamespace(t)
	class := uniqueName(ns, "class")
	pool := newPool(ns, "llm", "vllm", 8000)
	foreign := &egv1a1.BackendTrafficPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: translate.PolicyName(pool, ns, class, "HTTPRoute", 0)},
		Spec: egv1a1.BackendTrafficPolicySpec{PolicyTargetReferences: egv1a1.PolicyTargetReferences{
			TargetRefs: []gwapiv1.LocalPolicyTargetReferenceWithSectionName{{LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Name: "mine"}}},
		}},
	}
	mustCreate(t, foreign)
	rv := foreign.ResourceVersion
	mustCreate(t, ourClass(class))
	mustCreate(t, newGateway(ns, "gw", class))
	mustCreate(t, newRoute(ns, "route", "gw", poolBackendRef("", "llm")))
	mustCreate(t, pool)
	mustCreate(t, eppService(ns, "llm"))
	eventually(t, func() error {
		if len(eventsFor(t, pool, "GeneratedNameInUse")) == 0 {
			return fmt.Errorf("no GeneratedNameInUse event on the pool")
		}
		return nil
	})
	if err := get(foreign, client.ObjectKeyFromObject(foreign)); err != nil {
		t.Fatal(err)
	}
	if foreign.ResourceVersion != rv || foreign.Labels[translate.LabelManagedBy] != "" {
		t.Fatalf("foreign policy was written: resourceVersion %s→%s, labels %v", rv, foreign.ResourceVersion, foreign.Labels)
	}
}

// Status entries of other controllers on a pool are preserved, and ours are removed when the
// pool is no longer referenced.
func TestOtherControllersPoolParentsPreserved(t *testing.T) {
	ns := newNamespace(t)
	_, route := servedPoolSetup(t, ns, "llm")
	pool := newPool(ns, "llm", "vllm", 8000)
	mustCreate(t, pool)
	group := giev1.Group(gwapiv1.GroupName)
	other := giev1.ParentStatus{
		ParentRef:      giev1.ParentReference{Group: &group, Kind: "Gateway", Namespace: giev1.Namespace(ns), Name: "other-gw"},
		ControllerName: "example.com/other-controller",
		Conditions:     []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: metav1.Now()}},
	}
	setStatus(t, pool, func(p *giev1.InferencePool) { p.Status.Parents = append(p.Status.Parents, other) })
	eventually(t, func() error {
		if err := get(pool, client.ObjectKeyFromObject(pool)); err != nil {
			return err
		}
		if _, err := ourPoolParent(pool, ns, "gw"); err != nil {
			return err
		}
		return hasOtherParent(pool)
	})
	mustDelete(t, route)
	eventually(t, func() error {
		if err := get(pool, client.ObjectKeyFromObject(pool)); err != nil {
			return err
		}
		if len(pool.Status.Parents) != 1 {
			return fmt.Errorf("parents %+v, want only the other controller's", pool.Status.Parents)
		}
		return hasOtherParent(pool)
	})
}

func hasOtherParent(pool *giev1.InferencePool) error {
	for _, p := range pool.Status.Parents {
		if p.ControllerName == "example.com/other-controller" && p.ParentRef.Name == "other-gw" {
			return nil
		}
	}
	return fmt.Errorf("the other controller's entry is gone: %+v", pool.Status.Parents)
}

// Deleting the pool removes everything generated for it, even where no garbage collector runs
// (envtest has none): the reconcile prunes by label.
func TestPoolDeletionPrunes(t *testing.T) {
	ns := newNamespace(t)
	class, pool := poolWithEPP(t, ns, nil)
	keys := map[client.Object]client.ObjectKey{
		&corev1.Service{}:              {Namespace: ns, Name: translate.ShadowServiceName("llm")},
		&egv1a1.BackendTrafficPolicy{}: {Namespace: ns, Name: translate.PolicyName(pool, ns, class, "HTTPRoute", 0)},
		&egv1a1.EnvoyExtensionPolicy{}: {Namespace: ns, Name: translate.PolicyName(pool, ns, class, "HTTPRoute", 0)},
		&egv1a1.Backend{}:              {Namespace: ns, Name: translate.EPPBackendName("llm")},
	}
	for obj, key := range keys {
		waitGenerated(t, obj, key)
	}
	mustDelete(t, pool)
	for obj, key := range keys {
		eventually(t, func() error { return absent(obj, key) })
	}
}

// A pool's policy that an earlier build named otherwise (ipool-<pool>-<class>-epp-<hash>) is
// pruned by the pool's reconcile, and the policy of the current name holds the rule.
func TestPoolPolicyOfAnEarlierNamePruned(t *testing.T) {
	ns := newNamespace(t)
	class, pool := poolWithEPP(t, ns, nil)
	current := client.ObjectKey{Namespace: ns, Name: translate.PolicyName(pool, ns, class, "HTTPRoute", 0)}
	waitGenerated(t, &egv1a1.EnvoyExtensionPolicy{}, current)
	src := translate.Source{Kind: translate.InferencePoolKind, Namespace: ns, Name: pool.Name}
	earlier := &egv1a1.EnvoyExtensionPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ipool-llm-" + class + "-epp-0123abcd", Labels: src.Labels(),
			Annotations: map[string]string{translate.AnnotationSource: src.String()}},
		Spec: egv1a1.EnvoyExtensionPolicySpec{PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: []gwapiv1.LocalPolicyTargetReferenceWithSectionName{{
			LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Name: gwapiv1.ObjectName(translate.GeneratedRouteName("route"))},
			SectionName:                ptrTo(gwapiv1.SectionName("rule-0")),
		}}}},
	}
	mustCreate(t, earlier)
	// Its creation reconciles the pool (a generated object names its source); so does this.
	mustUpdate(t, pool, func(p *giev1.InferencePool) { p.Labels = map[string]string{"touched": "yes"} })
	eventually(t, func() error { return absent(&egv1a1.EnvoyExtensionPolicy{}, client.ObjectKeyFromObject(earlier)) })
	if err := get(&egv1a1.EnvoyExtensionPolicy{}, current); err != nil {
		t.Fatalf("the current policy: %v", err)
	}
}
