package translate_test

import (
	"reflect"
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
	defaults := translate.Settings{
		EnvoyGatewayClassName:        "eg-default",
		MessageTimeout:               "10s",
		TLSMode:                      v1alpha1.TLSModeInsecureSkipVerify,
		FallbackType:                 v1alpha1.FallbackLeastRequest,
		StripClientDestinationHeader: true,
		RequestTimeout:               "0s",
		StreamIdleTimeout:            "1h",
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := defaults
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

func TestGatewayClassAccepted(t *testing.T) {
	class := func(ref *gwapiv1.ParametersReference) *gwapiv1.GatewayClass {
		return &gwapiv1.GatewayClass{
			ObjectMeta: metav1.ObjectMeta{Name: "c", Generation: 4},
			Spec:       gwapiv1.GatewayClassSpec{ControllerName: translate.ControllerName, ParametersRef: ref},
		}
	}
	ours := &gwapiv1.ParametersReference{Group: "inferencepool-operator.io", Kind: "InferenceGatewayParameters", Name: "p"}
	snap := &translate.Snapshot{Parameters: []v1alpha1.InferenceGatewayParameters{*params(v1alpha1.InferenceGatewayParametersSpec{})}}
	for _, tc := range []struct {
		name   string
		ref    *gwapiv1.ParametersReference
		snap   *translate.Snapshot
		status metav1.ConditionStatus
		reason gwapiv1.GatewayClassConditionReason
	}{
		{name: "no parametersRef", snap: &translate.Snapshot{}, status: metav1.ConditionTrue, reason: gwapiv1.GatewayClassReasonAccepted},
		{name: "parameters found", ref: ours, snap: snap, status: metav1.ConditionTrue, reason: gwapiv1.GatewayClassReasonAccepted},
		{name: "parameters missing", ref: ours, snap: &translate.Snapshot{}, status: metav1.ConditionFalse, reason: gwapiv1.GatewayClassReasonInvalidParameters},
		{
			name: "wrong kind", snap: snap, status: metav1.ConditionFalse, reason: gwapiv1.GatewayClassReasonInvalidParameters,
			ref: &gwapiv1.ParametersReference{Group: "", Kind: "ConfigMap", Name: "p"},
		},
		{
			name: "wrong group", snap: snap, status: metav1.ConditionFalse, reason: gwapiv1.GatewayClassReasonInvalidParameters,
			ref: &gwapiv1.ParametersReference{Group: "example.com", Kind: "InferenceGatewayParameters", Name: "p"},
		},
		{
			name: "namespaced ref to a cluster-scoped kind", snap: snap, status: metav1.ConditionFalse, reason: gwapiv1.GatewayClassReasonInvalidParameters,
			ref: &gwapiv1.ParametersReference{Group: "inferencepool-operator.io", Kind: "InferenceGatewayParameters", Name: "p", Namespace: ptr.To(gwapiv1.Namespace("default"))},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := translate.GatewayClassAccepted(tc.snap, class(tc.ref))
			if c.Type != "Accepted" || c.Status != tc.status || c.Reason != string(tc.reason) || c.ObservedGeneration != 4 || c.Message == "" {
				t.Errorf("condition %+v, want Accepted=%s/%s at generation 4 with a message", c, tc.status, tc.reason)
			}
		})
	}
}
