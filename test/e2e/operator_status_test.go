//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/envoygateway"
)

// Assertions on statuses: what Envoy Gateway says about the generated objects, and what the
// operator mirrors onto the user's objects.

// conditionIs reports whether conds has typ with status and (unless empty) reason, observed at
// generation (unless 0).
func conditionIs(conds []metav1.Condition, typ string, status metav1.ConditionStatus, reason string, generation int64) error {
	c := meta.FindStatusCondition(conds, typ)
	switch {
	case c == nil:
		return fmt.Errorf("no %s condition: %s", typ, describe(conds))
	case c.Status != status || (reason != "" && c.Reason != reason):
		return fmt.Errorf("%s is %s/%s, want %s/%s: %s", typ, c.Status, c.Reason, status, reason, describe(conds))
	case generation != 0 && c.ObservedGeneration != generation:
		return fmt.Errorf("%s observedGeneration %d, want %d", typ, c.ObservedGeneration, generation)
	}
	return nil
}

// waitGatewayProgrammed waits until Envoy Gateway has accepted and programmed the generated
// Gateway <gw>-eg with a cluster IP, and the operator has mirrored that onto the user's Gateway:
// Accepted and Programmed True at the user's generation, the same addresses, and listener
// statuses with attachedRoutes routes attached. It returns the address.
func waitGatewayProgrammed(t *testing.T, c client.Client, ns, gw string, attachedRoutes int32) string {
	t.Helper()
	var addr string
	eventually(t, fmt.Sprintf("Gateway %s/%s programmed by Envoy Gateway and mirrored", ns, gw), func(ctx context.Context) error {
		generated := &gwapiv1.Gateway{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: gw + "-eg"}, generated); err != nil {
			return err
		}
		if generated.Spec.GatewayClassName != envoygateway.DefaultGatewayClass {
			return fmt.Errorf("generated Gateway class %q, want %q", generated.Spec.GatewayClassName, envoygateway.DefaultGatewayClass)
		}
		for _, typ := range []string{string(gwapiv1.GatewayConditionAccepted), string(gwapiv1.GatewayConditionProgrammed)} {
			if err := conditionIs(generated.Status.Conditions, typ, metav1.ConditionTrue, "", generated.Generation); err != nil {
				return fmt.Errorf("generated Gateway: %w", err)
			}
		}
		if len(generated.Status.Addresses) == 0 {
			return fmt.Errorf("generated Gateway has no address")
		}
		addr = generated.Status.Addresses[0].Value
		_, services, _ := net.ParseCIDR(cluster.ServiceCIDR)
		if ip := net.ParseIP(addr); ip == nil || !services.Contains(ip) {
			return fmt.Errorf("generated Gateway address %q is not a cluster IP", addr)
		}

		user := &gwapiv1.Gateway{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: gw}, user); err != nil {
			return err
		}
		for _, typ := range []string{string(gwapiv1.GatewayConditionAccepted), string(gwapiv1.GatewayConditionProgrammed)} {
			if err := conditionIs(user.Status.Conditions, typ, metav1.ConditionTrue, "", user.Generation); err != nil {
				return fmt.Errorf("user's Gateway: %w", err)
			}
		}
		if !reflect.DeepEqual(user.Status.Addresses, generated.Status.Addresses) {
			return fmt.Errorf("user's Gateway addresses %v, generated %v", user.Status.Addresses, generated.Status.Addresses)
		}
		if len(user.Status.Listeners) != len(user.Spec.Listeners) {
			return fmt.Errorf("user's Gateway has %d listener statuses for %d listeners", len(user.Status.Listeners), len(user.Spec.Listeners))
		}
		for _, l := range user.Status.Listeners {
			if err := conditionIs(l.Conditions, string(gwapiv1.ListenerConditionProgrammed), metav1.ConditionTrue, "", user.Generation); err != nil {
				return fmt.Errorf("user's Gateway listener %s: %w", l.Name, err)
			}
			if l.AttachedRoutes != attachedRoutes {
				return fmt.Errorf("user's Gateway listener %s: %d attached routes, want %d", l.Name, l.AttachedRoutes, attachedRoutes)
			}
			// The operator serves every kind Envoy Gateway serves for the listener's protocol
			// (HTTPRoute and GRPCRoute on HTTP, TLSRoute, TCPRoute, UDPRoute): the lists match.
			var mirrored []gwapiv1.RouteGroupKind
			for _, g := range generated.Status.Listeners {
				if g.Name == l.Name {
					mirrored = g.SupportedKinds
				}
			}
			if len(l.SupportedKinds) == 0 || !reflect.DeepEqual(l.SupportedKinds, mirrored) {
				return fmt.Errorf("user's Gateway listener %s supports %v, Envoy Gateway's %v", l.Name, l.SupportedKinds, mirrored)
			}
		}
		return nil
	})
	return addr
}

// waitRouteAccepted waits until Envoy Gateway has accepted the generated route <route>-eg with
// its references resolved, and the operator's parents entry on the user's route for parent
// (namespace, name) says Accepted and ResolvedRefs True at the route's generation, under the
// operator's controllerName.
func waitRouteAccepted(t *testing.T, c client.Client, ns, route, parentNS, parent string) {
	t.Helper()
	waitRouteStatus(t, c, ns, route, parentNS, parent, metav1.ConditionTrue, string(gwapiv1.RouteReasonResolvedRefs))
	eventually(t, fmt.Sprintf("generated HTTPRoute %s/%s-eg Accepted and ResolvedRefs", ns, route), func(ctx context.Context) error {
		generated := &gwapiv1.HTTPRoute{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: route + "-eg"}, generated); err != nil {
			return err
		}
		if len(generated.Status.Parents) == 0 {
			return fmt.Errorf("no parents status")
		}
		for _, p := range generated.Status.Parents {
			if string(p.ControllerName) != envoygateway.ControllerName {
				return fmt.Errorf("parent %s has controller %s", p.ParentRef.Name, p.ControllerName)
			}
			for _, typ := range []string{string(gwapiv1.RouteConditionAccepted), string(gwapiv1.RouteConditionResolvedRefs)} {
				if err := conditionIs(p.Conditions, typ, metav1.ConditionTrue, "", generated.Generation); err != nil {
					return fmt.Errorf("parent %s: %w", p.ParentRef.Name, err)
				}
			}
		}
		return nil
	})
}

// waitRouteStatus waits until the user's route has exactly one parents entry of the operator
// for parent, with Accepted True (reason Accepted) and ResolvedRefs resolved/resolvedReason,
// both at the route's generation.
func waitRouteStatus(t *testing.T, c client.Client, ns, route, parentNS, parent string, resolved metav1.ConditionStatus, resolvedReason string) {
	t.Helper()
	eventually(t, fmt.Sprintf("HTTPRoute %s/%s: operator's parent %s/%s Accepted, ResolvedRefs %s/%s", ns, route, parentNS, parent, resolved, resolvedReason), func(ctx context.Context) error {
		r := &gwapiv1.HTTPRoute{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: route}, r); err != nil {
			return err
		}
		var ours []gwapiv1.RouteParentStatus
		for _, p := range r.Status.Parents {
			if string(p.ControllerName) == translate.ControllerName {
				ours = append(ours, p)
			}
		}
		if len(ours) != 1 {
			return fmt.Errorf("%d parents entries of %s: %+v", len(ours), translate.ControllerName, r.Status.Parents)
		}
		p := ours[0]
		refNS := ns
		if p.ParentRef.Namespace != nil {
			refNS = string(*p.ParentRef.Namespace)
		}
		if string(p.ParentRef.Name) != parent || refNS != parentNS {
			return fmt.Errorf("parentRef %s/%s, want %s/%s", refNS, p.ParentRef.Name, parentNS, parent)
		}
		if err := conditionIs(p.Conditions, string(gwapiv1.RouteConditionAccepted), metav1.ConditionTrue, string(gwapiv1.RouteReasonAccepted), r.Generation); err != nil {
			return err
		}
		return conditionIs(p.Conditions, string(gwapiv1.RouteConditionResolvedRefs), resolved, resolvedReason, r.Generation)
	})
}

// waitPoolStatus waits until the pool has exactly one parents entry of the operator, for the
// Gateway gwNS/gw (group, kind and namespace set), Accepted True/Accepted and ResolvedRefs
// resolved/resolvedReason at the pool's generation.
func waitPoolStatus(t *testing.T, c client.Client, ns, pool, gwNS, gw string, resolved metav1.ConditionStatus, resolvedReason string) {
	t.Helper()
	eventually(t, fmt.Sprintf("InferencePool %s/%s: parent %s/%s Accepted, ResolvedRefs %s/%s", ns, pool, gwNS, gw, resolved, resolvedReason), func(ctx context.Context) error {
		p := &giev1.InferencePool{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: pool}, p); err != nil {
			return err
		}
		if len(p.Status.Parents) != 1 {
			return fmt.Errorf("%d parents: %+v", len(p.Status.Parents), p.Status.Parents)
		}
		parent := p.Status.Parents[0]
		want := giev1.ParentReference{Group: new(giev1.Group("gateway.networking.k8s.io")), Kind: "Gateway", Namespace: giev1.Namespace(gwNS), Name: giev1.ObjectName(gw)}
		if !reflect.DeepEqual(parent.ParentRef, want) {
			return fmt.Errorf("parentRef %+v, want %+v", parent.ParentRef, want)
		}
		if string(parent.ControllerName) != translate.ControllerName {
			return fmt.Errorf("controllerName %q", parent.ControllerName)
		}
		if err := conditionIs(parent.Conditions, string(giev1.InferencePoolConditionAccepted), metav1.ConditionTrue, string(giev1.InferencePoolReasonAccepted), p.Generation); err != nil {
			return err
		}
		return conditionIs(parent.Conditions, string(giev1.InferencePoolConditionResolvedRefs), resolved, resolvedReason, p.Generation)
	})
}

// policyVerdicts returns, for a generated object, Envoy Gateway's Accepted condition of each
// ancestor (policies) or of the object (Backend), labelled, plus an error when any ancestor is
// conflicted or overridden (the reasons EG gives a policy that lost to another).
func policyVerdicts(u *unstructured.Unstructured) (map[string]*metav1.Condition, error) {
	sets, err := conditionSets(u)
	if err != nil {
		return nil, err
	}
	out := map[string]*metav1.Condition{}
	for label, conds := range sets {
		for _, c := range conds {
			if c.Reason == "Conflicted" || (c.Type == "Overridden" && c.Status == metav1.ConditionTrue) {
				return nil, fmt.Errorf("%s %s %s: %s", u.GetKind(), u.GetName(), label, describe(conds))
			}
		}
		out[label] = meta.FindStatusCondition(conds, "Accepted")
	}
	return out, nil
}

// waitAccepted waits until every object in objs has Envoy Gateway's verdict Accepted=True
// (every ancestor of a policy), none Conflicted or Overridden.
func waitAccepted(t *testing.T, c client.Client, objs []unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		waitVerdict(t, c, o.GetAPIVersion(), o.GetKind(), o.GetNamespace(), o.GetName(), metav1.ConditionTrue, "")
	}
}

// waitVerdict waits until the object's Accepted condition (on each ancestor, for policies) has
// status and, unless empty, reason, at the object's generation.
func waitVerdict(t *testing.T, c client.Client, apiVersion, kind, ns, name string, status metav1.ConditionStatus, reason string) *metav1.Condition {
	t.Helper()
	var last *metav1.Condition
	eventually(t, fmt.Sprintf("%s %s/%s Accepted=%s %s", kind, ns, name, status, reason), func(ctx context.Context) error {
		u := newUnstructured(apiVersion, kind, ns, name)
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
			return err
		}
		verdicts, err := policyVerdicts(u)
		if err != nil {
			return err
		}
		if len(verdicts) == 0 {
			return fmt.Errorf("no status yet")
		}
		for label, cond := range verdicts {
			if cond == nil {
				return fmt.Errorf("%s: no Accepted condition", label)
			}
			if cond.Status != status || (reason != "" && cond.Reason != reason) {
				return fmt.Errorf("%s: Accepted=%s/%s (%s)", label, cond.Status, cond.Reason, cond.Message)
			}
			if cond.ObservedGeneration != u.GetGeneration() {
				return fmt.Errorf("%s: observedGeneration %d of %d", label, cond.ObservedGeneration, u.GetGeneration())
			}
			last = cond
		}
		return nil
	})
	return last
}

// waitDeploymentReplicas waits until a Deployment has exactly n ready replicas (and as many
// pods in total, so scale-downs have finished).
func waitDeploymentReplicas(t *testing.T, c client.Client, ns, name string, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("Deployment %s/%s with %d ready pods", ns, name, n), func(ctx context.Context) error {
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"app": name}); err != nil {
			return err
		}
		ready := 0
		for _, p := range pods.Items {
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		if ready != n || len(pods.Items) != n {
			return fmt.Errorf("%d pods, %d ready", len(pods.Items), ready)
		}
		return nil
	})
}
