package controllers

import (
	"context"
	"sync"
	"time"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/writepath"
)

// InferencePoolReconciler keeps the objects generated for each InferencePool that a route on
// our Gateways references (shadow Service, endpoint override and endpoint picker policies, the
// EPP's Backend or BackendTLSPolicy, ReferenceGrants), removes them when none does, and writes
// the pool's status entries.
type InferencePoolReconciler struct {
	Client   client.Client
	Applier  *writepath.Applier
	Status   *writepath.StatusWriter
	Recorder events.EventRecorder
	Options  Options

	// failOpen remembers, per pool, whether it currently fails open, to report each switch once.
	failOpen sync.Map
	// readyPods remembers, per served pool, whether its shadow Service has a ready endpoint,
	// to report each change once.
	readyPods sync.Map
}

// poolPruneLists list the kinds generated from a pool, for pruning what is no longer desired.
var poolPruneLists = []client.ObjectList{
	&corev1.ServiceList{}, &egv1a1.BackendTrafficPolicyList{}, &egv1a1.EnvoyExtensionPolicyList{},
	&egv1a1.BackendList{}, &gwapiv1.BackendTLSPolicyList{}, &gwapiv1beta1.ReferenceGrantList{},
}

func (r *InferencePoolReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	src := translate.Source{Kind: translate.InferencePoolKind, Namespace: req.Namespace, Name: req.Name}
	pool := &giev1.InferencePool{}
	if err := r.Client.Get(ctx, req.NamespacedName, pool); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		// Gone: ownerReferences let the garbage collector delete what we generated; prune too,
		// so nothing is left where no garbage collector runs.
		r.forgetFailOpen(req.NamespacedName)
		r.readyPods.Delete(req.NamespacedName)
		return ctrl.Result{}, r.Applier.PruneAll(ctx, poolPruneLists, src, nil)
	}
	if !pool.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	snap, err := r.snapshot(ctx, pool)
	if err != nil {
		return ctrl.Result{}, err
	}
	res := translate.ForPool(snap, pool)
	keep, retry, err := writepath.EnsureAll(ctx, r.Applier, r.Recorder, pool, res.Objects)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Applier.PruneAll(ctx, poolPruneLists, src, keep); err != nil {
		return ctrl.Result{}, err
	}
	r.reportFailOpen(pool, len(res.Objects) > 0 && res.FailOpenActive)
	r.reportPods(pool, len(res.Objects) > 0, res.Pods)
	again, err := observeBackendAPI(ctx, r.Client, r.Options.prereqs, src, time.Now())
	if err != nil {
		return ctrl.Result{}, err
	}
	if again > 0 && (retry == 0 || again < retry) {
		retry = again
	}
	hold := holdPoolStatus(pool, res.Parents, r.Options.FirstStatusWait, time.Now())
	if hold == 0 {
		_, err = r.Status.WritePoolParents(ctx, pool, res.Parents)
	}
	return ctrl.Result{RequeueAfter: sooner(retry, hold)}, err
}

// snapshot reads what the pool's translation needs: the routes referencing it (with their
// Gateways, the other pools they reference, grants and generated routes), its EPP, its shadow
// Service's EndpointSlices, and its generated policies as Envoy Gateway judged them.
func (r *InferencePoolReconciler) snapshot(ctx context.Context, pool *giev1.InferencePool) (*translate.Snapshot, error) {
	b, err := newSnapshotBuilder(ctx, r.Client, r.Options)
	if err != nil {
		return nil, err
	}
	nn := types.NamespacedName{Namespace: pool.Namespace, Name: pool.Name}
	b.pools[nn] = true
	b.snap.Pools = append(b.snap.Pools, *pool)
	routes, err := routesReferencingPool(ctx, r.Client, nn)
	if err != nil {
		return nil, err
	}
	for i := range routes {
		if err := b.addRoute(&routes[i]); err != nil {
			return nil, err
		}
	}
	for _, k := range translate.CopiedRouteKinds {
		if !k.ReachesPools() || !r.Options.prereqs.isIndexed(copiedRouteAPIs[k.Kind]) {
			continue
		}
		list := k.NewList()
		if err := r.Client.List(ctx, list, client.MatchingFields{indexRoutePools: nn.String()}); err != nil {
			return nil, err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if err := b.addCopiedRoute(k, it.(client.Object)); err != nil {
				return nil, err
			}
		}
	}
	if err := b.addEndpointPicker(pool); err != nil {
		return nil, err
	}
	if err := b.addShadowServiceSlices(pool); err != nil {
		return nil, err
	}
	// The user's policies the pool's own policies carry onto its rules.
	if err := b.addPoliciesOf(translate.KindBackendTrafficPolicy, translate.KindEnvoyExtensionPolicy); err != nil {
		return nil, err
	}
	src := translate.Source{Kind: translate.InferencePoolKind, Namespace: pool.Namespace, Name: pool.Name}
	if err := b.addGeneratedPolicies(src, translate.KindBackendTrafficPolicy, translate.KindEnvoyExtensionPolicy); err != nil {
		return nil, err
	}
	return b.snap, nil
}

// reportFailOpen records a Normal event and sets the failopen metric when the pool starts or
// stops failing open.
func (r *InferencePoolReconciler) reportFailOpen(pool *giev1.InferencePool, active bool) {
	nn := types.NamespacedName{Namespace: pool.Namespace, Name: pool.Name}
	prev, seen := r.failOpen.Swap(nn, active)
	setFailOpenMetric(nn, active)
	if seen && prev.(bool) == active || !seen && !active {
		return
	}
	if active {
		r.Recorder.Eventf(pool, nil, corev1.EventTypeNormal, "FailOpenActivated", "FailOpen",
			"The endpoint picker has no ready endpoint: requests bypass it and are load-balanced over the pool until it is back")
	} else {
		r.Recorder.Eventf(pool, nil, corev1.EventTypeNormal, "FailOpenDeactivated", "FailOpen",
			"The endpoint picker has a ready endpoint again: requests go through it")
	}
}

// reportPods records an event when a served pool's pods stop or start having a ready one, as
// its shadow Service's EndpointSlices say: a Warning NoReadyPods (also for a pool first seen
// without one, after a restart too), then a Normal ReadyPodsFound. Nothing while the
// EndpointSlice controller has written no slice for the Service yet (PodsUnknown), and a pool
// no longer served is forgotten, so serving it again reports afresh.
func (r *InferencePoolReconciler) reportPods(pool *giev1.InferencePool, served bool, pods translate.PodReadiness) {
	nn := types.NamespacedName{Namespace: pool.Namespace, Name: pool.Name}
	if !served {
		r.readyPods.Delete(nn)
		return
	}
	if pods == translate.PodsUnknown {
		return
	}
	ready := pods == translate.PodsReady
	prev, seen := r.readyPods.Swap(nn, ready)
	if seen && prev.(bool) == ready || !seen && ready {
		return
	}
	e := translate.PodReadinessEvent(pool, pods)
	r.Recorder.Eventf(pool, nil, eventType(e.Type), e.Reason, "Reconcile", "%s", e.Message)
}

func (r *InferencePoolReconciler) forgetFailOpen(nn types.NamespacedName) {
	r.failOpen.Delete(nn)
	deleteFailOpenMetric(nn)
}

// SetupWithManager watches pools and everything their output depends on. The watch on
// BackendTLSPolicies comes with watchBackendTLSPolicies, once the API server serves them.
func (r *InferencePoolReconciler) SetupWithManager(mgr ctrl.Manager) (controller.Controller, error) {
	b := ctrl.NewControllerManagedBy(mgr).
		Named("inferencepool").
		For(&giev1.InferencePool{}).
		Watches(&gwapiv1.HTTPRoute{}, handler.EnqueueRequestsFromMapFunc(r.poolsOfRoute), builder.WithPredicates(inputChanged)).
		Watches(&gwapiv1.Gateway{}, handler.EnqueueRequestsFromMapFunc(r.poolsOfGateway), builder.WithPredicates(inputChanged)).
		Watches(&gwapiv1.GatewayClass{}, handler.EnqueueRequestsFromMapFunc(r.poolsOfClass)).
		Watches(&v1alpha1.InferenceGatewayParameters{}, handler.EnqueueRequestsFromMapFunc(r.poolsOfParameters)).
		Watches(&gwapiv1beta1.ReferenceGrant{}, handler.EnqueueRequestsFromMapFunc(r.poolsOfGrant)).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.poolsOfService)).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(r.poolsOfEndpointSlice), builder.WithPredicates(endpointReadinessChanged))
	for _, obj := range []client.Object{&egv1a1.BackendTrafficPolicy{}, &egv1a1.EnvoyExtensionPolicy{}, &egv1a1.Backend{}, &gwapiv1beta1.ReferenceGrant{}} {
		b = b.Watches(obj, handler.EnqueueRequestsFromMapFunc(sourceOf(translate.InferencePoolKind)))
	}
	// The user's policies whose settings the pool's policies carry.
	for _, obj := range []client.Object{&egv1a1.BackendTrafficPolicy{}, &egv1a1.EnvoyExtensionPolicy{}} {
		b = b.Watches(obj, handler.EnqueueRequestsFromMapFunc(r.poolsOfPolicy), builder.WithPredicates(notGenerated, inputChanged))
	}
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: r.Options.MaxConcurrentPoolReconciles}).Build(r)
}

// watchBackendTLSPolicies adds the watch on the BackendTLSPolicies generated for TLS mode Verify.
func (r *InferencePoolReconciler) watchBackendTLSPolicies(c controller.Controller, cache cache.Cache) error {
	return c.Watch(source.Kind[client.Object](cache, &gwapiv1.BackendTLSPolicy{}, handler.EnqueueRequestsFromMapFunc(sourceOf(translate.InferencePoolKind))))
}

// watchPoolRoutes adds the watch on the routes of kind k (served by copy, its rules reaching
// pools: GRPCRoute), once its CRD is served: the user's map to the pools they reference, the
// generated copies (whose Envoy Gateway status decides the pools' Accepted) to their source's.
func (r *InferencePoolReconciler) watchPoolRoutes(c controller.Controller, cache cache.Cache, k *translate.CopiedRouteKind) error {
	return c.Watch(source.Kind[client.Object](cache, k.New(), handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		if src := sourceOf(k.Kind)(ctx, o); len(src) == 1 {
			user := k.New()
			if err := r.Client.Get(ctx, src[0].NamespacedName, user); err != nil {
				return nil
			}
			o = user
		}
		return requests(translate.PoolRefsOf(o)...)
	}), inputChanged))
}

// poolsOfRoute maps a user's route to the pools it references (updates call it for the old and
// the new route, so a pool a route stops referencing is reconciled too), and a generated route
// (whose EG status decides the pools' Accepted) to the pools of its source route.
func (r *InferencePoolReconciler) poolsOfRoute(ctx context.Context, o client.Object) []reconcile.Request {
	route := o.(*gwapiv1.HTTPRoute)
	if src := sourceOf("HTTPRoute")(ctx, o); len(src) == 1 {
		user := &gwapiv1.HTTPRoute{}
		if err := r.Client.Get(ctx, src[0].NamespacedName, user); err != nil {
			return nil
		}
		route = user
	}
	return requests(translate.PoolRefs(route)...)
}

func (r *InferencePoolReconciler) poolsOfGateway(ctx context.Context, o client.Object) []reconcile.Request {
	gw := nnOf(o)
	return append(poolsOf(routesOfGateway(ctx, r.Client, gw)), poolsOfCopiedRoutes(ctx, r.Client, r.Options.prereqs, func(k *translate.CopiedRouteKind, route client.Object) bool {
		return namesGateway(k, route, func(nn types.NamespacedName) bool { return nn == gw })
	})...)
}

func (r *InferencePoolReconciler) poolsOfClass(ctx context.Context, o client.Object) []reconcile.Request {
	return append(poolsOf(routesOfClass(ctx, r.Client, o.GetName())), poolsOfCopiedRoutes(ctx, r.Client, r.Options.prereqs, onAnyGateway)...)
}

func (r *InferencePoolReconciler) poolsOfParameters(ctx context.Context, o client.Object) []reconcile.Request {
	return append(poolsOf(routesOfParameters(ctx, r.Client, o.GetName())), poolsOfCopiedRoutes(ctx, r.Client, r.Options.prereqs, onAnyGateway)...)
}

// poolsOfGrant maps a ReferenceGrant to the pools of its namespace (those it may let routes of
// other namespaces use).
func (r *InferencePoolReconciler) poolsOfGrant(ctx context.Context, o client.Object) []reconcile.Request {
	pools := &giev1.InferencePoolList{}
	if err := r.Client.List(ctx, pools, client.InNamespace(o.GetNamespace()), noDeepCopy); err != nil {
		return nil
	}
	out := make([]reconcile.Request, len(pools.Items))
	for i := range pools.Items {
		out[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pools.Items[i])}
	}
	return out
}

// poolsOfService maps a Service to the pools whose shadow Service name it holds (ours when
// edited or deleted, or a foreign one whose removal frees the name) and to the pools whose EPP
// it is.
func (r *InferencePoolReconciler) poolsOfService(ctx context.Context, o client.Object) []reconcile.Request {
	return append(poolsOfIndex(ctx, r.Client, indexPoolShadowService, nnOf(o).String()),
		poolsOfIndex(ctx, r.Client, indexPoolEPPService, nnOf(o).String())...)
}

// poolsOfEndpointSlice maps an EPP's EndpointSlice to the pools using that EPP (FailOpen), and
// a shadow Service's to its pool (NoReadyPods).
func (r *InferencePoolReconciler) poolsOfEndpointSlice(ctx context.Context, o client.Object) []reconcile.Request {
	svc := o.GetLabels()[discoveryv1.LabelServiceName]
	if svc == "" {
		return nil
	}
	key := types.NamespacedName{Namespace: o.GetNamespace(), Name: svc}.String()
	return append(poolsOfIndex(ctx, r.Client, indexPoolEPPService, key),
		poolsOfIndex(ctx, r.Client, indexPoolShadowService, key)...)
}

// poolsOfPolicy maps a user's BackendTrafficPolicy or EnvoyExtensionPolicy to the pools of the
// routes it may target: those it names, those attached to a Gateway it names, those its
// targetSelectors may select.
func (r *InferencePoolReconciler) poolsOfPolicy(ctx context.Context, o client.Object) []reconcile.Request {
	var routes []gwapiv1.HTTPRoute
	refs := translate.UserPolicy{Object: o}.Targets()
	for _, ref := range refs.GetTargetRefs() {
		nn := types.NamespacedName{Namespace: o.GetNamespace(), Name: string(ref.Name)}
		routes = append(routes, routesOfTarget(ctx, r.Client, string(ref.Kind), nn)...)
	}
	for _, sel := range refs.TargetSelectors {
		routes = append(routes, routesOfSelector(ctx, r.Client, o.GetNamespace(), sel)...)
	}
	out := poolsOf(routes)
	// Routes of the kinds served by copy it may target: those it names, those attached to a
	// Gateway it names, and (for a selector, which the translation checks) any of the kind.
	return append(out, poolsOfCopiedRoutes(ctx, r.Client, r.Options.prereqs, func(k *translate.CopiedRouteKind, route client.Object) bool {
		for _, ref := range refs.GetTargetRefs() {
			switch string(ref.Kind) {
			case k.Kind:
				if route.GetNamespace() == o.GetNamespace() && route.GetName() == string(ref.Name) {
					return true
				}
			case "Gateway":
				gw := types.NamespacedName{Namespace: o.GetNamespace(), Name: string(ref.Name)}
				if namesGateway(k, route, func(nn types.NamespacedName) bool { return nn == gw }) {
					return true
				}
			}
		}
		for _, sel := range refs.TargetSelectors {
			if string(sel.Kind) == k.Kind || sel.Kind == "Gateway" {
				return true
			}
		}
		return false
	})...)
}
