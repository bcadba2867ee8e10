package controllers

import (
	"context"
	"fmt"
	"strings"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// Field indexes over the cache, so an event finds the objects whose output it changes without
// listing everything. Every lookup is across namespaces (see indexField): a List with
// client.MatchingFields and without client.InNamespace; values carry the namespace they need.
const (
	// indexRoutePools: HTTPRoute or GRPCRoute → "namespace/name" of every InferencePool its
	// rules reference.
	indexRoutePools = "httproute.pools"
	// indexRouteGateways: HTTPRoute → "namespace/name" of every Gateway its parentRefs name.
	indexRouteGateways = "httproute.gateways"
	// indexGatewayClass: Gateway → its gatewayClassName.
	indexGatewayClass = "gateway.class"
	// indexPoolShadowService: InferencePool → "namespace/name" of its shadow Service.
	indexPoolShadowService = "inferencepool.shadowService"
	// indexClassParameters: GatewayClass → name of the InferenceGatewayParameters it references.
	indexClassParameters = "gatewayclass.parameters"
	// indexPoolEPPService: InferencePool → "namespace/name" of its endpoint picker's Service.
	indexPoolEPPService = "inferencepool.eppService"
	// indexPolicyTargets: a user's Envoy Gateway policy → "Gateway/namespace/name" and
	// "HTTPRoute/namespace/name" of every object its targetRefs name, and policySelectorKey when
	// it has targetSelectors (those are matched against labels when needed).
	indexPolicyTargets = "policy.targets"
	// indexPolicyCarries: a generated policy → the "Kind/namespace/name" of every user policy
	// whose settings it carries (translate.AnnotationCarries).
	indexPolicyCarries = "policy.carries"
	// indexEndpointSliceService: EndpointSlice → "namespace/name" of the Service it belongs to
	// (its namespace and kubernetes.io/service-name label); a label selector would scan every
	// slice of the namespace on each endpoint-picker lookup.
	indexEndpointSliceService = "endpointslice.service"
)

// indexSource: a generated object → its source, "Kind/namespace/name" (translate.AnnotationSource),
// so pruning finds what a source generated without scanning every object of the kind.
const indexSource = "generated.source"

// setupSourceIndexes registers indexSource on the generated kinds objs.
func setupSourceIndexes(ctx context.Context, mgr manager.Manager, objs ...client.Object) error {
	for _, obj := range objs {
		if err := indexField(ctx, mgr, obj, indexSource, func(o client.Object) []string {
			if o.GetLabels()[translate.LabelManagedBy] != translate.ManagedByValue {
				return nil
			}
			if src := o.GetAnnotations()[translate.AnnotationSource]; src != "" {
				return []string{src}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// policySelectorKey is the indexPolicyTargets key of every policy with targetSelectors.
const policySelectorKey = "selector"

// policyTargetKeys are the indexPolicyTargets keys of a user's policy.
func policyTargetKeys(o client.Object) []string {
	if o.GetLabels()[translate.LabelManagedBy] == translate.ManagedByValue {
		return nil
	}
	refs := translate.UserPolicy{Object: o}.Targets()
	var out []string
	for _, ref := range refs.GetTargetRefs() {
		out = append(out, targetKey(string(ref.Kind), types.NamespacedName{Namespace: o.GetNamespace(), Name: string(ref.Name)}))
	}
	if len(refs.TargetSelectors) > 0 {
		out = append(out, policySelectorKey)
	}
	return out
}

// targetKey is the indexPolicyTargets key of an object of kind.
func targetKey(kind string, nn types.NamespacedName) string { return kind + "/" + nn.String() }

func nnKeys(nns []types.NamespacedName) []string {
	out := make([]string, len(nns))
	for i, nn := range nns {
		out[i] = nn.String()
	}
	return out
}

// setupGatewayAPIIndexes registers the indexes on Gateway API kinds and Services.
func setupGatewayAPIIndexes(ctx context.Context, mgr manager.Manager) error {
	if err := setupSourceIndexes(ctx, mgr, &gwapiv1.Gateway{}, &gwapiv1.HTTPRoute{}, &gwapiv1beta1.ReferenceGrant{}, &corev1.Service{}); err != nil {
		return err
	}
	if err := indexField(ctx, mgr, &discoveryv1.EndpointSlice{}, indexEndpointSliceService, func(o client.Object) []string {
		if svc := o.GetLabels()[discoveryv1.LabelServiceName]; svc != "" {
			return []string{types.NamespacedName{Namespace: o.GetNamespace(), Name: svc}.String()}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := indexField(ctx, mgr, &gwapiv1.HTTPRoute{}, indexRoutePools, func(o client.Object) []string {
		return nnKeys(translate.PoolRefs(o.(*gwapiv1.HTTPRoute)))
	}); err != nil {
		return err
	}
	if err := indexField(ctx, mgr, &gwapiv1.HTTPRoute{}, indexRouteGateways, func(o client.Object) []string {
		return nnKeys(translate.ParentGateways(o.(*gwapiv1.HTTPRoute)))
	}); err != nil {
		return err
	}
	if err := indexField(ctx, mgr, &gwapiv1.Gateway{}, indexGatewayClass, func(o client.Object) []string {
		return []string{string(o.(*gwapiv1.Gateway).Spec.GatewayClassName)}
	}); err != nil {
		return err
	}
	return indexField(ctx, mgr, &gwapiv1.GatewayClass{}, indexClassParameters, func(o client.Object) []string {
		ref := o.(*gwapiv1.GatewayClass).Spec.ParametersRef
		if ref == nil {
			return nil
		}
		return []string{string(ref.Name)}
	})
}

// setupCopiedRouteIndexes registers the indexes on a route kind served by copy: its generated
// copies' sources, and for a kind whose rules reach pools, the pools they reference.
func setupCopiedRouteIndexes(ctx context.Context, mgr manager.Manager, k *translate.CopiedRouteKind) error {
	if err := setupSourceIndexes(ctx, mgr, k.New()); err != nil {
		return err
	}
	if !k.ReachesPools() {
		return nil
	}
	return indexField(ctx, mgr, k.New(), indexRoutePools, func(o client.Object) []string {
		return nnKeys(translate.PoolRefsOf(o))
	})
}

// setupInferencePoolIndexes registers the indexes on InferencePools.
func setupInferencePoolIndexes(ctx context.Context, mgr manager.Manager) error {
	if err := indexField(ctx, mgr, &giev1.InferencePool{}, indexPoolShadowService, func(o client.Object) []string {
		return []string{types.NamespacedName{Namespace: o.GetNamespace(), Name: translate.ShadowServiceName(o.GetName())}.String()}
	}); err != nil {
		return err
	}
	return indexField(ctx, mgr, &giev1.InferencePool{}, indexPoolEPPService, func(o client.Object) []string {
		if nn, ok := translate.EPPServiceKey(o.(*giev1.InferencePool)); ok {
			return []string{nn.String()}
		}
		return nil
	})
}

// setupPolicyIndexes registers the indexes on Envoy Gateway's policies and Backends.
func setupPolicyIndexes(ctx context.Context, mgr manager.Manager) error {
	if err := setupSourceIndexes(ctx, mgr, &egv1a1.Backend{}); err != nil {
		return err
	}
	for _, kind := range translate.PolicyKinds {
		obj := translate.PolicyKindOf(kind).New()
		if err := setupSourceIndexes(ctx, mgr, obj); err != nil {
			return err
		}
		if err := indexField(ctx, mgr, obj, indexPolicyTargets, policyTargetKeys); err != nil {
			return err
		}
		if err := indexField(ctx, mgr, obj, indexPolicyCarries, func(o client.Object) []string {
			if c := o.GetAnnotations()[translate.AnnotationCarries]; c != "" {
				return strings.Split(c, "+")
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// allNamespacesKey prefixes an index value in the key controller-runtime's cache looks it up
// under when a List has no namespace (internal.KeyToNamespacedKey).
const allNamespacesKey = "__all_namespaces/"

// indexField registers a field index named field on obj's informer, with one key per value:
// the all-namespaces key, the one a List without a namespace looks up. controller-runtime's
// IndexField stores a second key for each value of a namespaced object, its namespace's, for
// Lists in one namespace; the operator makes none, and each key costs a set in the informer's
// indexer: most values here name one object, so that half of the keys was half of the index
// memory (docs/performance.md). A List with client.InNamespace finds nothing in these indexes.
func indexField(ctx context.Context, mgr manager.Manager, obj client.Object, field string, extract client.IndexerFunc) error {
	informer, err := mgr.GetCache().GetInformer(ctx, obj, cache.BlockUntilSynced(false))
	if err != nil {
		return err
	}
	return informer.AddIndexers(toolscache.Indexers{"field:" + field: func(raw any) ([]string, error) {
		o, ok := raw.(client.Object)
		if !ok {
			return nil, fmt.Errorf("index %s: %T is not an object", field, raw)
		}
		values := extract(o)
		keys := make([]string, len(values))
		for i, v := range values {
			keys[i] = allNamespacesKey + v
		}
		return keys, nil
	}})
}
