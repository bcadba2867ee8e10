package translate_test

import (
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// genRoutes makes HTTPRoutes: parentRefs to our, foreign and missing Gateways (with and without
// sectionName, across namespaces), 0 to 16 rules named by the user or not, each
// with 0 to 16 backendRefs mixing pools (existing, missing, in other namespaces), Services, Envoy
// Gateway Backends and kinds nobody supports, with weights from 0 to Gateway API's maximum.
func (g *generator) genRoutes() {
	c := g.c
	for n := c.count(2, 12); n > 0; n-- {
		ns := g.namespace()
		name := uniqueName(c.subdomain, func(s string) bool {
			return g.snap.HTTPRoute(types.NamespacedName{Namespace: ns, Name: s}) != nil
		})
		if name == "" {
			continue
		}
		route := gwapiv1.HTTPRoute{ObjectMeta: g.meta(ns, name)}
		route.Labels = g.someLabels()
		for p := c.count(2, 32); p > 0; p-- {
			if ref := g.parentRef(ns); parentRefAllowed(route.Spec.ParentRefs, ref) {
				route.Spec.ParentRefs = append(route.Spec.ParentRefs, ref)
			}
		}
		// Most rules of a route send to one pool (a route per model, many paths): many rules
		// of one pool make its policies split (MaxTargetRefsPerPolicy).
		g.favourite = types.NamespacedName{}
		if len(g.pools) > 0 {
			g.favourite = g.pools[c.intn(len(g.pools))]
		}
		var ruleNames []string
		for r := c.count(3, 16); r > 0; r-- {
			route.Spec.Rules = append(route.Spec.Rules, g.rule(ns, &ruleNames))
		}
		g.snap.HTTPRoutes = append(g.snap.HTTPRoutes, route)
	}
}

// parentRefAllowed tells whether Gateway API lets ref join refs: several refs to one parent
// (the namespace as written) must all name a sectionName, or all a port, or both, and differ.
func parentRefAllowed(refs []gwapiv1.ParentReference, ref gwapiv1.ParentReference) bool {
	for _, r := range refs {
		if parentKey(r) != parentKey(ref) {
			continue
		}
		if (r.SectionName == nil) != (ref.SectionName == nil) || (r.Port == nil) != (ref.Port == nil) ||
			(ptr.Deref(r.SectionName, "") == ptr.Deref(ref.SectionName, "") && ptr.Deref(r.Port, 0) == ptr.Deref(ref.Port, 0)) {
			return false
		}
	}
	return true
}

// parentKey identifies a parentRef's parent as Gateway API's validation compares them: group and
// kind defaulted, the namespace as written.
func parentKey(r gwapiv1.ParentReference) string {
	return fmt.Sprintf("%s/%s/%s/%s", ptr.Deref(r.Group, gwapiv1.GroupName), ptr.Deref(r.Kind, "Gateway"), ptr.Deref(r.Namespace, ""), r.Name)
}

func (g *generator) parentRef(routeNS string) gwapiv1.ParentReference {
	c := g.c
	if len(g.snap.Gateways) == 0 || c.oneIn(6) {
		return gwapiv1.ParentReference{Name: gwapiv1.ObjectName(c.subdomain())} // most likely missing
	}
	if c.oneIn(8) {
		// A Service parent (GAMMA): not a Gateway, nobody's business here.
		return gwapiv1.ParentReference{Group: ptr.To(gwapiv1.Group("")), Kind: ptr.To(gwapiv1.Kind("Service")), Name: gwapiv1.ObjectName(c.dns1035Label())}
	}
	gw := &g.snap.Gateways[c.intn(len(g.snap.Gateways))]
	ref := gwapiv1.ParentReference{Name: gwapiv1.ObjectName(gw.Name)}
	if gw.Namespace != routeNS || c.oneIn(4) {
		ref.Namespace = ptr.To(gwapiv1.Namespace(gw.Namespace))
	}
	if c.oneIn(4) {
		ref.Group, ref.Kind = ptr.To(gwapiv1.Group(gwapiv1.GroupName)), ptr.To(gwapiv1.Kind("Gateway"))
	}
	switch c.intn(4) {
	case 0:
		if len(gw.Spec.Listeners) > 0 {
			ref.SectionName = ptr.To(gw.Spec.Listeners[c.intn(len(gw.Spec.Listeners))].Name)
		}
	case 1:
		ref.SectionName = ptr.To(gwapiv1.SectionName(c.sectionName()))
	}
	if c.oneIn(8) {
		ref.Port = ptr.To(gwapiv1.PortNumber(pick(c, 80, 443, 65535)))
	}
	return ref
}

// rule makes one rule; names are the rule names of the route so far (for duplicates).
func (g *generator) rule(routeNS string, names *[]string) gwapiv1.HTTPRouteRule {
	c := g.c
	var rule gwapiv1.HTTPRouteRule
	// Unnamed (the operator names it "rule-<index>") or named, uniquely: the experimental
	// channel's CRD, which Envoy Gateway installs, refuses two rules of one name. Names like
	// "rule-1" make the operator's own names step aside.
	if name := c.sectionName(); c.intn(4) != 0 && !slices.Contains(*names, name) {
		*names = append(*names, name)
		rule.Name = ptr.To(gwapiv1.SectionName(name))
	}
	for m := c.count(1, 4); m > 0; m-- {
		rule.Matches = append(rule.Matches, g.match())
	}
	if c.oneIn(4) {
		rule.Timeouts = &gwapiv1.HTTPRouteTimeouts{Request: maybe(c, gwapiv1.Duration("30s")), BackendRequest: maybe(c, gwapiv1.Duration("10s"))}
	}
	if c.oneIn(6) {
		rule.Filters = []gwapiv1.HTTPRouteFilter{g.headerFilter(4)}
	}
	for b := c.count(3, 16); b > 0; b-- {
		rule.BackendRefs = append(rule.BackendRefs, g.backendRef(routeNS))
	}
	return rule
}

// match is a path match (unicode in regular expressions, which allow it; percent-encoded in
// prefixes, which do not) with sometimes a header match.
func (g *generator) match() gwapiv1.HTTPRouteMatch {
	c := g.c
	var m gwapiv1.HTTPRouteMatch
	switch c.intn(3) {
	case 0:
		m.Path = &gwapiv1.HTTPPathMatch{Type: ptr.To(gwapiv1.PathMatchPathPrefix), Value: ptr.To(pick(c, "/", "/v1/chat/completions", "/%C3%BC"))}
	case 1:
		m.Path = &gwapiv1.HTTPPathMatch{Type: ptr.To(gwapiv1.PathMatchRegularExpression), Value: ptr.To("^/" + c.text(1000))}
	}
	if c.oneIn(3) {
		m.Headers = []gwapiv1.HTTPHeaderMatch{{Name: "x-model", Value: c.headerValue(4096)}}
	}
	return m
}

// headerFilter is a RequestHeaderModifier setting up to max headers (Gateway API allows 16),
// sometimes the operator's own pool header.
func (g *generator) headerFilter(max int) gwapiv1.HTTPRouteFilter {
	c := g.c
	mod := &gwapiv1.HTTPHeaderFilter{}
	for i := c.between(1, max); i > 0; i-- {
		name := gwapiv1.HTTPHeaderName(fmt.Sprintf("x-h%d", i))
		if c.oneIn(8) {
			name = pick[gwapiv1.HTTPHeaderName](c, translate.PoolHeader, "X-InferencePool-Operator-Pool")
			if containsHeader(mod.Set, name) {
				continue
			}
		}
		mod.Set = append(mod.Set, gwapiv1.HTTPHeader{Name: name, Value: c.headerValue(4096)})
	}
	return gwapiv1.HTTPRouteFilter{Type: gwapiv1.HTTPRouteFilterRequestHeaderModifier, RequestHeaderModifier: mod}
}

func containsHeader(headers []gwapiv1.HTTPHeader, name gwapiv1.HTTPHeaderName) bool {
	for _, h := range headers {
		if h.Name == name {
			return true
		}
	}
	return false
}

func (g *generator) backendRef(routeNS string) gwapiv1.HTTPBackendRef {
	c := g.c
	var ref gwapiv1.HTTPBackendRef
	switch c.intn(8) {
	case 0:
		ref.Name, ref.Port = gwapiv1.ObjectName(c.dns1035Label()), ptr.To(gwapiv1.PortNumber(8080))
	case 1:
		ref.Group, ref.Kind, ref.Name = ptr.To(gwapiv1.Group("gateway.envoyproxy.io")), ptr.To(gwapiv1.Kind("Backend")), gwapiv1.ObjectName(c.subdomain())
	case 2:
		ref.Group, ref.Kind, ref.Name = ptr.To(gwapiv1.Group("example.com")), ptr.To(gwapiv1.Kind("Foo")), gwapiv1.ObjectName(c.subdomain())
	default:
		ref.Group, ref.Kind = ptr.To(gwapiv1.Group(translate.InferenceGroup)), ptr.To(gwapiv1.Kind(translate.InferencePoolKind))
		pool := types.NamespacedName{Namespace: routeNS, Name: c.subdomain()} // most likely missing
		switch {
		case g.favourite.Name != "" && c.bool():
			pool = g.favourite
		case len(g.pools) > 0 && !c.oneIn(6):
			pool = g.pools[c.intn(len(g.pools))]
		}
		ref.Name = gwapiv1.ObjectName(pool.Name)
		if pool.Namespace != routeNS || c.oneIn(4) {
			ref.Namespace = ptr.To(gwapiv1.Namespace(pool.Namespace))
		}
		if pool.Namespace != routeNS && c.bool() {
			// Mostly, a user who references another namespace's pool has that namespace grant it.
			to := gwapiv1beta1.ReferenceGrantTo{Group: translate.InferenceGroup, Kind: translate.InferencePoolKind}
			if c.bool() {
				to.Name = ptr.To(gwapiv1.ObjectName(pool.Name))
			}
			g.grant(pool.Namespace, "HTTPRoute", routeNS, to)
		}
		if c.oneIn(4) {
			ref.Port = ptr.To(gwapiv1.PortNumber(pick(c, 8000, 1, 65535))) // ignored, as GIE says
		}
	}
	switch c.intn(6) {
	case 0:
		ref.Weight = ptr.To(int32(0))
	case 1:
		ref.Weight = ptr.To(int32(1))
	case 2:
		ref.Weight = ptr.To(int32(1000000))
	case 3:
		ref.Weight = ptr.To(int32(c.intn(1000001)))
	}
	if c.oneIn(6) {
		ref.Filters = []gwapiv1.HTTPRouteFilter{g.headerFilter(16)}
	}
	return ref
}

// genCopiedRoutes makes routes of the kinds served by copy (GRPCRoute, TLSRoute, TCPRoute,
// UDPRoute): parentRefs as for HTTPRoutes, 0 to 4 rules named or not, each with backendRefs of
// every kind an HTTPRoute rule may name (InferencePools included, which these kinds refuse).
func (g *generator) genCopiedRoutes() {
	c := g.c
	for _, k := range translate.CopiedRouteKinds {
		for n := c.count(0, 3); n > 0; n-- {
			ns := g.namespace()
			name := uniqueName(c.subdomain, func(s string) bool {
				for _, o := range g.snap.ObjectsOf(k.Kind) {
					if o.GetNamespace() == ns && o.GetName() == s {
						return true
					}
				}
				return false
			})
			if name == "" {
				continue
			}
			var parents []gwapiv1.ParentReference
			for p := c.count(1, 8); p > 0; p-- {
				if ref := g.parentRef(ns); parentRefAllowed(parents, ref) {
					parents = append(parents, ref)
				}
			}
			var rules []any
			for r := c.count(1, 4); r > 0; r-- {
				rule := map[string]any{}
				if c.bool() {
					rule["name"] = fmt.Sprintf("rule-%d", r)
				}
				var refs []gwapiv1.BackendRef
				for b := c.count(1, 4); b > 0; b-- {
					refs = append(refs, g.backendRef(ns).BackendRef)
				}
				rule["backendRefs"] = refs
				rules = append(rules, rule)
			}
			route := k.New()
			u := map[string]any{"spec": map[string]any{"parentRefs": parents, "rules": rules}}
			if err := fromUnstructured(u, route); err != nil {
				panic(err)
			}
			meta := g.meta(ns, name)
			route.SetNamespace(ns)
			route.SetName(name)
			route.SetUID(meta.UID)
			route.SetGeneration(meta.Generation)
			route.SetCreationTimestamp(meta.CreationTimestamp)
			g.snap.Add(route)
		}
	}
}

// fromUnstructured decodes u (Go values, converted through JSON) into obj.
func fromUnstructured(u map[string]any, obj client.Object) error {
	data, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, obj)
}
