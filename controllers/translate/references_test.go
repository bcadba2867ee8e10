package translate_test

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

func grant(ns string, from []gwapiv1beta1.ReferenceGrantFrom, to ...gwapiv1beta1.ReferenceGrantTo) gwapiv1beta1.ReferenceGrant {
	return gwapiv1beta1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "g"},
		Spec:       gwapiv1beta1.ReferenceGrantSpec{From: from, To: to},
	}
}

var (
	routesFromApps = []gwapiv1beta1.ReferenceGrantFrom{{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Namespace: "apps"}}
	toAllPools     = gwapiv1beta1.ReferenceGrantTo{Group: translate.InferenceGroup, Kind: translate.InferencePoolKind}
)

func toPool(name string) gwapiv1beta1.ReferenceGrantTo {
	to := toAllPools
	to.Name = ptr.To(gwapiv1.ObjectName(name))
	return to
}

func TestReferencePermitted(t *testing.T) {
	for _, tc := range []struct {
		name          string
		grants        []gwapiv1beta1.ReferenceGrant
		fromNamespace string
		want          bool
	}{
		{name: "same namespace needs no grant", fromNamespace: "models", want: true},
		{name: "other namespace without grant", fromNamespace: "apps"},
		{name: "grant for all pools", grants: []gwapiv1beta1.ReferenceGrant{grant("models", routesFromApps, toAllPools)}, fromNamespace: "apps", want: true},
		{name: "grant naming the pool", grants: []gwapiv1beta1.ReferenceGrant{grant("models", routesFromApps, toPool("llm"))}, fromNamespace: "apps", want: true},
		{name: "grant with an empty name allows all", grants: []gwapiv1beta1.ReferenceGrant{grant("models", routesFromApps, toPool(""))}, fromNamespace: "apps", want: true},
		{name: "grant naming another pool", grants: []gwapiv1beta1.ReferenceGrant{grant("models", routesFromApps, toPool("other"))}, fromNamespace: "apps"},
		{name: "grant in the route's namespace does not count", grants: []gwapiv1beta1.ReferenceGrant{grant("apps", routesFromApps, toAllPools)}, fromNamespace: "apps"},
		{name: "grant from another namespace", grants: []gwapiv1beta1.ReferenceGrant{grant("models", routesFromApps, toAllPools)}, fromNamespace: "elsewhere"},
		{
			name:          "grant from another kind",
			grants:        []gwapiv1beta1.ReferenceGrant{grant("models", []gwapiv1beta1.ReferenceGrantFrom{{Group: gwapiv1.GroupName, Kind: "GRPCRoute", Namespace: "apps"}}, toAllPools)},
			fromNamespace: "apps",
		},
		{
			name:          "grant from another group",
			grants:        []gwapiv1beta1.ReferenceGrant{grant("models", []gwapiv1beta1.ReferenceGrantFrom{{Group: "example.com", Kind: "HTTPRoute", Namespace: "apps"}}, toAllPools)},
			fromNamespace: "apps",
		},
		{
			name:          "grant to Services only",
			grants:        []gwapiv1beta1.ReferenceGrant{grant("models", routesFromApps, gwapiv1beta1.ReferenceGrantTo{Group: "", Kind: "Service"})},
			fromNamespace: "apps",
		},
		{
			name:          "grant to another group's InferencePool",
			grants:        []gwapiv1beta1.ReferenceGrant{grant("models", routesFromApps, gwapiv1beta1.ReferenceGrantTo{Group: "inference.networking.x-k8s.io", Kind: translate.InferencePoolKind})},
			fromNamespace: "apps",
		},
		{
			name: "second from entry matches",
			grants: []gwapiv1beta1.ReferenceGrant{grant("models", []gwapiv1beta1.ReferenceGrantFrom{
				{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Namespace: "other"},
				{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Namespace: "apps"},
			}, toPool("other"), toPool("llm"))},
			fromNamespace: "apps", want: true,
		},
		{
			name: "from and to split across two grants do not combine",
			grants: []gwapiv1beta1.ReferenceGrant{
				grant("models", routesFromApps, toPool("other")),
				grant("models", []gwapiv1beta1.ReferenceGrantFrom{{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Namespace: "x"}}, toPool("llm")),
			},
			fromNamespace: "apps",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := translate.ReferencePermitted(tc.grants, gwapiv1.GroupName, "HTTPRoute", tc.fromNamespace,
				translate.InferenceGroup, translate.InferencePoolKind, "models", "llm")
			if got != tc.want {
				t.Errorf("ReferencePermitted = %v, want %v", got, tc.want)
			}
		})
	}
}

func backendRef(group, kind *string, ns, name string) gwapiv1.HTTPBackendRef {
	ref := gwapiv1.HTTPBackendRef{}
	if group != nil {
		ref.Group = ptr.To(gwapiv1.Group(*group))
	}
	if kind != nil {
		ref.Kind = ptr.To(gwapiv1.Kind(*kind))
	}
	if ns != "" {
		ref.Namespace = ptr.To(gwapiv1.Namespace(ns))
	}
	ref.Name = gwapiv1.ObjectName(name)
	return ref
}

func TestPoolRefs(t *testing.T) {
	group, kind := ptr.To(translate.InferenceGroup), ptr.To(translate.InferencePoolKind)
	route := &gwapiv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "r"},
		Spec: gwapiv1.HTTPRouteSpec{Rules: []gwapiv1.HTTPRouteRule{
			{BackendRefs: []gwapiv1.HTTPBackendRef{
				backendRef(group, kind, "", "b"),
				backendRef(nil, nil, "", "a-service"),                    // a Service: not a pool
				backendRef(nil, kind, "", "core-group"),                  // kind without the inference group
				backendRef(group, ptr.To("InferenceModel"), "", "model"), // the inference group, another kind
			}},
			{BackendRefs: []gwapiv1.HTTPBackendRef{
				backendRef(group, kind, "models", "a"),
				backendRef(group, kind, "apps", "b"), // the same pool as the first, explicit namespace
				backendRef(group, kind, "", "a"),     // same name, the route's namespace: another pool
			}},
			{}, // a rule without backends
		}},
	}
	want := []types.NamespacedName{{Namespace: "apps", Name: "b"}, {Namespace: "models", Name: "a"}, {Namespace: "apps", Name: "a"}}
	if got := translate.PoolRefs(route); !reflect.DeepEqual(got, want) {
		t.Errorf("PoolRefs = %v, want %v", got, want)
	}
	if got := translate.PoolRefs(&gwapiv1.HTTPRoute{}); len(got) != 0 {
		t.Errorf("PoolRefs of an empty route = %v, want none", got)
	}
}

func TestParentGateways(t *testing.T) {
	gwGroup := gwapiv1.Group(gwapiv1.GroupName)
	route := &gwapiv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "r"},
		Spec: gwapiv1.HTTPRouteSpec{CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{
			{Name: "gw"}, // group and kind default to Gateway
			{Name: "gw", SectionName: ptr.To(gwapiv1.SectionName("https"))},                                                           // same Gateway again
			{Group: &gwGroup, Kind: ptr.To(gwapiv1.Kind("Gateway")), Name: "infra-gw", Namespace: ptr.To(gwapiv1.Namespace("infra"))}, // explicit
			{Group: ptr.To(gwapiv1.Group("")), Kind: ptr.To(gwapiv1.Kind("Service")), Name: "mesh"},                                   // GAMMA: not a Gateway
			{Group: ptr.To(gwapiv1.Group("example.com")), Kind: ptr.To(gwapiv1.Kind("Gateway")), Name: "foreign"},                     // another group's Gateway
			{Name: "gw", Namespace: ptr.To(gwapiv1.Namespace("apps"))},                                                                // same as the first
		}}},
	}
	want := []types.NamespacedName{{Namespace: "apps", Name: "gw"}, {Namespace: "infra", Name: "infra-gw"}}
	if got := translate.ParentGateways(route); !reflect.DeepEqual(got, want) {
		t.Errorf("ParentGateways = %v, want %v", got, want)
	}
}
