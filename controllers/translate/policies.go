package translate

import (
	"fmt"
	"sort"
	"strconv"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
)

// MaxTargetRefsPerPolicy bounds the targetRefs of one generated policy. Envoy Gateway's CRDs set
// no maximum; the bound keeps each object small, and more targets go to further policies
// (suffixed -2, -3, ...). Distinct rules never conflict, so splitting changes nothing in Envoy.
const MaxTargetRefsPerPolicy = 64

// envoyLBNamespace is the dynamic-metadata namespace where the EPP also writes its choice.
const envoyLBNamespace = "envoy.lb"

// policyGroup is the set of rules, in one namespace and under one GatewayClass's settings,
// whose traffic a pool's EPP steers: one BackendTrafficPolicy and one EnvoyExtensionPolicy
// (per MaxTargetRefsPerPolicy targets) serve it.
type policyGroup struct {
	namespace string
	class     string
	settings  Settings
	targets   []gwapiv1.LocalPolicyTargetReferenceWithSectionName
	routes    []*gwapiv1.HTTPRoute
}

// policyGroups groups the primary uses of a pool by route namespace and class, sorted.
func policyGroups(uses []poolUse) []*policyGroup {
	byKey := map[string]*policyGroup{}
	var keys []string
	for _, u := range uses {
		if !u.primary {
			continue
		}
		k := u.route.Namespace + "/" + u.class
		g := byKey[k]
		if g == nil {
			g = &policyGroup{namespace: u.route.Namespace, class: u.class, settings: u.settings}
			byKey[k] = g
			keys = append(keys, k)
		}
		g.targets = append(g.targets, gwapiv1.LocalPolicyTargetReferenceWithSectionName{
			LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{
				Group: gwapiv1.GroupName, Kind: "HTTPRoute", Name: gwapiv1.ObjectName(GeneratedRouteName(u.route.Name)),
			},
			SectionName: ptrTo(gwapiv1.SectionName(u.ruleName)),
		})
		if len(g.routes) == 0 || g.routes[len(g.routes)-1] != u.route {
			g.routes = append(g.routes, u.route)
		}
	}
	sort.Strings(keys)
	out := make([]*policyGroup, len(keys))
	for i, k := range keys {
		g := byKey[k]
		sort.SliceStable(g.targets, func(a, b int) bool {
			ta, tb := g.targets[a], g.targets[b]
			if ta.Name != tb.Name {
				return ta.Name < tb.Name
			}
			return *ta.SectionName < *tb.SectionName
		})
		out[i] = g
	}
	return out
}

// PolicyName names a policy generated for pool in routeNamespace under class: the pool's name
// (namespace-qualified when the routes are elsewhere), the class, kind ("lb" or "epp"), the
// chunk number after the first, and a hash of those names.
func PolicyName(pool *giev1.InferencePool, routeNamespace, class, kind string, chunk int) string {
	parts := []string{pool.Name, class}
	if routeNamespace != pool.Namespace {
		parts = []string{pool.Namespace, pool.Name, class}
	}
	if chunk > 0 {
		kind += "-" + strconv.Itoa(chunk+1)
	}
	return CompoundName("ipool", parts, kind)
}

// policyMeta is the metadata of a policy of pool in g's namespace: owned by the pool when it
// is there, else by the routes whose rules it targets (ownerReferences cannot cross namespaces).
func policyMeta(pool *giev1.InferencePool, g *policyGroup, name string) metav1.ObjectMeta {
	if g.namespace == pool.Namespace {
		return objectMeta(poolSource(pool), g.namespace, name, controllerRef(giev1.GroupVersion.String(), InferencePoolKind, pool))
	}
	owners := make([]metav1.OwnerReference, 0, len(g.routes))
	for _, r := range g.routes {
		owners = append(owners, ownerRef(gwapiv1.GroupVersion.String(), "HTTPRoute", r))
	}
	sort.Slice(owners, func(i, j int) bool { return owners[i].Name < owners[j].Name })
	return objectMeta(poolSource(pool), g.namespace, name, owners...)
}

func chunks[T any](items []T, size int) [][]T {
	var out [][]T
	for len(items) > size {
		out = append(out, items[:size])
		items = items[size:]
	}
	return append(out, items)
}

// policies renders, per group, the BackendTrafficPolicy of the pool's rules and, when the pool
// has an EPP that is not being bypassed (FailOpen) right now, the EnvoyExtensionPolicy that
// calls it.
func policies(pool *giev1.InferencePool, uses []poolUse, epp endpointPicker, failOpenActive bool) []client.Object {
	var out []client.Object
	for _, g := range policyGroups(uses) {
		for i, targets := range chunks(g.targets, MaxTargetRefsPerPolicy) {
			out = append(out, trafficPolicy(pool, g, epp, targets, i))
			if epp.ref == nil || failOpenActive {
				continue
			}
			out = append(out, extensionPolicy(pool, g, epp, targets, i))
		}
	}
	return out
}

// trafficPolicy load-balances the rules by the class's fallback type, following the EPP's
// destination header first when the pool has an EPP (override_host), and bounds their streams'
// idle time: the rules have no request timeout by default, so this is what ends a stalled one.
func trafficPolicy(pool *giev1.InferencePool, g *policyGroup, epp endpointPicker, targets []gwapiv1.LocalPolicyTargetReferenceWithSectionName, chunk int) *egv1a1.BackendTrafficPolicy {
	lb := &egv1a1.LoadBalancer{Type: egv1a1.LoadBalancerType(g.settings.FallbackType)}
	if epp.ref != nil {
		lb.EndpointOverride = &egv1a1.EndpointOverride{
			ExtractFrom: []egv1a1.EndpointOverrideExtractFrom{{Header: ptrTo(DestinationHeader)}},
		}
	}
	return &egv1a1.BackendTrafficPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: egv1a1.GroupVersion.String(), Kind: egv1a1.KindBackendTrafficPolicy},
		ObjectMeta: policyMeta(pool, g, PolicyName(pool, g.namespace, g.class, "lb", chunk)),
		Spec: egv1a1.BackendTrafficPolicySpec{
			PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: targets},
			ClusterSettings: egv1a1.ClusterSettings{
				LoadBalancer: lb,
				Timeout: &egv1a1.Timeout{HTTP: &egv1a1.HTTPTimeout{
					StreamIdleTimeout: ptrTo(gwapiv1.Duration(g.settings.StreamIdleTimeout)),
				}},
			},
		},
	}
}

func extensionPolicy(pool *giev1.InferencePool, g *policyGroup, epp endpointPicker, targets []gwapiv1.LocalPolicyTargetReferenceWithSectionName, chunk int) *egv1a1.EnvoyExtensionPolicy {
	streamed := egv1a1.FullDuplexStreamedExtBodyProcessingMode
	return &egv1a1.EnvoyExtensionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: egv1a1.GroupVersion.String(), Kind: egv1a1.KindEnvoyExtensionPolicy},
		ObjectMeta: policyMeta(pool, g, PolicyName(pool, g.namespace, g.class, "epp", chunk)),
		Spec: egv1a1.EnvoyExtensionPolicySpec{
			PolicyTargetReferences: egv1a1.PolicyTargetReferences{TargetRefs: targets},
			ExtProc: []egv1a1.ExtProc{{
				BackendCluster: egv1a1.BackendCluster{BackendRefs: []egv1a1.BackendRef{{
					BackendObjectReference: eppBackendRef(pool, epp, g.settings.TLSMode, g.namespace),
				}}},
				// FullDuplexStreamed: the EPP protocol streams both ways; EG then also sends
				// trailers, and forbids failOpen (FailOpen is done by detaching this policy).
				ProcessingMode: &egv1a1.ExtProcProcessingMode{
					Request:  &egv1a1.ProcessingModeOptions{Body: &streamed},
					Response: &egv1a1.ProcessingModeOptions{Body: &streamed},
				},
				MessageTimeout: ptrTo(gwapiv1.Duration(g.settings.MessageTimeout)),
				FailOpen:       ptrTo(false),
				Metadata: &egv1a1.ExtProcMetadata{
					AccessibleNamespaces: []string{envoyLBNamespace},
					WritableNamespaces:   []string{envoyLBNamespace},
				},
			}},
		},
	}
}

// eppConnection renders what Envoy needs to reach the EPP: an EG Backend for TLS without
// verification, a BackendTLSPolicy for verified TLS, nothing for plaintext.
func eppConnection(s *Snapshot, pool *giev1.InferencePool, uses []poolUse, epp endpointPicker) []client.Object {
	if epp.service == nil {
		return nil
	}
	var out []client.Object
	modes := map[v1alpha1.TLSMode]*Settings{}
	for _, g := range policyGroups(uses) {
		if modes[g.settings.TLSMode] == nil {
			modes[g.settings.TLSMode] = &g.settings
		}
	}
	owner := controllerRef(giev1.GroupVersion.String(), InferencePoolKind, pool)
	if modes[v1alpha1.TLSModeInsecureSkipVerify] != nil {
		out = append(out, &egv1a1.Backend{
			TypeMeta:   metav1.TypeMeta{APIVersion: egv1a1.GroupVersion.String(), Kind: egv1a1.KindBackend},
			ObjectMeta: objectMeta(poolSource(pool), pool.Namespace, EPPBackendName(pool.Name), owner),
			Spec: egv1a1.BackendSpec{
				Endpoints: []egv1a1.BackendEndpoint{{FQDN: &egv1a1.FQDNEndpoint{
					Hostname: fmt.Sprintf("%s.%s.svc.%s", epp.service.Name, epp.service.Namespace, s.clusterDomain()),
					Port:     epp.port,
				}}},
				TLS: &egv1a1.BackendTLSSettings{InsecureSkipVerify: ptrTo(true)},
			},
		})
	}
	if v := modes[v1alpha1.TLSModeVerify]; v != nil {
		refs := make([]gwapiv1.LocalObjectReference, len(v.CACertificateRefs))
		copy(refs, v.CACertificateRefs)
		var hostname gwapiv1.PreciseHostname
		if v.Hostname != nil {
			hostname = *v.Hostname
		}
		out = append(out, &gwapiv1.BackendTLSPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: gwapiv1.GroupVersion.String(), Kind: "BackendTLSPolicy"},
			ObjectMeta: objectMeta(poolSource(pool), pool.Namespace, EPPTLSPolicyName(pool.Name), owner),
			Spec: gwapiv1.BackendTLSPolicySpec{
				TargetRefs: []gwapiv1.LocalPolicyTargetReferenceWithSectionName{{
					LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{Group: "", Kind: "Service", Name: gwapiv1.ObjectName(epp.service.Name)},
				}},
				Validation: gwapiv1.BackendTLSPolicyValidation{CACertificateRefs: refs, Hostname: hostname},
			},
		})
	}
	return out
}

// ReferenceGrantName names the grant that lets routes and policies in fromNamespace reach what
// was generated for pool in its own namespace.
func ReferenceGrantName(poolName, fromNamespace string) string {
	return CompoundName("ipool", []string{poolName, fromNamespace}, "grant")
}

// referenceGrants renders, for each namespace of routes using the pool from elsewhere (which
// the user allowed with a ReferenceGrant for the pool), the grant Envoy Gateway needs: the
// generated route may reference the shadow Service, the policies the EPP's Backend or Service.
func referenceGrants(pool *giev1.InferencePool, uses []poolUse, epp endpointPicker) []client.Object {
	type need struct {
		eppTargets map[string]gwapiv1beta1.ReferenceGrantTo
	}
	byNS := map[string]*need{}
	var namespaces []string
	for _, u := range uses {
		ns := u.route.Namespace
		if ns == pool.Namespace {
			continue
		}
		n := byNS[ns]
		if n == nil {
			n = &need{eppTargets: map[string]gwapiv1beta1.ReferenceGrantTo{}}
			byNS[ns] = n
			namespaces = append(namespaces, ns)
		}
		if !u.primary || epp.service == nil {
			continue
		}
		if u.settings.TLSMode == v1alpha1.TLSModeInsecureSkipVerify {
			n.eppTargets["Backend"] = gwapiv1beta1.ReferenceGrantTo{Group: "gateway.envoyproxy.io", Kind: "Backend", Name: ptrTo(gwapiv1.ObjectName(EPPBackendName(pool.Name)))}
		} else {
			n.eppTargets["Service"] = gwapiv1beta1.ReferenceGrantTo{Group: "", Kind: "Service", Name: ptrTo(gwapiv1.ObjectName(epp.service.Name))}
		}
	}
	sort.Strings(namespaces)
	var out []client.Object
	for _, ns := range namespaces {
		n := byNS[ns]
		from := []gwapiv1beta1.ReferenceGrantFrom{{Group: gwapiv1.GroupName, Kind: "HTTPRoute", Namespace: gwapiv1.Namespace(ns)}}
		to := []gwapiv1beta1.ReferenceGrantTo{{Group: "", Kind: "Service", Name: ptrTo(gwapiv1.ObjectName(ShadowServiceName(pool.Name)))}}
		if len(n.eppTargets) > 0 {
			from = append(from, gwapiv1beta1.ReferenceGrantFrom{Group: "gateway.envoyproxy.io", Kind: egv1a1.KindEnvoyExtensionPolicy, Namespace: gwapiv1.Namespace(ns)})
			for _, k := range []string{"Backend", "Service"} {
				if t, ok := n.eppTargets[k]; ok {
					to = append(to, t)
				}
			}
		}
		out = append(out, &gwapiv1beta1.ReferenceGrant{
			TypeMeta: metav1.TypeMeta{APIVersion: gwapiv1beta1.GroupVersion.String(), Kind: "ReferenceGrant"},
			ObjectMeta: objectMeta(poolSource(pool), pool.Namespace, ReferenceGrantName(pool.Name, ns),
				controllerRef(giev1.GroupVersion.String(), InferencePoolKind, pool)),
			Spec: gwapiv1beta1.ReferenceGrantSpec{From: from, To: to},
		})
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }
