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
		{name: "retries off", spec: v1alpha1.InferenceGatewayParametersSpec{Retry: &v1alpha1.RetrySettings{NumRetries: ptr.To(int32(0))}}},
		{name: "a large retry buffer", spec: v1alpha1.InferenceGatewayParametersSpec{Retry: &v1alpha1.RetrySettings{RequestBufferLimit: ptr.To("512Mi")}}},
		{
			name:    "retry buffer over 1Gi",
			spec:    v1alpha1.InferenceGatewayParametersSpec{Retry: &v1alpha1.RetrySettings{RequestBufferLimit: ptr.To("2Gi")}},
			message: "requestBufferLimit must be at most 1Gi",
		},
		{
			name:    "retry buffer not a quantity",
			spec:    v1alpha1.InferenceGatewayParametersSpec{Retry: &v1alpha1.RetrySettings{RequestBufferLimit: ptr.To("4 MB")}},
			message: "spec.retry.requestBufferLimit",
		},
		{
			name:    "too many retries",
			spec:    v1alpha1.InferenceGatewayParametersSpec{Retry: &v1alpha1.RetrySettings{NumRetries: ptr.To(int32(6))}},
			message: "spec.retry.numRetries",
		},
		{name: "EPP health check off", spec: v1alpha1.InferenceGatewayParametersSpec{EndpointPicker: &v1alpha1.EndpointPickerSettings{HealthCheck: &v1alpha1.EndpointPickerHealthCheck{Enabled: ptr.To(false)}}}},
		{
			name: "EPP health check on the health port",
			spec: v1alpha1.InferenceGatewayParametersSpec{EndpointPicker: &v1alpha1.EndpointPickerSettings{HealthCheck: &v1alpha1.EndpointPickerHealthCheck{
				Port: ptr.To(int32(9003)), ServiceName: ptr.To("readiness"), Interval: d("500ms"),
			}}},
		},
		{
			name:    "EPP health check interval too short",
			spec:    v1alpha1.InferenceGatewayParametersSpec{EndpointPicker: &v1alpha1.EndpointPickerSettings{HealthCheck: &v1alpha1.EndpointPickerHealthCheck{Interval: d("10ms")}}},
			message: "interval must be at least 100ms",
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
				// So are the retry and health check defaults, when their objects are written.
				if r := got.Spec.Retry; r != nil && tc.spec.Retry.NumRetries == nil && ptr.Deref(r.NumRetries, -1) != v1alpha1.DefaultNumRetries {
					t.Errorf("numRetries defaulted to %v, want %d", r.NumRetries, v1alpha1.DefaultNumRetries)
				}
				if r := got.Spec.Retry; r != nil && tc.spec.Retry.RequestBufferLimit == nil && ptr.Deref(r.RequestBufferLimit, "") != v1alpha1.DefaultRequestBufferLimit {
					t.Errorf("requestBufferLimit defaulted to %v, want %s", r.RequestBufferLimit, v1alpha1.DefaultRequestBufferLimit)
				}
				if epp := got.Spec.EndpointPicker; epp != nil && epp.HealthCheck != nil {
					hc := epp.HealthCheck
					if tc.spec.EndpointPicker.HealthCheck.Timeout == nil && ptr.Deref(hc.Timeout, "") != v1alpha1.DefaultHealthCheckTimeout ||
						ptr.Deref(hc.UnhealthyThreshold, 0) != v1alpha1.DefaultHealthCheckUnhealthyThreshold ||
						ptr.Deref(hc.HealthyThreshold, 0) != v1alpha1.DefaultHealthCheckHealthyThreshold ||
						hc.Enabled == nil {
						t.Errorf("healthCheck %+v: not the documented defaults", hc)
					}
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
