package inspect

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// Analyze runs every check over the cluster and returns the findings on objects of namespace ns
// ("" for all; findings on cluster-scoped objects are always kept), sorted by object and code.
func Analyze(c *Cluster, ns string) []Finding {
	var out []Finding
	out = append(out, c.classFindings()...)
	for i := range c.Snap.Pools {
		out = append(out, c.poolFindings(&c.Snap.Pools[i])...)
	}
	for i := range c.Snap.HTTPRoutes {
		if r := &c.Snap.HTTPRoutes[i]; !ours(r) {
			out = append(out, c.routeFindings(r)...)
		}
	}
	for _, k := range translate.CopiedRouteKinds {
		for _, r := range c.Snap.ObjectsOf(k.Kind) {
			if !ours(r) {
				out = append(out, c.copiedRouteFindings(k, r)...)
			}
		}
	}
	for i := range c.Snap.Gateways {
		if gw := &c.Snap.Gateways[i]; !ours(gw) && c.Snap.OurClass(string(gw.Spec.GatewayClassName)) {
			out = append(out, c.generatedFindings(refOf(gw), translate.ForGateway(c.Snap, gw).Objects, false)...)
		}
	}
	out = append(out, c.userPolicyFindings()...)
	kept := out[:0]
	for _, f := range out {
		if ns == "" || f.Object.Namespace == "" || f.Object.Namespace == ns {
			kept = append(kept, f)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool {
		if a, b := kept[i].Object.String(), kept[j].Object.String(); a != b {
			return a < b
		}
		return kept[i].Code < kept[j].Code
	})
	return kept
}

// classFindings: our classes that are not accepted, by what they say.
func (c *Cluster) classFindings() []Finding {
	var out []Finding
	for i := range c.Snap.GatewayClasses {
		gc := &c.Snap.GatewayClasses[i]
		if gc.Spec.ControllerName != translate.ControllerName {
			continue
		}
		cond := meta.FindStatusCondition(gc.Status.Conditions, string(gwapiv1.GatewayClassConditionStatusAccepted))
		if cond == nil || cond.Status == "True" {
			continue
		}
		check := ClassNotAccepted
		switch cond.Reason {
		case translate.ReasonEnvoyGatewayClassNotFound, translate.ReasonEnvoyGatewayClassNotAccepted:
			check = EnvoyGatewayClassNotAccepted
		case translate.ReasonEnvoyGatewayBackendDisabled:
			check = EnvoyGatewayBackendAPIDisabled
		}
		out = append(out, check.on(refOf(gc), fmt.Sprintf("Accepted=%s (%s): %s", cond.Status, cond.Reason, cond.Message)))
	}
	return out
}

// poolFindings: the checks of a pool some route on our Gateways uses (a pool nobody routes to
// serves nothing).
func (c *Cluster) poolFindings(pool *giev1.InferencePool) []Finding {
	res := translate.ForPool(c.Snap, pool)
	if len(res.Parents) == 0 {
		return nil
	}
	ref := refOf(pool)
	var out []Finding
	pods := c.selectedPods(pool)
	ready := 0
	for i := range pods {
		if podReady(&pods[i]) {
			ready++
		}
	}
	switch {
	case len(pods) == 0:
		out = append(out, PoolSelectsNoPod.on(ref, fmt.Sprintf("the selector %s matches no pod in namespace %s: requests to the pool answer 503", translate.SelectorString(pool), pool.Namespace)))
	case ready == 0:
		out = append(out, PoolNoReadyPod.on(ref, fmt.Sprintf("none of the %d pods the selector %s matches is Ready: requests to the pool answer 503", len(pods), translate.SelectorString(pool))))
	}
	for _, tp := range pool.Spec.TargetPorts {
		lacking, declaring := 0, 0
		for i := range pods {
			has, declares := declaresPort(&pods[i], int32(tp.Number))
			if declares {
				declaring++
				if !has {
					lacking++
				}
			}
		}
		if declaring > 0 && lacking == declaring {
			out = append(out, PodsLackTargetPort.on(ref, fmt.Sprintf("no selected pod declares target port %d among its container ports", tp.Number)))
		}
	}
	out = append(out, c.eppFindings(pool, ref)...)
	return append(out, c.generatedFindings(ref, res.Objects, hasError(out))...)
}

// eppFindings: the pool's endpoint picker Service, its port and its ready endpoints.
func (c *Cluster) eppFindings(pool *giev1.InferencePool, ref Ref) []Finding {
	key, ok := translate.EPPServiceKey(pool)
	if !ok {
		return nil // no endpoint picker: plain load balancing
	}
	svc := c.Snap.Service(key)
	if svc == nil {
		return []Finding{EPPServiceMissing.on(ref, fmt.Sprintf("the endpoint picker's Service %s does not exist: %s", key, failureEffect(pool)))}
	}
	var out []Finding
	port := int32(pool.Spec.EndpointPickerRef.Port.Number)
	found := false
	for _, p := range svc.Spec.Ports {
		found = found || p.Port == port
	}
	if !found {
		out = append(out, EPPPortNotOnService.on(ref, fmt.Sprintf("the endpoint picker's Service %s has no port %d", key, port)))
	}
	if _, ready := translate.ServiceEndpoints(c.Snap.EndpointSlices, key); ready == 0 {
		f := EPPNoReadyEndpoint.on(ref, fmt.Sprintf("the endpoint picker's Service %s has no ready endpoint: %s", key, failureEffect(pool)))
		if pool.Spec.EndpointPickerRef.FailureMode == giev1.EndpointPickerFailOpen {
			f.Severity = Warning
		}
		out = append(out, f)
	}
	return out
}

func failureEffect(pool *giev1.InferencePool) string {
	if pool.Spec.EndpointPickerRef.FailureMode == giev1.EndpointPickerFailOpen {
		return "failure mode FailOpen: requests go to the pool's pods without the picker's choice"
	}
	return "failure mode FailClose: every request to the pool answers 5xx"
}

// routeFindings: a user's route's pool references.
func (c *Cluster) routeFindings(route *gwapiv1.HTTPRoute) []Finding {
	ref := refOf(route)
	usesPool := false
	for _, rule := range route.Spec.Rules {
		for _, br := range rule.BackendRefs {
			usesPool = usesPool || translate.IsPoolRef(br.BackendObjectReference)
		}
	}
	if !usesPool {
		return nil
	}
	var out []Finding
	for _, pr := range route.Spec.ParentRefs {
		if !translate.IsGatewayParentRef(pr) {
			continue
		}
		gw := c.Snap.Gateway(translate.ParentGateway(pr, route.Namespace))
		if gw == nil || ours(gw) {
			continue
		}
		if class := c.classOf(gw); class != nil && class.Spec.ControllerName == translate.EnvoyGatewayControllerName {
			out = append(out, PoolOnEnvoyGatewayGateway.on(ref, fmt.Sprintf("its parent Gateway %s/%s is of Envoy Gateway's class %s, which answers 500 for InferencePool backends", gw.Namespace, gw.Name, class.Name)))
		}
	}
	if !c.Snap.OnOurGateways(route) {
		return out
	}
	names := translate.RuleNames(route)
	for i, rule := range route.Spec.Rules {
		var pools []string
		for _, br := range rule.BackendRefs {
			if !translate.IsPoolRef(br.BackendObjectReference) {
				continue
			}
			nn := types.NamespacedName{Namespace: translate.RefNamespace(br.BackendObjectReference, route.Namespace), Name: string(br.Name)}
			pools = append(pools, nn.String())
			if nn.Namespace != route.Namespace && !c.Snap.PoolRefPermitted(route, nn) {
				out = append(out, PoolReferenceNotPermitted.on(ref, fmt.Sprintf("rule %s references InferencePool %s, and no ReferenceGrant in %s permits it: that share of traffic answers 500", names[i], nn, nn.Namespace)))
			}
		}
		if len(pools) > 1 {
			out = append(out, SeveralPoolsInRule.on(ref, fmt.Sprintf("rule %s splits traffic over pools %s: only the endpoint picker of %s runs", names[i], strings.Join(pools, ", "), pools[0])))
		}
		if len(pools) > 0 && rule.Timeouts != nil {
			for _, d := range []*gwapiv1.Duration{rule.Timeouts.Request, rule.Timeouts.BackendRequest} {
				if d == nil {
					continue
				}
				if t, err := time.ParseDuration(string(*d)); err == nil && t > 0 && t < time.Minute {
					out = append(out, ShortPoolRuleTimeout.on(ref, fmt.Sprintf("rule %s, which uses a pool, has a %s timeout: longer generations answer 504", names[i], *d)))
					break
				}
			}
		}
	}
	return append(out, c.generatedFindings(ref, translate.ForRoute(c.Snap, route).Objects, hasError(out))...)
}

// copiedRouteFindings: a TLSRoute, TCPRoute or UDPRoute on our Gateways that names an
// InferencePool, a GRPCRoute that names a pool of HTTP/1.1 model servers, and the route's copy
// (missing, or rejected by Envoy Gateway).
func (c *Cluster) copiedRouteFindings(k *translate.CopiedRouteKind, route client.Object) []Finding {
	res := translate.ForCopiedRoute(c.Snap, k, route)
	if len(res.Parents) == 0 {
		return nil // not on our Gateways
	}
	ref := refOf(route)
	var out []Finding
	for _, br := range k.BackendRefs(route) {
		if !translate.IsPoolRef(br.BackendObjectReference) {
			continue
		}
		nn := types.NamespacedName{Namespace: translate.RefNamespace(br.BackendObjectReference, route.GetNamespace()), Name: string(br.Name)}
		if !k.ReachesPools() {
			out = append(out, PoolOnOtherRouteKind.on(ref, fmt.Sprintf("it references InferencePool %s: that share of its traffic goes nowhere", nn)))
		} else if pool := c.Snap.Pool(nn); pool != nil && string(pool.Spec.AppProtocol) != translate.AppProtocolH2C {
			proto := "unset: HTTP/1.1"
			if pool.Spec.AppProtocol != "" {
				proto = string(pool.Spec.AppProtocol)
			}
			out = append(out, GRPCRouteToHTTPPool.on(ref, fmt.Sprintf("it references InferencePool %s, whose appProtocol is not %s (%s): that share of its traffic goes nowhere", nn, translate.AppProtocolH2C, proto)))
		}
	}
	return append(out, c.generatedFindings(ref, res.Objects, hasError(out))...)
}

// hasError tells whether fs holds an error: a root cause that also makes Envoy Gateway reject
// what was generated (a missing picker Service, a reference not permitted), whose rejection is
// then not reported again.
func hasError(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

func (c *Cluster) classOf(gw *gwapiv1.Gateway) *gwapiv1.GatewayClass {
	for i := range c.Snap.GatewayClasses {
		if gc := &c.Snap.GatewayClasses[i]; gc.Name == string(gw.Spec.GatewayClassName) {
			return gc
		}
	}
	return nil
}

// generatedFindings: each object the operator should have generated for src exists and Envoy
// Gateway has not rejected it (unless explained: src has an error finding already).
func (c *Cluster) generatedFindings(src Ref, desired []client.Object, explained bool) []Finding {
	var out []Finding
	for _, d := range desired {
		r := refOf(d)
		got := c.find(r)
		if got == nil {
			if c.kindRead(r.Kind) {
				out = append(out, GeneratedObjectMissing.on(src, fmt.Sprintf("%s, generated for it, does not exist", r)))
			}
			continue
		}
		if v := verdictOf(got, translate.EnvoyGatewayControllerName); !v.OK() && !explained {
			out = append(out, GeneratedObjectRejected.on(src, fmt.Sprintf("Envoy Gateway does not accept %s: %s", r, strings.Join(v.Problems, "; "))))
		}
	}
	return out
}

// kindRead tells whether the plugin reads objects of kind: the Snapshot's kinds and the extra
// ones.
func (c *Cluster) kindRead(kind string) bool {
	for _, k := range translate.SnapshotKinds {
		if k.Kind == kind {
			return true
		}
	}
	_, extra := extraKinds[kind]
	return extra
}

// userPolicyFindings: the user's Envoy Gateway policies on our Gateways and routes.
func (c *Cluster) userPolicyFindings() []Finding {
	var out []Finding
	for _, kind := range translate.PolicyKinds {
		for _, p := range c.Snap.ObjectsOf(kind) {
			if ours(p) {
				continue
			}
			ref := refOf(p)
			up := translate.UserPolicy{Object: p, Kind: kind}
			targets := up.Targets()
			for _, t := range targets.GetTargetRefs() {
				target := c.find(Ref{Kind: string(t.Kind), Namespace: p.GetNamespace(), Name: string(t.Name)})
				if target != nil && ours(target) {
					out = append(out, UserPolicyOnGeneratedObject.on(ref, fmt.Sprintf("it targets %s %s, which the operator generated", t.Kind, t.Name)))
				}
			}
			if v := verdictOf(p, translate.ControllerName); !v.OK() {
				out = append(out, UserPolicyNotApplied.on(ref, strings.Join(v.Problems, "; ")))
			}
		}
	}
	return out
}
