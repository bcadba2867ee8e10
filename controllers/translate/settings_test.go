package translate_test

import (
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

func params(spec v1alpha1.InferenceGatewayParametersSpec) *v1alpha1.InferenceGatewayParameters {
	return &v1alpha1.InferenceGatewayParameters{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: spec}
}

func TestResolveSettings(t *testing.T) {
	defaults := func() translate.Settings {
		return translate.Settings{
			EnvoyGatewayClassName:        "eg-default",
			MessageTimeout:               "10s",
			TLSMode:                      v1alpha1.TLSModeInsecureSkipVerify,
			FallbackType:                 v1alpha1.FallbackLeastRequest,
			StripClientDestinationHeader: true,
			RequestTimeout:               "0s",
			StreamIdleTimeout:            "1h",
			NumRetries:                   2,
			RequestBufferLimit:           "4Mi",
			EPPHealthCheck: &translate.EPPHealthCheck{
				ServiceName: "envoy.service.ext_proc.v3.ExternalProcessor", Interval: "2s", Timeout: "1s",
				UnhealthyThreshold: 2, HealthyThreshold: 1,
			},
		}
	}
	hostname := gwapiv1.PreciseHostname("epp.models.svc")
	caRefs := []gwapiv1.LocalObjectReference{{Group: "", Kind: "ConfigMap", Name: "epp-ca"}}
	for _, tc := range []struct {
		name   string
		params *v1alpha1.InferenceGatewayParameters
		want   func(*translate.Settings)
	}{
		{name: "no parameters: defaults and the operator's EG class", want: func(*translate.Settings) {}},
		{name: "empty parameters: the same", params: params(v1alpha1.InferenceGatewayParametersSpec{}), want: func(*translate.Settings) {}},
		{
			name: "empty strings do not override",
			params: params(v1alpha1.InferenceGatewayParametersSpec{
				EndpointPicker: &v1alpha1.EndpointPickerSettings{MessageTimeout: ptr.To(v1alpha1.Duration("")), TLS: &v1alpha1.EndpointPickerTLS{}},
				LoadBalancer:   &v1alpha1.LoadBalancerSettings{},
			}),
			want: func(*translate.Settings) {},
		},
		{
			name:   "EG class",
			params: params(v1alpha1.InferenceGatewayParametersSpec{EnvoyGatewayClassName: "eg-internal"}),
			want:   func(s *translate.Settings) { s.EnvoyGatewayClassName = "eg-internal" },
		},
		{
			name:   "header stripping off",
			params: params(v1alpha1.InferenceGatewayParametersSpec{StripClientDestinationHeader: ptr.To(false)}),
			want:   func(s *translate.Settings) { s.StripClientDestinationHeader = false },
		},
		{
			name:   "fallback",
			params: params(v1alpha1.InferenceGatewayParametersSpec{LoadBalancer: &v1alpha1.LoadBalancerSettings{FallbackType: v1alpha1.FallbackRandom}}),
			want:   func(s *translate.Settings) { s.FallbackType = v1alpha1.FallbackRandom },
		},
		{
			name: "timeout and TLS disabled",
			params: params(v1alpha1.InferenceGatewayParametersSpec{EndpointPicker: &v1alpha1.EndpointPickerSettings{
				MessageTimeout: ptr.To(v1alpha1.Duration("1m30s")),
				TLS:            &v1alpha1.EndpointPickerTLS{Mode: v1alpha1.TLSModeDisabled},
			}}),
			want: func(s *translate.Settings) { s.MessageTimeout, s.TLSMode = "1m30s", v1alpha1.TLSModeDisabled },
		},
		{
			name: "route timeouts",
			params: params(v1alpha1.InferenceGatewayParametersSpec{RouteTimeouts: &v1alpha1.RouteTimeouts{
				Request: ptr.To(v1alpha1.Duration("10m")), BackendRequest: ptr.To(v1alpha1.Duration("5m")), StreamIdle: ptr.To(v1alpha1.Duration("2m")),
			}}),
			want: func(s *translate.Settings) {
				s.RequestTimeout, s.BackendRequestTimeout, s.StreamIdleTimeout = "10m", ptr.To(v1alpha1.Duration("5m")), "2m"
			},
		},
		{
			name:   "empty route timeouts keep the defaults",
			params: params(v1alpha1.InferenceGatewayParametersSpec{RouteTimeouts: &v1alpha1.RouteTimeouts{Request: ptr.To(v1alpha1.Duration(""))}}),
			want:   func(*translate.Settings) {},
		},
		{
			name: "TLS verify carries CA and hostname",
			params: params(v1alpha1.InferenceGatewayParametersSpec{EndpointPicker: &v1alpha1.EndpointPickerSettings{
				TLS: &v1alpha1.EndpointPickerTLS{Mode: v1alpha1.TLSModeVerify, CACertificateRefs: caRefs, Hostname: &hostname},
			}}),
			want: func(s *translate.Settings) {
				s.TLSMode, s.CACertificateRefs, s.Hostname = v1alpha1.TLSModeVerify, caRefs, &hostname
			},
		},
		{
			name:   "retries off",
			params: params(v1alpha1.InferenceGatewayParametersSpec{Retry: &v1alpha1.RetrySettings{NumRetries: ptr.To(int32(0))}}),
			want:   func(s *translate.Settings) { s.NumRetries = 0 },
		},
		{
			name: "retries and their buffer",
			params: params(v1alpha1.InferenceGatewayParametersSpec{Retry: &v1alpha1.RetrySettings{
				NumRetries: ptr.To(int32(4)), RequestBufferLimit: ptr.To("16Mi"),
			}}),
			want: func(s *translate.Settings) { s.NumRetries, s.RequestBufferLimit = 4, "16Mi" },
		},
		{
			name: "EPP health check off",
			params: params(v1alpha1.InferenceGatewayParametersSpec{EndpointPicker: &v1alpha1.EndpointPickerSettings{
				HealthCheck: &v1alpha1.EndpointPickerHealthCheck{Enabled: ptr.To(false), Interval: ptr.To(v1alpha1.Duration("5s"))},
			}}),
			want: func(s *translate.Settings) { s.EPPHealthCheck = nil },
		},
		{
			name: "EPP health check on another port, with its own service and thresholds",
			params: params(v1alpha1.InferenceGatewayParametersSpec{EndpointPicker: &v1alpha1.EndpointPickerSettings{
				HealthCheck: &v1alpha1.EndpointPickerHealthCheck{
					ServiceName: ptr.To("readiness"), Port: ptr.To(int32(9003)), Interval: ptr.To(v1alpha1.Duration("500ms")),
					Timeout: ptr.To(v1alpha1.Duration("")), UnhealthyThreshold: ptr.To(int32(3)), HealthyThreshold: ptr.To(int32(2)),
					PanicThreshold: ptr.To(int32(0)),
				},
			}}),
			want: func(s *translate.Settings) {
				s.EPPHealthCheck = &translate.EPPHealthCheck{
					ServiceName: "readiness", Port: ptr.To(int32(9003)), Interval: "500ms", Timeout: "1s",
					UnhealthyThreshold: 3, HealthyThreshold: 2, PanicThreshold: ptr.To(int32(0)),
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := defaults()
			tc.want(&want)
			if got := translate.ResolveSettings(tc.params, "eg-default"); !reflect.DeepEqual(got, want) {
				t.Errorf("ResolveSettings\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// The defaults a class without parameters gets are the documented ones (the CRD's defaults).
func TestResolveSettingsDefaultsMatchAPI(t *testing.T) {
	s := translate.ResolveSettings(nil, "eg")
	if s.MessageTimeout != v1alpha1.DefaultMessageTimeout || s.TLSMode != v1alpha1.DefaultTLSMode ||
		s.FallbackType != v1alpha1.DefaultFallbackType || !s.StripClientDestinationHeader || s.EnvoyGatewayClassName != "eg" ||
		s.RequestTimeout != v1alpha1.DefaultRequestTimeout || s.BackendRequestTimeout != nil || s.StreamIdleTimeout != v1alpha1.DefaultStreamIdleTimeout {
		t.Errorf("defaults %+v", s)
	}
}

// egClass is Envoy Gateway's class "eg", accepted (at generation 1) when accepted is true, with
// no verdict otherwise.
func egClass(name string, accepted bool) gwapiv1.GatewayClass {
	c := gwapiv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec:       gwapiv1.GatewayClassSpec{ControllerName: "gateway.envoyproxy.io/gatewayclass-controller"},
	}
	if accepted {
		c.Status.Conditions = []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", ObservedGeneration: 1}}
	}
	return c
}

func TestGatewayClassAccepted(t *testing.T) {
	class := func(ref *gwapiv1.ParametersReference) *gwapiv1.GatewayClass {
		return &gwapiv1.GatewayClass{
			ObjectMeta: metav1.ObjectMeta{Name: "c", Generation: 4},
			Spec:       gwapiv1.GatewayClassSpec{ControllerName: translate.ControllerName, ParametersRef: ref},
		}
	}
	ours := &gwapiv1.ParametersReference{Group: "inferencepool-operator.io", Kind: "InferenceGatewayParameters", Name: "p"}
	snapshot := func(mutate func(*translate.Snapshot), specs ...v1alpha1.InferenceGatewayParametersSpec) *translate.Snapshot {
		s := &translate.Snapshot{DefaultEnvoyGatewayClass: "eg", GatewayClasses: []gwapiv1.GatewayClass{egClass("eg", true)}}
		for _, spec := range specs {
			s.Parameters = append(s.Parameters, *params(spec))
		}
		if mutate != nil {
			mutate(s)
		}
		return s
	}
	verify := v1alpha1.InferenceGatewayParametersSpec{EndpointPicker: &v1alpha1.EndpointPickerSettings{TLS: &v1alpha1.EndpointPickerTLS{Mode: v1alpha1.TLSModeVerify}}}
	for _, tc := range []struct {
		name    string
		ref     *gwapiv1.ParametersReference
		snap    *translate.Snapshot
		status  metav1.ConditionStatus
		reason  string
		message string // a part of the message
	}{
		{name: "no parametersRef", snap: snapshot(nil), status: metav1.ConditionTrue, reason: "Accepted"},
		{name: "parameters found", ref: ours, snap: snapshot(nil, v1alpha1.InferenceGatewayParametersSpec{}), status: metav1.ConditionTrue, reason: "Accepted"},
		{name: "parameters missing", ref: ours, snap: snapshot(nil), status: metav1.ConditionFalse, reason: "InvalidParameters"},
		{
			name: "wrong kind", snap: snapshot(nil, v1alpha1.InferenceGatewayParametersSpec{}), status: metav1.ConditionFalse, reason: "InvalidParameters",
			ref: &gwapiv1.ParametersReference{Group: "", Kind: "ConfigMap", Name: "p"},
		},
		{
			name: "wrong group", snap: snapshot(nil, v1alpha1.InferenceGatewayParametersSpec{}), status: metav1.ConditionFalse, reason: "InvalidParameters",
			ref: &gwapiv1.ParametersReference{Group: "example.com", Kind: "InferenceGatewayParameters", Name: "p"},
		},
		{
			name: "namespaced ref to a cluster-scoped kind", snap: snapshot(nil, v1alpha1.InferenceGatewayParametersSpec{}), status: metav1.ConditionFalse, reason: "InvalidParameters",
			ref: &gwapiv1.ParametersReference{Group: "inferencepool-operator.io", Kind: "InferenceGatewayParameters", Name: "p", Namespace: ptr.To(gwapiv1.Namespace("default"))},
		},
		{
			name: "Envoy Gateway not installed", status: metav1.ConditionFalse, reason: "EnvoyGatewayNotInstalled", message: "helm install eg",
			snap: snapshot(func(s *translate.Snapshot) {
				s.MissingAPIs = []translate.MissingAPI{translate.MissingInferencePool, translate.MissingEnvoyGateway}
			}),
		},
		{
			name: "InferencePool CRD not installed", status: metav1.ConditionFalse, reason: "InferencePoolNotInstalled", message: "v1-manifests.yaml",
			snap: snapshot(func(s *translate.Snapshot) { s.MissingAPIs = []translate.MissingAPI{translate.MissingInferencePool} }),
		},
		{
			name: "Envoy Gateway class missing", status: metav1.ConditionFalse, reason: "EnvoyGatewayClassNotFound", message: `"eg" (the operator's --envoy-gateway-class flag)`,
			snap: snapshot(func(s *translate.Snapshot) { s.GatewayClasses = nil }),
		},
		{
			name: "Envoy Gateway class named by the parameters missing", ref: ours, status: metav1.ConditionFalse, reason: "EnvoyGatewayClassNotFound", message: `"eg-internal" (envoyGatewayClassName of InferenceGatewayParameters "p")`,
			snap: snapshot(nil, v1alpha1.InferenceGatewayParametersSpec{EnvoyGatewayClassName: "eg-internal"}),
		},
		{
			name: "Envoy Gateway class without a verdict", status: metav1.ConditionFalse, reason: "EnvoyGatewayClassNotAccepted", message: "is Envoy Gateway running",
			snap: snapshot(func(s *translate.Snapshot) { s.GatewayClasses = []gwapiv1.GatewayClass{egClass("eg", false)} }),
		},
		{
			name: "Envoy Gateway class refused", status: metav1.ConditionFalse, reason: "EnvoyGatewayClassNotAccepted", message: "InvalidParameters: bad EnvoyProxy",
			snap: snapshot(func(s *translate.Snapshot) {
				c := egClass("eg", false)
				c.Status.Conditions = []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionFalse, Reason: "InvalidParameters", Message: "bad EnvoyProxy", ObservedGeneration: 1}}
				s.GatewayClasses = []gwapiv1.GatewayClass{c}
			}),
		},
		{
			name: "TLS Verify without the BackendTLSPolicy CRD", ref: ours, status: metav1.ConditionFalse, reason: "BackendTLSPolicyNotInstalled", message: "BackendTLSPolicy",
			snap: snapshot(func(s *translate.Snapshot) { s.MissingAPIs = []translate.MissingAPI{translate.MissingBackendTLSPolicy} }, verify),
		},
		{
			name: "TLS InsecureSkipVerify does not need BackendTLSPolicy", status: metav1.ConditionTrue, reason: "Accepted",
			snap: snapshot(func(s *translate.Snapshot) { s.MissingAPIs = []translate.MissingAPI{translate.MissingBackendTLSPolicy} }),
		},
		{
			name: "Envoy Gateway's Backend API off", status: metav1.ConditionFalse, reason: "EnvoyGatewayBackendDisabled", message: "extensionApis.enableBackend: true",
			snap: snapshot(func(s *translate.Snapshot) {
				s.BackendAPIDisabled = map[string]string{"eg": "seen on EnvoyExtensionPolicy ns/p"}
			}),
		},
		{
			name: "Backend API off does not matter with TLS Verify", ref: ours, status: metav1.ConditionTrue, reason: "Accepted",
			snap: snapshot(func(s *translate.Snapshot) { s.BackendAPIDisabled = map[string]string{"eg": "seen"} }, verify),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := translate.GatewayClassAccepted(tc.snap, class(tc.ref))
			if c.Type != "Accepted" || c.Status != tc.status || c.Reason != tc.reason || c.ObservedGeneration != 4 || c.Message == "" || !strings.Contains(c.Message, tc.message) {
				t.Errorf("condition %+v, want Accepted=%s/%s at generation 4 with a message containing %q", c, tc.status, tc.reason, tc.message)
			}
		})
	}
}
