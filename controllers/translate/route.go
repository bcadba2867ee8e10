package translate

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// GeneratedRouteName is the name of the EG HTTPRoute generated for the user's route name.
func GeneratedRouteName(name string) string { return DNS1035Name(name, "eg") }

// unresolvedServicePort is the port of a backendRef that stands for an unusable pool.
const unresolvedServicePort = 80

// UnresolvedServiceName is the Service name a ref to an unusable pool (missing, not permitted,
// without target ports) becomes. It contains a dot, so no Service can ever have it: Envoy
// Gateway answers 500 for exactly that ref's share of traffic, as Gateway API requires.
func UnresolvedServiceName(poolName string) string {
	return "unresolved-inferencepool." + LabelValue(poolName)
}

// RuleNames gives every rule of a route a name: its own, else "rule-<index>" (made unique
// against the names the user chose). Policies target rules by these names.
func RuleNames(route *gwapiv1.HTTPRoute) []string {
	return httpPoolRoute(route).ruleNames
}

// ruleNamesOf is RuleNames for the names a route's rules were given (nil: unnamed).
func ruleNamesOf(given []*gwapiv1.SectionName) []string {
	taken := map[string]bool{}
	for _, n := range given {
		if n != nil {
			taken[string(*n)] = true
		}
	}
	out := make([]string, len(given))
	for i, n := range given {
		if n != nil && *n != "" {
			out[i] = string(*n)
			continue
		}
		name := fmt.Sprintf("rule-%d", i)
		for taken[name] {
			name += "-x"
		}
		taken[name] = true
		out[i] = name
	}
	return out
}

// RouteResult is what one HTTPRoute on our Gateways translates to.
type RouteResult struct {
	// Objects holds the generated HTTPRoute, or nothing when no parent is served.
	Objects []client.Object
	// Parents are the desired status entries for the route's parentRefs to our Gateways.
	Parents []gwapiv1.RouteParentStatus
	// Events are warnings to record on the route.
	Events []Event
}

// Event is an event to record on a user's object.
type Event struct {
	Type    string `json:"type"` // Normal or Warning
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func routeSource(r *gwapiv1.HTTPRoute) Source {
	return Source{Kind: "HTTPRoute", Namespace: r.Namespace, Name: r.Name}
}

// ForRoute renders the EG HTTPRoute for a route on our Gateways and the route's status
// entries for those Gateways.
func ForRoute(s *Snapshot, route *gwapiv1.HTTPRoute) RouteResult {
	var res RouteResult
	generated, warnings := generateRoute(s, route)
	if generated != nil {
		res.Objects = []client.Object{generated}
	}
	res.Parents = RouteParents(s, route, generated)
	res.Events = append(httpPoolRoute(route).multiPoolWarnings(s), warnings...)
	return res
}

func multiPoolMessage(route poolRoute, rule string, pools []types.NamespacedName) string {
	names := make([]string, len(pools))
	for i, p := range pools {
		names[i] = p.String()
	}
	return fmt.Sprintf("rule %q of %s splits traffic across InferencePools %s: Envoy splits it by the backendRef weights, each pool's share over that pool's own endpoints; Envoy Gateway can call one endpoint picker per rule, so %s's endpoint picker runs for every request of the rule and is followed in %s's share, while the other pools' shares are load-balanced by the fallback policy without their own endpoint pickers",
		rule, route, strings.Join(names, ", "), names[0], names[0])
}

// GeneratedRoute renders the EG HTTPRoute for route, or nil when none of its parents is served.
func GeneratedRoute(s *Snapshot, route *gwapiv1.HTTPRoute) *gwapiv1.HTTPRoute {
	r, _ := generateRoute(s, route)
	return r
}

// generateRoute renders the EG HTTPRoute for route (nil when none of its parents is served)
// and the warnings about how Envoy will serve its rules.
func generateRoute(s *Snapshot, route *gwapiv1.HTTPRoute) (*gwapiv1.HTTPRoute, []Event) {
	parents := servedParents(s, route)
	if len(parents) == 0 {
		return nil, nil
	}
	// The route's first served parent's class decides, as for the rules' policies.
	_, settings, _ := s.OurServedGateway(ParentGateway(parents[0], route.Namespace))
	spec := route.Spec.DeepCopy()
	spec.ParentRefs = make([]gwapiv1.ParentReference, len(parents))
	for i, p := range parents {
		spec.ParentRefs[i] = generatedParentRef(p)
	}
	var events []Event
	names := RuleNames(route)
	for i := range spec.Rules {
		rule := &spec.Rules[i]
		name := gwapiv1.SectionName(names[i])
		rule.Name = &name
		if !usesPool(rule) {
			continue
		}
		var warnings []Event
		rule.BackendRefs, warnings = ruleBackendRefs(s, httpPoolRoute(route), names[i], route.Spec.Rules[i].BackendRefs)
		events = append(events, warnings...)
		if rule.Timeouts == nil || (rule.Timeouts.Request == nil && rule.Timeouts.BackendRequest == nil) {
			rule.Timeouts = defaultTimeouts(settings)
		}
	}
	return &gwapiv1.HTTPRoute{
		TypeMeta: metav1.TypeMeta{APIVersion: gwapiv1.GroupVersion.String(), Kind: "HTTPRoute"},
		ObjectMeta: objectMeta(routeSource(route), route.Namespace, GeneratedRouteName(route.Name),
			controllerRef(gwapiv1.GroupVersion.String(), "HTTPRoute", route)),
		Spec: *spec,
	}, events
}

// defaultTimeouts are the timeouts of a generated pool rule whose user rule sets none: without
// them Envoy Gateway sets no route timeout and Envoy cuts every response at 15 s.
func defaultTimeouts(settings Settings) *gwapiv1.HTTPRouteTimeouts {
	request := gwapiv1.Duration(settings.RequestTimeout)
	t := &gwapiv1.HTTPRouteTimeouts{Request: &request}
	if settings.BackendRequestTimeout != nil {
		backend := gwapiv1.Duration(*settings.BackendRequestTimeout)
		t.BackendRequest = &backend
	}
	return t
}

// refProblem says why a backendRef of a route of kind (in PoolRouteKinds) in ns cannot be
// resolved by us (reason, message), or returns empty strings. Service and EG Backend refs are
// left to Envoy Gateway's verdict.
func refProblem(s *Snapshot, kind, ns string, ref gwapiv1.BackendObjectReference) (reason gwapiv1.RouteConditionReason, message string) {
	group, refKind := "", "Service"
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		refKind = string(*ref.Kind)
	}
	switch {
	case group == InferenceGroup && refKind == InferencePoolKind:
		nn := types.NamespacedName{Namespace: RefNamespace(ref, ns), Name: string(ref.Name)}
		if !s.poolRefPermitted(kind, ns, nn) {
			return gwapiv1.RouteReasonRefNotPermitted, fmt.Sprintf("InferencePool %s is in another namespace and no ReferenceGrant there allows %ss from %q", nn, kind, ns)
		}
		pool := s.Pool(nn)
		if pool == nil {
			return gwapiv1.RouteReasonBackendNotFound, fmt.Sprintf("InferencePool %s not found", nn)
		}
		if !poolFitsKind(pool, kind) {
			return gwapiv1.RouteReasonUnsupportedProtocol, fmt.Sprintf("InferencePool %s has appProtocol %q: a %s needs model servers that speak gRPC, appProtocol %s (Envoy speaks HTTP/2 to them); its share of traffic goes nowhere", nn, appProtocolOf(pool), kind, AppProtocolH2C)
		}
		return "", ""
	case group == "" && refKind == "Service", group == "gateway.envoyproxy.io" && refKind == "Backend":
		return "", ""
	default:
		return gwapiv1.RouteReasonInvalidKind, fmt.Sprintf("backendRef kind %s.%s is not supported (use Service, InferencePool or gateway.envoyproxy.io Backend)", refKind, group)
	}
}

// appProtocolOf is the pool's appProtocol, with GIE's default.
func appProtocolOf(pool *giev1.InferencePool) string {
	if pool.Spec.AppProtocol == "" {
		return string(giev1.AppProtocolHTTP)
	}
	return string(pool.Spec.AppProtocol)
}

// RouteParents computes the status entries of route for its parentRefs to our Gateways:
// Accepted mirrored from Envoy Gateway's verdict on the generated route, ResolvedRefs ours for
// pool refs and EG's for the rest.
func RouteParents(s *Snapshot, route *gwapiv1.HTTPRoute, desired *gwapiv1.HTTPRoute) []gwapiv1.RouteParentStatus {
	in := mirrorInput{kind: "HTTPRoute", route: route, parentRefs: route.Spec.ParentRefs}
	if desired != nil {
		if generated := s.HTTPRoute(types.NamespacedName{Namespace: route.Namespace, Name: desired.Name}); isCurrent(generated, desired) {
			in.verdict, in.verdictGeneration = &generated.Status.RouteStatus, generated.Generation
		}
	}
	for _, rule := range route.Spec.Rules {
		for _, br := range rule.BackendRefs {
			if reason, msg := refProblem(s, "HTTPRoute", route.Namespace, br.BackendObjectReference); reason != "" {
				in.refProblem(reason, msg)
			}
		}
	}
	return mirroredParents(s, in)
}

func ptrString[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

func ptrPort(p *gwapiv1.PortNumber) int32 {
	if p == nil {
		return 0
	}
	return int32(*p)
}

// poolSource is the Source of objects generated for a pool.
func poolSource(pool *giev1.InferencePool) Source {
	return Source{Kind: InferencePoolKind, Namespace: pool.Namespace, Name: pool.Name}
}
