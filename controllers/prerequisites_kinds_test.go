package controllers

import (
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestWriteGatedSetOf checks that every kind of a write-gated set, as an object and as a list,
// finds its set (else the operator would write it while its CRD is missing, or prune before
// its index exists), and that the kinds the operator always needs find none.
func TestWriteGatedSetOf(t *testing.T) {
	for _, set := range writeGatedSets {
		for _, gvk := range set.kinds {
			obj, err := kindsScheme.New(gvk)
			if err != nil {
				t.Fatal(err)
			}
			if got := writeGatedSetOf(obj); got != set {
				t.Errorf("%s: set %v, want %v", gvk.Kind, got, set)
			}
			list, err := kindsScheme.New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			if err != nil {
				t.Fatal(err)
			}
			if got := writeGatedSetOf(list); got != set {
				t.Errorf("%sList: set %v, want %v", gvk.Kind, got, set)
			}
		}
	}
	for _, obj := range []client.Object{&gwapiv1.HTTPRoute{}, &gwapiv1.Gateway{}, &corev1.Service{}} {
		if got := writeGatedSetOf(obj); got != nil {
			t.Errorf("%T: set %v, want none", obj, got)
		}
	}
	if writeGatedSetOf(&egv1a1.Backend{}) != &envoyGatewayAPIs || writeGatedSetOf(&gwapiv1.BackendTLSPolicyList{}) != &backendTLSPolicyAPIs {
		t.Error("Backend or BackendTLSPolicyList outside its set")
	}
}
