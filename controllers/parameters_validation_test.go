package controllers

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
)

// The CRD's validation of InferenceGatewayParameters, as the API server applies it: what a user
// cannot write, with the message they get.
func TestParametersValidation(t *testing.T) {
	d := func(s string) *v1alpha1.Duration { return ptr.To(v1alpha1.Duration(s)) }
	for _, tc := range []struct {
		name    string
		spec    v1alpha1.InferenceGatewayParametersSpec
		message string // empty: accepted
	}{
		{name: "no route timeouts"},
		{name: "request off, backendRequest bounded", spec: v1alpha1.InferenceGatewayParametersSpec{RouteTimeouts: &v1alpha1.RouteTimeouts{Request: d("0s"), BackendRequest: d("10m")}}},
		{name: "backendRequest within request", spec: v1alpha1.InferenceGatewayParametersSpec{RouteTimeouts: &v1alpha1.RouteTimeouts{Request: d("10m"), BackendRequest: d("5m"), StreamIdle: d("90s")}}},
		{
			name:    "backendRequest longer than request",
			spec:    v1alpha1.InferenceGatewayParametersSpec{RouteTimeouts: &v1alpha1.RouteTimeouts{Request: d("1m"), BackendRequest: d("2m")}},
			message: "backendRequest must not be longer than request",
		},
		{
			name:    "streamIdle switched off",
			spec:    v1alpha1.InferenceGatewayParametersSpec{RouteTimeouts: &v1alpha1.RouteTimeouts{StreamIdle: d("0s")}},
			message: "streamIdle must be longer than 0s",
		},
		{
			name:    "not a duration",
			spec:    v1alpha1.InferenceGatewayParametersSpec{RouteTimeouts: &v1alpha1.RouteTimeouts{Request: d("5 minutes")}},
			message: "spec.routeTimeouts.request",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &v1alpha1.InferenceGatewayParameters{Spec: tc.spec}
			p.Name = uniqueName(newNamespace(t), "params")
			err := k8s.Create(context.Background(), p)
			if tc.message == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				got := &v1alpha1.InferenceGatewayParameters{}
				if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(p), got); err != nil {
					t.Fatal(err)
				}
				// The CRD's defaults are the documented ones (ResolveSettings uses the same).
				rt := got.Spec.RouteTimeouts
				if rt != nil && (ptr.Deref(rt.Request, "") == "" || ptr.Deref(rt.StreamIdle, "") == "") {
					t.Errorf("routeTimeouts %+v: the CRD did not default request and streamIdle", rt)
				}
				if rt != nil && tc.spec.RouteTimeouts.StreamIdle == nil && *rt.StreamIdle != v1alpha1.DefaultStreamIdleTimeout {
					t.Errorf("streamIdle defaulted to %s, want %s", *rt.StreamIdle, v1alpha1.DefaultStreamIdleTimeout)
				}
				_ = k8s.Delete(context.Background(), p)
				return
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.message) {
				t.Errorf("create: %v, want Invalid with %q", err, tc.message)
			}
		})
	}
}
