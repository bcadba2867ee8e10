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
// whose traffic a pool's EPP steers and on which the same user policies apply (holders): one
// policy of a kind (per MaxTargetRefsPerPolicy targets) serves it.
type policyGroup struct {
	namespace string
	// routeKind is the kind of the routes whose rules the group targets: a GRPCRoute rule has
	// no timeouts of its own, so its policy sets them (poolTrafficSpec).
	routeKind string
	class     string
	settings  Settings
	holders   ruleHolders
	targets   []gwapiv1.LocalPolicyTargetReferenceWithSectionName
	routes    []poolRoute
}

// policyGroups groups the primary uses of a pool by route namespace, route kind, class and the
// user's policies of kind that apply to the rule, sorted.
func policyGroups(s *Snapshot, uses []poolUse, kind string) []*policyGroup {
	byKey := map[string]*policyGroup{}
	var keys []string
	for _, u := range uses {
		if !u.primary {
			continue
		}
		h := s.ruleHolders(kind, u.route, u.ruleName)
		if h.own != nil && sharesBuckets(*h.own) {
			continue // the user's policy's copy serves the rule (sharesBuckets)
		}
		k := u.route.namespace() + "/" + u.route.kind + "/" + u.class + "/" + h.key()
		g := byKey[k]
		if g == nil {
			g = &policyGroup{namespace: u.route.namespace(), routeKind: u.route.kind, class: u.class, settings: u.settings, holders: h}
			byKey[k] = g
			keys = append(keys, k)
		}
		g.targets = append(g.targets, gwapiv1.LocalPolicyTargetReferenceWithSectionName{
			LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{
				Group: gwapiv1.GroupName, Kind: gwapiv1.Kind(u.route.kind), Name: gwapiv1.ObjectName(GeneratedRouteName(u.route.obj.GetName())),
			},
			SectionName: ptrTo(gwapiv1.SectionName(u.ruleName)),
		})
		if len(g.routes) == 0 || g.routes[len(g.routes)-1].obj != u.route.obj {
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

// PolicyName names the policies generated for pool's rules of routes of routeKind in
// routeNamespace under class where no user policy of their kind applies (chunk 0 holds the
// first MaxTargetRefsPerPolicy targets): the BackendTrafficPolicy and the EnvoyExtensionPolicy
// of those rules share it, being of different kinds.
func PolicyName(pool *giev1.InferencePool, routeNamespace, class, routeKind string, chunk int) string {
	return poolPolicyName(pool, routeNamespace, class, routeKind, "", chunk)
}

// poolPolicyName is PolicyName for rules where the user's policies carried names (their
// holders' key): the pool's name (namespace-qualified when the routes are elsewhere) and a
// hash of every input that tells two groups of rules apart. Short, because Envoy Gateway
// repeats an EnvoyExtensionPolicy's name about ten times per pool in the configuration every
// Envoy holds (filter, per-route config, the picker's cluster and its endpoints:
// docs/performance.md#what-makes-the-operators-xds-larger).
func poolPolicyName(pool *giev1.InferencePool, routeNamespace, class, routeKind, carried string, chunk int) string {
	readable := []string{pool.Name}
	if routeNamespace != pool.Namespace {
		readable = []string{pool.Namespace, pool.Name}
	}
	// The policy lives in routeNamespace: what tells it apart there is the rest.
	return hashedName("", readable, append(readable, class, routeKind, carried, strconv.Itoa(chunk)))
}

// policyMeta is the metadata of a policy of pool in g's namespace: owned by the pool when it
// is there, else by the routes whose rules it targets (ownerReferences cannot cross namespaces).
// It names the user policies whose settings it carries (AnnotationCarries), so their status can
// show Envoy Gateway's verdict on it.
func policyMeta(pool *giev1.InferencePool, g *policyGroup, name string) metav1.ObjectMeta {
	var m metav1.ObjectMeta
	if g.namespace == pool.Namespace {
		m = objectMeta(poolSource(pool), g.namespace, name, controllerRef(giev1.GroupVersion.String(), InferencePoolKind, pool))
	} else {
		owners := make([]metav1.OwnerReference, 0, len(g.routes))
		for _, r := range g.routes {
			owners = append(owners, ownerRef(gwapiv1.GroupVersion.String(), r.kind, r.obj))
		}
		sort.Slice(owners, func(i, j int) bool { return owners[i].Name < owners[j].Name })
		m = objectMeta(poolSource(pool), g.namespace, name, owners...)
	}
	if carried := g.holders.key(); carried != "" {
		m.Annotations[AnnotationCarries] = carried
	}
	return m
}

func chunks[T any](items []T, size int) [][]T {
	var out [][]T
	for len(items) > size {
		out = append(out, items[:size])
		items = items[size:]
	}
	return append(out, items)
}

// policies renders the pool's BackendTrafficPolicies and EnvoyExtensionPolicies, per group of
// rules (pool_policyspecs.go says what each carries), and the ReferenceGrants that what they
// carried from the user's policies needs.
func policies(s *Snapshot, pool *giev1.InferencePool, uses []poolUse, epp endpointPicker, failOpenActive bool) []client.Object {
	var out []client.Object
	for _, g := range policyGroups(s, uses, KindBackendTrafficPolicy) {
		for i, targets := range chunks(g.targets, MaxTargetRefsPerPolicy) {
			out = append(out, trafficPolicy(pool, g, epp, targets, i))
		}
	}
	grants := grantNeeds{}
	for _, g := range policyGroups(s, uses, KindEnvoyExtensionPolicy) {
		var picker *egv1a1.ExtProc
		if epp.ref != nil && !failOpenActive {
			picker = pickerExtProc(pool, epp, g)
		}
		spec, _, needs := poolExtensionSpec(g.holders, g.namespace, picker)
		grants.add(needs...)
		if len(spec.ExtProc)+len(spec.Wasm)+len(spec.Lua)+len(spec.DynamicModule) == 0 {
			continue
		}
		for i, targets := range chunks(g.targets, MaxTargetRefsPerPolicy) {
			eep := &egv1a1.EnvoyExtensionPolicy{
				TypeMeta:   metav1.TypeMeta{APIVersion: egv1a1.GroupVersion.String(), Kind: egv1a1.KindEnvoyExtensionPolicy},
				ObjectMeta: policyMeta(pool, g, poolPolicyName(pool, g.namespace, g.class, g.routeKind, g.holders.key(), i)),
				Spec:       *spec.DeepCopy(),
			}
			eep.Spec.TargetRefs = targets
			out = append(out, eep)
		}
	}
	return append(out, grants.objects(poolSource(pool))...)
}

// eppConnection renders what Envoy needs to reach the EPP: an EG Backend for TLS without
// verification, a BackendTLSPolicy for verified TLS, nothing for plaintext.
func eppConnection(s *Snapshot, pool *giev1.InferencePool, uses []poolUse, epp endpointPicker) []client.Object {
	if epp.service == nil {
		return nil
	}
	var out []client.Object
	modes := map[v1alpha1.TLSMode]*Settings{}
	for _, g := range policyGroups(s, uses, KindBackendTrafficPolicy) {
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
	if v := modes[v1alpha1.TLSModeVerify]; v != nil && !s.missing(MissingBackendTLSPolicy) {
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
		routeKinds map[string]bool
		eppTargets map[string]gwapiv1beta1.ReferenceGrantTo
	}
	byNS := map[string]*need{}
	var namespaces []string
	for _, u := range uses {
		ns := u.route.namespace()
		if ns == pool.Namespace {
			continue
		}
		n := byNS[ns]
		if n == nil {
			n = &need{routeKinds: map[string]bool{}, eppTargets: map[string]gwapiv1beta1.ReferenceGrantTo{}}
			byNS[ns] = n
			namespaces = append(namespaces, ns)
		}
		n.routeKinds[u.route.kind] = true
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
		var from []gwapiv1beta1.ReferenceGrantFrom
		for _, k := range PoolRouteKinds {
			if n.routeKinds[k] {
				from = append(from, gwapiv1beta1.ReferenceGrantFrom{Group: gwapiv1.GroupName, Kind: gwapiv1.Kind(k), Namespace: gwapiv1.Namespace(ns)})
			}
		}
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
