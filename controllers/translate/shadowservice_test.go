package translate_test

import (
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

func testPool(name string, appProtocol giev1.AppProtocol, labels map[string]string, ports ...int32) *giev1.InferencePool {
	pool := &giev1.InferencePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: "models", Name: name, UID: types.UID("uid-" + name)},
		Spec:       giev1.InferencePoolSpec{AppProtocol: appProtocol},
	}
	pool.Spec.Selector.MatchLabels = map[giev1.LabelKey]giev1.LabelValue{}
	for k, v := range labels {
		pool.Spec.Selector.MatchLabels[giev1.LabelKey(k)] = giev1.LabelValue(v)
	}
	for _, p := range ports {
		pool.Spec.TargetPorts = append(pool.Spec.TargetPorts, giev1.Port{Number: giev1.PortNumber(p)})
	}
	return pool
}

func servicePort(n int32, appProtocol *string) corev1.ServicePort {
	return corev1.ServicePort{
		Name: translate.ShadowServicePortName(n), Protocol: corev1.ProtocolTCP, AppProtocol: appProtocol,
		Port: n, TargetPort: intstr.FromInt32(n),
	}
}

func TestShadowService(t *testing.T) {
	long := subdomain(200, 'p')
	for _, tc := range []struct {
		name      string
		pool      *giev1.InferencePool
		wantName  string
		wantSel   map[string]string
		wantPorts []corev1.ServicePort
	}{{
		name:      "one port, http",
		pool:      testPool("llm", giev1.AppProtocolHTTP, map[string]string{"app": "vllm"}, 8000),
		wantName:  "ipool-llm",
		wantSel:   map[string]string{"app": "vllm"},
		wantPorts: []corev1.ServicePort{servicePort(8000, ptr.To("http"))},
	}, {
		name:     "several ports in pool order, h2c carried to each",
		pool:     testPool("dp", giev1.AppProtocolH2C, map[string]string{"app": "vllm", "tier": "gpu"}, 8002, 8000, 8001),
		wantName: "ipool-dp",
		wantSel:  map[string]string{"app": "vllm", "tier": "gpu"},
		wantPorts: []corev1.ServicePort{
			servicePort(8002, ptr.To("kubernetes.io/h2c")), servicePort(8000, ptr.To("kubernetes.io/h2c")), servicePort(8001, ptr.To("kubernetes.io/h2c")),
		},
	}, {
		name:      "no appProtocol (not defaulted yet): none on the ports",
		pool:      testPool("raw", "", map[string]string{"app": "x"}, 9000),
		wantName:  "ipool-raw",
		wantSel:   map[string]string{"app": "x"},
		wantPorts: []corev1.ServicePort{servicePort(9000, nil)},
	}, {
		name:      "200-character name",
		pool:      testPool(long, giev1.AppProtocolHTTP, map[string]string{"app": "x"}, 8000),
		wantName:  translate.ShadowServiceName(long),
		wantSel:   map[string]string{"app": "x"},
		wantPorts: []corev1.ServicePort{servicePort(8000, ptr.To("http"))},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			svc := translate.ShadowService(tc.pool)
			if svc.APIVersion != "v1" || svc.Kind != "Service" {
				t.Errorf("type meta %s/%s, want v1/Service (server-side apply needs it)", svc.APIVersion, svc.Kind)
			}
			if svc.Name != tc.wantName || svc.Namespace != tc.pool.Namespace {
				t.Errorf("name %s/%s, want %s/%s", svc.Namespace, svc.Name, tc.pool.Namespace, tc.wantName)
			}
			if errs := validation.IsDNS1035Label(svc.Name); len(errs) != 0 {
				t.Errorf("name %q is not a DNS-1035 label: %v", svc.Name, errs)
			}
			if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("type %q clusterIP %q, want headless", svc.Spec.Type, svc.Spec.ClusterIP)
			}
			if !reflect.DeepEqual(svc.Spec.Selector, tc.wantSel) {
				t.Errorf("selector %v, want %v", svc.Spec.Selector, tc.wantSel)
			}
			if !reflect.DeepEqual(svc.Spec.Ports, tc.wantPorts) {
				t.Errorf("ports\n got %+v\nwant %+v", svc.Spec.Ports, tc.wantPorts)
			}
			for k, v := range map[string]string{
				translate.LabelManagedBy:  translate.ManagedByValue,
				translate.LabelSourceKind: translate.InferencePoolKind,
				translate.LabelSourceName: translate.LabelValue(tc.pool.Name),
			} {
				if svc.Labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, svc.Labels[k], v)
				}
			}
			for k, v := range svc.Labels {
				if errs := validation.IsValidLabelValue(v); len(errs) != 0 {
					t.Errorf("label %s = %q is invalid: %v", k, v, errs)
				}
			}
			want := []metav1.OwnerReference{{
				APIVersion: "inference.networking.k8s.io/v1", Kind: "InferencePool",
				Name: tc.pool.Name, UID: tc.pool.UID, Controller: ptr.To(true),
			}}
			if !reflect.DeepEqual(svc.OwnerReferences, want) {
				t.Errorf("ownerReferences %+v, want %+v", svc.OwnerReferences, want)
			}
			if !reflect.DeepEqual(svc.Status, corev1.ServiceStatus{}) {
				t.Errorf("status %+v, want none", svc.Status)
			}
		})
	}
}

// The Service must not share maps with the pool: the applier and the cache own them.
func TestShadowServiceCopiesSelector(t *testing.T) {
	pool := testPool("llm", giev1.AppProtocolHTTP, map[string]string{"app": "vllm"}, 8000)
	svc := translate.ShadowService(pool)
	svc.Spec.Selector["app"] = "changed"
	if pool.Spec.Selector.MatchLabels["app"] != "vllm" {
		t.Errorf("editing the Service's selector changed the pool's: %v", pool.Spec.Selector.MatchLabels)
	}
}

// The same pool always renders the same Service (the applier's "unchanged" check relies on it).
func TestShadowServiceDeterministic(t *testing.T) {
	labels := map[string]string{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		labels[k] = k
	}
	pool := testPool("llm", giev1.AppProtocolHTTP, labels, 8000, 8001)
	first, err := translate.DesiredHash(translate.ShadowService(pool))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		h, err := translate.DesiredHash(translate.ShadowService(pool))
		if err != nil {
			t.Fatal(err)
		}
		if h != first {
			t.Fatalf("hash %s then %s for the same pool", first, h)
		}
	}
}

// ApplyMapHash, which the Applier calls on the map it sends, is DesiredHash: whatever the map's
// own desired-hash annotation says, and without changing the map.
func TestApplyMapHashIsDesiredHash(t *testing.T) {
	svc := translate.ShadowService(testPool("llm", giev1.AppProtocolHTTP, map[string]string{"app": "llm"}, 8000))
	want, err := translate.DesiredHash(svc)
	if err != nil {
		t.Fatal(err)
	}
	stamped := svc.DeepCopy()
	if stamped.Annotations == nil {
		stamped.Annotations = map[string]string{}
	}
	stamped.Annotations[translate.AnnotationDesiredHash] = "0123456789abcdef"
	for name, obj := range map[string]*corev1.Service{"plain": svc, "stamped": stamped} {
		m, err := translate.ApplyMap(obj)
		if err != nil {
			t.Fatal(err)
		}
		before := fmt.Sprint(m)
		if got, err := translate.ApplyMapHash(m); err != nil || got != want {
			t.Errorf("%s: ApplyMapHash = %s (%v), DesiredHash = %s", name, got, err, want)
		}
		if after := fmt.Sprint(m); after != before {
			t.Errorf("%s: ApplyMapHash changed its map:\n%s\n%s", name, before, after)
		}
	}
}
