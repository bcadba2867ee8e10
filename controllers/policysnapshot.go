package controllers

import (
	"fmt"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// The policy part of a snapshot: the user's Envoy Gateway policies that attach to the
// snapshot's Gateways and routes (found through indexPolicyTargets), with what their
// targetSelectors need (namespaces' labels, ReferenceGrants), and generated policies.

// addPoliciesOf adds the user's policies of kinds whose targetRefs name a user Gateway or
// HTTPRoute already in the snapshot, and those with targetSelectors (matched by the
// translation). Call it once the snapshot holds every Gateway and route the translation reads:
// then every policy that could hold one of their targets is there, and Envoy Gateway's
// "oldest wins" comes out the same as on the whole cluster.
func (b *snapshotBuilder) addPoliciesOf(kinds ...string) error {
	var keys []string
	for i := range b.snap.Gateways {
		if g := &b.snap.Gateways[i]; g.Labels[translate.LabelManagedBy] != translate.ManagedByValue {
			keys = append(keys, targetKey("Gateway", types.NamespacedName{Namespace: g.Namespace, Name: g.Name}))
		}
	}
	for i := range b.snap.HTTPRoutes {
		if r := &b.snap.HTTPRoutes[i]; r.Labels[translate.LabelManagedBy] != translate.ManagedByValue {
			keys = append(keys, targetKey("HTTPRoute", types.NamespacedName{Namespace: r.Namespace, Name: r.Name}))
		}
	}
	keys = append(keys, policySelectorKey)
	selectors := false
	for _, kind := range kinds {
		for _, key := range keys {
			list, err := b.listPolicies(kind, client.MatchingFields{indexPolicyTargets: key})
			if err != nil {
				return err
			}
			for _, o := range list {
				b.addPolicy(o)
				selectors = selectors || key == policySelectorKey
			}
		}
	}
	if selectors {
		return b.addSelectorContext()
	}
	return nil
}

// addSelectorContext adds what targetSelectors are checked against: the namespaces' labels and
// the ReferenceGrants of every namespace holding a Gateway or route of the snapshot.
func (b *snapshotBuilder) addSelectorContext() error {
	if !b.namespaces {
		b.namespaces = true
		list := &corev1.NamespaceList{}
		if err := b.c.List(b.ctx, list); err != nil {
			return err
		}
		b.snap.Namespaces = list.Items
	}
	for _, g := range b.snap.Gateways {
		if err := b.addGrants(g.Namespace); err != nil {
			return err
		}
	}
	for _, r := range b.snap.HTTPRoutes {
		if err := b.addGrants(r.Namespace); err != nil {
			return err
		}
	}
	return nil
}

// listPolicies lists policies of kind from the cache (none before Envoy Gateway's CRDs are
// served and indexed).
func (b *snapshotBuilder) listPolicies(kind string, opts ...client.ListOption) ([]client.Object, error) {
	if b.prereqs != nil && !b.prereqs.listServed(&egv1a1.BackendTrafficPolicyList{}) {
		return nil, nil
	}
	k := translate.PolicyKindOf(kind)
	if k == nil {
		return nil, fmt.Errorf("not a carried-over policy kind: %s", kind)
	}
	l := k.NewList()
	if err := b.c.List(b.ctx, l, opts...); err != nil {
		return nil, err
	}
	return k.Items(l), nil
}

// addGeneratedPolicies adds the policies of kinds generated from src, with Envoy Gateway's
// verdicts in their status (a pool's status reports the ones it rejects).
func (b *snapshotBuilder) addGeneratedPolicies(src translate.Source, kinds ...string) error {
	for _, kind := range kinds {
		list, err := b.listPolicies(kind, client.MatchingFields{indexSource: src.String()})
		if err != nil {
			return err
		}
		for _, o := range list {
			b.addPolicy(o)
		}
	}
	return nil
}

// addPolicy adds a policy (user's or generated) to the snapshot, once.
func (b *snapshotBuilder) addPolicy(o client.Object) {
	key := fmt.Sprintf("%T/%s/%s", o, o.GetNamespace(), o.GetName())
	if b.policies[key] {
		return
	}
	b.policies[key] = true
	b.snap.Add(o)
}

// addTarget adds a target of kind nn: a route, or a Gateway with the routes attached to it.
func (b *snapshotBuilder) addTarget(kind string, nn types.NamespacedName) error {
	switch kind {
	case "Gateway":
		if err := b.addGateway(nn); err != nil {
			return err
		}
		for _, route := range routesOfGateway(b.ctx, b.c, nn) {
			if err := b.addRoute(route.DeepCopy()); err != nil {
				return err
			}
		}
	case "HTTPRoute":
		route := &gwapiv1.HTTPRoute{}
		found, err := b.referenced(nn, route)
		if err != nil || !found {
			return err
		}
		return b.addRoute(route)
	default:
		if k := translate.CopiedRouteKindOf(kind); k != nil {
			route := k.New()
			found, err := b.referenced(nn, route)
			if meta.IsNoMatchError(err) {
				return nil // the kind's CRD is not installed: nothing of it to target
			}
			if err != nil || !found {
				return err
			}
			return b.addCopiedRoute(k, route)
		}
	}
	return nil
}

// addCopiedRoute adds a user's route of kind k with its parent Gateways (a policy's copy targets
// the route's copy; its status speaks of those Gateways).
func (b *snapshotBuilder) addCopiedRoute(k *translate.CopiedRouteKind, route client.Object) error {
	key := fmt.Sprintf("%T/%s/%s", route, route.GetNamespace(), route.GetName())
	if b.policies[key] { // the set of objects added once, policies or not
		return nil
	}
	b.policies[key] = true
	b.snap.Add(route)
	parents, _ := k.Parts(route)
	for _, ref := range *parents {
		if translate.IsGatewayParentRef(ref) {
			if err := b.addGateway(translate.ParentGateway(ref, route.GetNamespace())); err != nil {
				return err
			}
		}
	}
	if !k.ReachesPools() {
		return nil
	}
	// Its pool rules (the operator's pool policies hold them) and its copy (its status).
	if err := b.addRoutePools(route); err != nil {
		return err
	}
	generated := k.New()
	found, err := b.get(types.NamespacedName{Namespace: route.GetNamespace(), Name: translate.GeneratedRouteName(route.GetName())}, generated)
	if found {
		b.snap.Add(generated)
	}
	return err
}

// addSelected adds the objects a targetSelector of a policy in ns may select (the translation
// applies its namespace rules and ReferenceGrants).
func (b *snapshotBuilder) addSelected(ns string, sel egv1a1.TargetSelector) error {
	opts, err := selectorListOptions(ns, sel)
	if err != nil {
		return nil // an invalid selector selects nothing
	}
	switch sel.Kind {
	case "Gateway":
		list := &gwapiv1.GatewayList{}
		if err := b.c.List(b.ctx, list, opts...); err != nil {
			return err
		}
		for i := range list.Items {
			if err := b.addTarget("Gateway", client.ObjectKeyFromObject(&list.Items[i])); err != nil {
				return err
			}
		}
	case "HTTPRoute":
		list := &gwapiv1.HTTPRouteList{}
		if err := b.c.List(b.ctx, list, opts...); err != nil {
			return err
		}
		for i := range list.Items {
			if err := b.addRoute(&list.Items[i]); err != nil {
				return err
			}
		}
	default:
		k := translate.CopiedRouteKindOf(string(sel.Kind))
		if k == nil {
			return nil
		}
		list := k.NewList()
		if err := b.c.List(b.ctx, list, opts...); err != nil {
			if meta.IsNoMatchError(err) {
				return nil
			}
			return err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := b.addCopiedRoute(k, it.(client.Object)); err != nil {
				return err
			}
		}
	}
	return nil
}
