package translate

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// How a user's rule becomes backendRefs Envoy Gateway turns into the right clusters:
//
//   - A pool ref becomes one ref per target port of the pool, to its shadow Service. Without
//     per-backendRef filters Envoy Gateway builds ONE cluster for the rule from all of them, so
//     every podIP:targetPort is a host of it and override_host can follow any endpoint-picker
//     answer (design.md §11).
//   - A rule that splits traffic between a pool and another backend (a second pool, a Service)
//     gets a filter on each pool ref. A backendRef filter makes Envoy Gateway build one cluster
//     per backendRef and a weighted_clusters route action, so Envoy honours the weights; in one
//     cluster, override_host's fallback ignores locality weights (design.md §13).
//   - Weights: a pool's weight is split over its ports in proportion, and all weights of the
//     rule are scaled to integers.

// PoolHeader is set, on a rule that splits traffic across backends, on the requests of each
// pool's share: "namespace/name" of the pool that serves them. It is the backendRef filter that
// makes Envoy Gateway give each backend its own cluster; model servers may log it.
const PoolHeader = "x-inferencepool-operator-pool"

// maxRuleBackendRefs is Gateway API's limit on the backendRefs of an HTTPRoute rule.
const maxRuleBackendRefs = 16

// maxHeaderFilterEntries is Gateway API's limit on the headers a header filter sets.
const maxHeaderFilterEntries = 16

// maxBackendRefWeight is Gateway API's largest backendRef weight.
const maxBackendRefWeight = 1000000

// ruleTarget is one backendRef of the user's rule, resolved: the pool it names (usable or
// not) and, for a usable pool, its target ports.
type ruleTarget struct {
	ref   gwapiv1.HTTPBackendRef
	pool  *giev1.InferencePool // a usable pool (exists, has ports, reference permitted), else nil
	isRef bool                 // names an InferencePool (usable or not)
	nn    types.NamespacedName // the pool's name, when isRef
	ports []int32              // the ports its generated refs use (usable pools)
}

// ruleBackendRefs renders the generated rule's backendRefs from the user's rule, and the
// warnings to record on the route about how Envoy will serve them.
func ruleBackendRefs(s *Snapshot, route poolRoute, ruleName string, refs []gwapiv1.HTTPBackendRef) ([]gwapiv1.HTTPBackendRef, []Event) {
	targets := make([]ruleTarget, len(refs))
	total := 0
	for i, ref := range refs {
		t := ruleTarget{ref: ref}
		if IsPoolRef(ref.BackendObjectReference) {
			t.isRef = true
			t.nn = types.NamespacedName{Namespace: RefNamespace(ref.BackendObjectReference, route.namespace()), Name: string(ref.Name)}
			if p := s.usablePool(route.kind, route.namespace(), t.nn); p != nil {
				t.pool = p
				for _, tp := range p.Spec.TargetPorts {
					t.ports = append(t.ports, int32(tp.Number))
				}
			}
		}
		total += max(len(t.ports), 1)
		targets[i] = t
	}
	var events []Event
	if total > maxRuleBackendRefs {
		// Gateway API allows 16 backendRefs a rule: each pool keeps its first port only.
		for i := range targets {
			if len(targets[i].ports) > 1 {
				targets[i].ports = targets[i].ports[:1]
			}
		}
		events = append(events, Event{Type: "Warning", Reason: "PoolPortsTruncated", Message: fmt.Sprintf(
			"rule %q of %s would need %d backendRefs, one per target port of its InferencePools, and Gateway API allows %d: each pool is reached on its first target port only, so endpoint-picker answers naming another port fall back",
			ruleName, route, total, maxRuleBackendRefs)})
	}

	split := distinctBackends(targets) > 1
	weights := portWeights(targets)
	var out []gwapiv1.HTTPBackendRef
	perRefFilters := split
	for i, t := range targets {
		if len(t.ref.Filters) > 0 {
			perRefFilters = true
		}
		if !t.isRef {
			ref := *t.ref.DeepCopy()
			if weights != nil {
				ref.Weight = &weights[i][0]
			}
			out = append(out, ref)
			continue
		}
		if t.pool == nil {
			ref := *t.ref.DeepCopy()
			ref.BackendObjectReference = unresolvedPoolRef(string(t.ref.Name))
			if weights != nil {
				ref.Weight = &weights[i][0]
			}
			out = append(out, ref)
			continue
		}
		for j, port := range t.ports {
			ref := *t.ref.DeepCopy()
			ref.BackendObjectReference = shadowServiceRef(t.pool, t.ref.Namespace, port)
			if weights != nil {
				ref.Weight = &weights[i][j]
			}
			if split {
				ref.Filters = withPoolHeader(ref.Filters, t.nn)
			}
			out = append(out, ref)
		}
	}
	if perRefFilters {
		for _, t := range targets {
			if len(t.ports) > 1 {
				events = append(events, Event{Type: "Warning", Reason: "PoolPortsInSeparateClusters", Message: fmt.Sprintf(
					"rule %q of %s has per-backend clusters (it splits traffic or its backendRefs have filters), so Envoy Gateway gives each of the %d target ports of InferencePool %s its own cluster: Envoy picks a port's cluster by weight first, and follows the endpoint picker only when its answer is on that port",
					ruleName, route, len(t.ports), t.nn)})
			}
		}
	}
	return out, events
}

// distinctBackends counts the different backends a rule's refs name: each pool once (however
// many refs and ports), every other ref once.
func distinctBackends(targets []ruleTarget) int {
	pools := map[types.NamespacedName]bool{}
	n := 0
	for _, t := range targets {
		if !t.isRef {
			n++
			continue
		}
		if !pools[t.nn] {
			pools[t.nn] = true
			n++
		}
	}
	return n
}

// portWeights gives each generated ref its weight: weights[i][j] for port j of ref i. A ref's
// weight (Gateway API default 1) is split over its ports, and every weight of the rule is
// multiplied by the least common multiple of the port counts so all stay integers. nil when no
// ref has several ports: the refs keep the user's weights as written.
func portWeights(targets []ruleTarget) [][]int32 {
	l := int64(1)
	for _, t := range targets {
		if len(t.ports) > 1 {
			l = lcm(l, int64(len(t.ports)))
		}
	}
	if l == 1 {
		return nil
	}
	raw := make([][]int64, len(targets))
	var top int64
	for i, t := range targets {
		w := int64(1)
		if t.ref.Weight != nil {
			w = int64(*t.ref.Weight)
		}
		n := max(len(t.ports), 1)
		raw[i] = make([]int64, n)
		for j := range raw[i] {
			raw[i][j] = w * l / int64(n)
			top = max(top, raw[i][j])
		}
	}
	out := make([][]int32, len(targets))
	for i := range raw {
		out[i] = make([]int32, len(raw[i]))
		for j, w := range raw[i] {
			if top > maxBackendRefWeight {
				// Scale down to Gateway API's maximum, keeping every non-zero weight non-zero.
				w = max((w*maxBackendRefWeight+top/2)/top, min(w, 1))
			}
			out[i][j] = int32(w)
		}
	}
	return out
}

func lcm(a, b int64) int64 {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// withPoolHeader returns filters with a RequestHeaderModifier that sets PoolHeader to the pool's
// name: added to the ref's own RequestHeaderModifier if it has one (Gateway API allows one of
// each type), left alone if the user already sets or adds that header, or already sets as many
// headers as Gateway API allows (the user's filter alone gives the ref its own cluster; the header
// is only informative).
func withPoolHeader(filters []gwapiv1.HTTPRouteFilter, pool types.NamespacedName) []gwapiv1.HTTPRouteFilter {
	header := gwapiv1.HTTPHeader{Name: PoolHeader, Value: pool.String()}
	for i := range filters {
		f := &filters[i]
		if f.Type != gwapiv1.HTTPRouteFilterRequestHeaderModifier || f.RequestHeaderModifier == nil {
			continue
		}
		if len(f.RequestHeaderModifier.Set) >= maxHeaderFilterEntries {
			return filters
		}
		for _, h := range append(append([]gwapiv1.HTTPHeader{}, f.RequestHeaderModifier.Set...), f.RequestHeaderModifier.Add...) {
			if strings.EqualFold(string(h.Name), PoolHeader) {
				return filters
			}
		}
		f.RequestHeaderModifier.Set = append(f.RequestHeaderModifier.Set, header)
		return filters
	}
	return append(filters, gwapiv1.HTTPRouteFilter{
		Type:                  gwapiv1.HTTPRouteFilterRequestHeaderModifier,
		RequestHeaderModifier: &gwapiv1.HTTPHeaderFilter{Set: []gwapiv1.HTTPHeader{header}},
	})
}

// shadowServiceRef is a ref, from a route whose pool ref had namespace ns, to the pool's shadow
// Service on port (the pool ref's own port is ignored, as GIE specifies).
func shadowServiceRef(pool *giev1.InferencePool, ns *gwapiv1.Namespace, port int32) gwapiv1.BackendObjectReference {
	core, svc := gwapiv1.Group(""), gwapiv1.Kind("Service")
	p := gwapiv1.PortNumber(port)
	return gwapiv1.BackendObjectReference{Group: &core, Kind: &svc, Name: gwapiv1.ObjectName(ShadowServiceName(pool.Name)), Namespace: ns, Port: &p}
}

// unresolvedPoolRef stands for an unusable pool (missing, not permitted, without target ports):
// a Service that cannot exist, so Envoy Gateway answers 500 for exactly that ref's share.
func unresolvedPoolRef(poolName string) gwapiv1.BackendObjectReference {
	core, svc := gwapiv1.Group(""), gwapiv1.Kind("Service")
	port := gwapiv1.PortNumber(unresolvedServicePort)
	return gwapiv1.BackendObjectReference{Group: &core, Kind: &svc, Name: gwapiv1.ObjectName(UnresolvedServiceName(poolName)), Port: &port}
}
