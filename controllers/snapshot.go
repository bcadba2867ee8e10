package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// snapshotBuilder reads from the informer cache the inputs one reconcile needs, each object
// once, into a translate.Snapshot.
type snapshotBuilder struct {
	ctx  context.Context
	c    client.Reader
	snap *translate.Snapshot
	// live reads from the API server what the cache does not hold yet (referenced).
	live client.Reader

	gateways map[types.NamespacedName]bool
	routes   map[types.NamespacedName]bool
	pools    map[types.NamespacedName]bool
	services map[types.NamespacedName]bool
	grantNS  map[string]bool
	policies map[string]bool
	prereqs  *prerequisites
	// namespaces is true once every Namespace is in the snapshot.
	namespaces bool
}

// newSnapshotBuilder starts a snapshot with every GatewayClass and InferenceGatewayParameters (few,
// and needed to tell which Gateways are ours and how to serve them).
func newSnapshotBuilder(ctx context.Context, c client.Reader, opts Options) (*snapshotBuilder, error) {
	b := &snapshotBuilder{
		ctx: ctx, c: c,
		snap:     &translate.Snapshot{DefaultEnvoyGatewayClass: opts.DefaultEnvoyGatewayClass, ClusterDomain: opts.ClusterDomain},
		gateways: map[types.NamespacedName]bool{}, routes: map[types.NamespacedName]bool{},
		pools: map[types.NamespacedName]bool{}, services: map[types.NamespacedName]bool{}, grantNS: map[string]bool{},
		policies: map[string]bool{}, prereqs: opts.prereqs, live: opts.apiReader,
	}
	classes := &gwapiv1.GatewayClassList{}
	if err := c.List(ctx, classes); err != nil {
		return nil, err
	}
	b.snap.GatewayClasses = classes.Items
	params := &v1alpha1.InferenceGatewayParametersList{}
	if err := c.List(ctx, params); err != nil {
		return nil, err
	}
	b.snap.Parameters = params.Items
	if p := opts.prereqs; p != nil {
		b.snap.MissingAPIs = p.missingAPIs()
		b.snap.BackendAPIDisabled = p.backendAPIDisabled()
	}
	return b, nil
}

// get reads nn into obj; found is false (and err nil) when it does not exist.
func (b *snapshotBuilder) get(nn types.NamespacedName, obj client.Object) (bool, error) {
	err := b.c.Get(b.ctx, nn, obj)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// referenced reads nn, an object the user's object references, into obj: from the cache, or
// from the API server when the cache does not hold it. Each kind has its own watch, so an object
// created just before the one referencing it may reach the cache after it: translating without
// it would write a "not found" output and then the real one. A reference to an object that does
// not exist costs one read of the API server per reconcile.
func (b *snapshotBuilder) referenced(nn types.NamespacedName, obj client.Object) (bool, error) {
	found, err := b.get(nn, obj)
	if found || err != nil || b.live == nil {
		return found, err
	}
	err = b.live.Get(b.ctx, nn, obj)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// addGateway adds the user's Gateway nn if it exists, and its generated Gateway when its class
// cannot serve it now: the generated Gateway records the settings it is still served with
// (translate/gateway_serving.go).
func (b *snapshotBuilder) addGateway(nn types.NamespacedName) error {
	if b.gateways[nn] {
		return nil
	}
	b.gateways[nn] = true
	gw := &gwapiv1.Gateway{}
	found, err := b.referenced(nn, gw)
	if !found || err != nil {
		return err
	}
	b.snap.Gateways = append(b.snap.Gateways, *gw)
	if b.snap.MayBeHeld(gw) {
		return b.addGeneratedGateway(types.NamespacedName{Namespace: nn.Namespace, Name: translate.GeneratedGatewayName(nn.Name)})
	}
	return nil
}

// addGeneratedGateway adds the generated Gateway nn if it exists.
func (b *snapshotBuilder) addGeneratedGateway(nn types.NamespacedName) error {
	if b.gateways[nn] {
		return nil
	}
	b.gateways[nn] = true
	gw := &gwapiv1.Gateway{}
	found, err := b.get(nn, gw)
	if found {
		b.snap.Gateways = append(b.snap.Gateways, *gw)
	}
	return err
}

// addRoute adds a user's route with what its translation reads: its parent Gateways and their
// generated Gateways, the pools it references (and grants for cross-namespace ones), and its
// generated route.
func (b *snapshotBuilder) addRoute(route *gwapiv1.HTTPRoute) error {
	nn := types.NamespacedName{Namespace: route.Namespace, Name: route.Name}
	if b.routes[nn] {
		return nil
	}
	b.routes[nn] = true
	b.snap.HTTPRoutes = append(b.snap.HTTPRoutes, *route)
	for _, gw := range translate.ParentGateways(route) {
		if err := b.addGateway(gw); err != nil {
			return err
		}
	}
	if err := b.addRoutePools(route); err != nil {
		return err
	}
	return b.addGeneratedRoute(nn)
}

// addRoutePools adds the pools a route's rules reference, and the grants of the namespaces of
// those in other namespaces.
func (b *snapshotBuilder) addRoutePools(route client.Object) error {
	for _, pool := range translate.PoolRefsOf(route) {
		if err := b.addPool(pool); err != nil {
			return err
		}
		if pool.Namespace != route.GetNamespace() {
			if err := b.addGrants(pool.Namespace); err != nil {
				return err
			}
		}
	}
	return nil
}

// addGeneratedRoute adds the generated route of the user's route nn, for its status.
func (b *snapshotBuilder) addGeneratedRoute(nn types.NamespacedName) error {
	gen := types.NamespacedName{Namespace: nn.Namespace, Name: translate.GeneratedRouteName(nn.Name)}
	if b.routes[gen] {
		return nil
	}
	b.routes[gen] = true
	r := &gwapiv1.HTTPRoute{}
	found, err := b.get(gen, r)
	if found {
		b.snap.HTTPRoutes = append(b.snap.HTTPRoutes, *r)
	}
	return err
}

// addPool adds the InferencePool nn if it exists.
func (b *snapshotBuilder) addPool(nn types.NamespacedName) error {
	if b.pools[nn] {
		return nil
	}
	b.pools[nn] = true
	p := &giev1.InferencePool{}
	found, err := b.referenced(nn, p)
	if found {
		b.snap.Pools = append(b.snap.Pools, *p)
	}
	return err
}

// addGrants adds the ReferenceGrants of namespace ns.
func (b *snapshotBuilder) addGrants(ns string) error {
	if b.grantNS[ns] {
		return nil
	}
	b.grantNS[ns] = true
	grants := &gwapiv1beta1.ReferenceGrantList{}
	if err := b.c.List(b.ctx, grants, client.InNamespace(ns)); err != nil {
		return err
	}
	b.snap.Grants = append(b.snap.Grants, grants.Items...)
	return nil
}

// addEndpointPicker adds a pool's EPP Service and its EndpointSlices.
func (b *snapshotBuilder) addEndpointPicker(pool *giev1.InferencePool) error {
	nn, ok := translate.EPPServiceKey(pool)
	if !ok || b.services[nn] {
		return nil
	}
	b.services[nn] = true
	svc := &corev1.Service{}
	found, err := b.referenced(nn, svc)
	if err != nil || !found {
		return err
	}
	b.snap.Services = append(b.snap.Services, *svc)
	slices := &discoveryv1.EndpointSliceList{}
	if err := b.c.List(b.ctx, slices, client.MatchingFields{indexEndpointSliceService: nn.String()}); err != nil {
		return err
	}
	b.snap.EndpointSlices = append(b.snap.EndpointSlices, slices.Items...)
	return nil
}

// addShadowServiceSlices adds the EndpointSlices of a pool's shadow Service: whether its pods
// are ready (translate.PodReadiness).
func (b *snapshotBuilder) addShadowServiceSlices(pool *giev1.InferencePool) error {
	nn := types.NamespacedName{Namespace: pool.Namespace, Name: translate.ShadowServiceName(pool.Name)}
	slices := &discoveryv1.EndpointSliceList{}
	if err := b.c.List(b.ctx, slices, client.MatchingFields{indexEndpointSliceService: nn.String()}); err != nil {
		return err
	}
	b.snap.EndpointSlices = append(b.snap.EndpointSlices, slices.Items...)
	return nil
}

// routesReferencingPool lists the user's routes whose rules reference pool nn (shared with the
// cache when opts hold noDeepCopy: mappers.go).
func routesReferencingPool(ctx context.Context, c client.Reader, nn types.NamespacedName, opts ...client.ListOption) ([]gwapiv1.HTTPRoute, error) {
	routes := &gwapiv1.HTTPRouteList{}
	if err := c.List(ctx, routes, append(opts, client.MatchingFields{indexRoutePools: nn.String()})...); err != nil {
		return nil, err
	}
	return routes.Items, nil
}
