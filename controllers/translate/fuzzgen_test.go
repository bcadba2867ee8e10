package translate_test

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// generator builds a Snapshot of the user's objects from fuzz bytes. It aims at what the API
// server accepts (the operator only sees validated objects), edges included, and keeps the names
// it made so that references mostly hit something: a reference to a missing object is one choice
// among others, not the rule.
type generator struct {
	c    *choices
	snap *translate.Snapshot
	uids int

	namespaces []string
	classes    []string // every class name, ours and foreign
	params     []string
	pools      []types.NamespacedName
	favourite  types.NamespacedName // the pool half the pool refs of the current route name
	// labels are the label pairs objects carry and selectors ask for, so selectors match.
	labels [][2]string
}

// generateSnapshot builds a snapshot of the user's objects from data, then adds the objects the
// operator generated from it as Envoy Gateway left them (genEGState). The first byte makes one
// input in eight big (choices.big).
func generateSnapshot(data []byte) *translate.Snapshot {
	c := &choices{data: data}
	c.big = c.oneIn(8)
	g := &generator{c: c, snap: &translate.Snapshot{
		DefaultEnvoyGatewayClass: pick(c, "eg", "envoy-gateway", long(253, 'e')),
		ClusterDomain:            pick(c, "", "cluster.local", "corp.example"),
	}}
	for n := c.count(3, 6); n > 0; n-- {
		g.labels = append(g.labels, [2]string{c.labelKey(), c.labelValue()})
	}
	g.genNamespaces()
	g.genClasses()
	g.genEnvoyGatewayClasses()
	g.genGateways()
	g.genPools()
	g.genEPPServices()
	g.genRoutes()
	g.genCopiedRoutes()
	g.genGrants()
	g.genPolicies()
	g.genEGState()
	g.genMistakes()
	g.genShadowServiceSlices()
	return g.snap
}

// meta is the metadata of a user's object: a unique UID (the API server sets one), a generation,
// and a creation time from a few seconds, so equal times (ties) are common.
func (g *generator) meta(namespace, name string) metav1.ObjectMeta {
	g.uids++
	return metav1.ObjectMeta{
		Namespace:         namespace,
		Name:              name,
		UID:               types.UID(fmt.Sprintf("uid-%d", g.uids)),
		Generation:        int64(g.c.between(1, 3)),
		CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, g.c.intn(3), 0, time.UTC)),
	}
}

// someLabels picks labels from the shared pairs.
func (g *generator) someLabels() map[string]string {
	if len(g.labels) == 0 || g.c.bool() {
		return nil
	}
	out := map[string]string{}
	for n := g.c.between(1, 2); n > 0; n-- {
		l := g.labels[g.c.intn(len(g.labels))]
		out[l[0]] = l[1]
	}
	return out
}

// namespace picks a namespace, the first one half of the time (in big inputs, seven times in
// eight, so that many objects meet in one): most references stay within a namespace, as most
// users' do, and the rest cross.
func (g *generator) namespace() string {
	if g.c.bool() || (g.c.big && !g.c.oneIn(8)) {
		return g.namespaces[0]
	}
	return g.namespaces[g.c.intn(len(g.namespaces))]
}

// uniqueName returns a name made by gen that taken does not hold yet (the API server allows
// one object per kind, namespace and name), or "" when a few tries found none.
func uniqueName(gen func() string, taken func(string) bool) string {
	for range 4 {
		if n := gen(); !taken(n) {
			return n
		}
	}
	return ""
}

func (g *generator) genNamespaces() {
	for n := g.c.between(1, 3); n > 0 || len(g.namespaces) == 0; n-- {
		ns := uniqueName(g.c.dns1123Label, func(s string) bool { return slices.Contains(g.namespaces, s) })
		if ns == "" {
			ns = "apps"
			if slices.Contains(g.namespaces, ns) {
				continue
			}
		}
		g.namespaces = append(g.namespaces, ns)
		if g.c.bool() {
			g.snap.Namespaces = append(g.snap.Namespaces, corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{Name: ns, UID: types.UID("ns-" + ns), Labels: g.someLabels()},
			})
		}
	}
}

func (g *generator) gateway(nn types.NamespacedName) *gwapiv1.Gateway {
	return g.snap.Gateway(nn)
}

// genGrants makes ReferenceGrants that let routes reach pools and policies reach Gateways and
// routes across namespaces, for some pairs of namespaces.
func (g *generator) genGrants() {
	c := g.c
	for n := c.count(2, 6); n > 0; n-- {
		fromKind := pick(c, "HTTPRoute", "BackendTrafficPolicy", "SecurityPolicy", "EnvoyExtensionPolicy", "ClientTrafficPolicy")
		to := pick(c,
			gwapiv1beta1.ReferenceGrantTo{Group: translate.InferenceGroup, Kind: translate.InferencePoolKind},
			gwapiv1beta1.ReferenceGrantTo{Group: gwapiv1.GroupName, Kind: "HTTPRoute"},
			gwapiv1beta1.ReferenceGrantTo{Group: gwapiv1.GroupName, Kind: "Gateway"},
			gwapiv1beta1.ReferenceGrantTo{Group: "", Kind: "Service"})
		if c.bool() {
			// A grant for one object: whichever of the generated names, so it matches now and then.
			to.Name = ptr.To(gwapiv1.ObjectName(g.someName()))
		}
		g.grant(g.namespace(), fromKind, g.namespace(), to)
	}
}

// grant adds a ReferenceGrant in ns that lets objects of fromKind in fromNS reach to.
func (g *generator) grant(ns, fromKind, fromNS string, to gwapiv1beta1.ReferenceGrantTo) {
	name := uniqueName(g.c.subdomain, func(s string) bool {
		return slices.ContainsFunc(g.snap.Grants, func(o gwapiv1beta1.ReferenceGrant) bool { return o.Namespace == ns && o.Name == s })
	})
	if name == "" {
		return
	}
	fromGroup := "gateway.envoyproxy.io"
	if fromKind == "HTTPRoute" {
		fromGroup = gwapiv1.GroupName
	}
	grant := gwapiv1beta1.ReferenceGrant{ObjectMeta: g.meta(ns, name)}
	grant.Spec.From = []gwapiv1beta1.ReferenceGrantFrom{{Group: gwapiv1.Group(fromGroup), Kind: gwapiv1.Kind(fromKind), Namespace: gwapiv1.Namespace(fromNS)}}
	grant.Spec.To = []gwapiv1beta1.ReferenceGrantTo{to}
	g.snap.Grants = append(g.snap.Grants, grant)
}

// someName is the name of one of the pools, Gateways or routes made so far, or a new one.
func (g *generator) someName() string {
	var names []string
	for _, p := range g.pools {
		names = append(names, p.Name)
	}
	for _, gw := range g.snap.Gateways {
		names = append(names, gw.Name)
	}
	for _, r := range g.snap.HTTPRoutes {
		names = append(names, r.Name)
	}
	if len(names) == 0 || g.c.oneIn(4) {
		return g.c.subdomain()
	}
	return names[g.c.intn(len(names))]
}
