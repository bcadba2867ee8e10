package controllers

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// InferencePoolReconciler keeps the objects generated for each InferencePool that a route on
// the operator's Gateways references, and removes them when none does.
type InferencePoolReconciler struct {
	Client   client.Client
	Applier  *Applier
	Recorder events.EventRecorder
	// DefaultEnvoyGatewayClass is the EG class for GatewayClasses without parameters.
	DefaultEnvoyGatewayClass string
}

func (r *InferencePoolReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pool := &giev1.InferencePool{}
	if err := r.Client.Get(ctx, req.NamespacedName, pool); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		// Gone: ownerReferences let the garbage collector delete what we generated; prune too,
		// so nothing is left where no garbage collector runs.
		return ctrl.Result{}, r.prune(ctx, req.Namespace, req.Name, nil)
	}
	if !pool.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	snap, err := r.snapshot(ctx, pool)
	if err != nil {
		return ctrl.Result{}, err
	}
	result := translate.TranslatePool(snap, pool)

	keep := map[string]bool{}
	for _, obj := range result.Objects {
		wrote, err := r.Applier.Ensure(ctx, obj)
		if errors.Is(err, ErrForeignObject) {
			r.Recorder.Eventf(pool, nil, corev1.EventTypeWarning, "GeneratedNameInUse", "Reconcile",
				"%v; the operator leaves it untouched and cannot serve this pool until it is renamed or removed", err)
			continue
		}
		if err != nil {
			return ctrl.Result{}, err
		}
		keep[obj.GetName()] = true
		if wrote {
			log.FromContext(ctx).V(1).Info("applied", "kind", obj.GetObjectKind().GroupVersionKind().Kind, "name", obj.GetName())
		}
	}
	return ctrl.Result{}, r.prune(ctx, pool.Namespace, pool.Name, keep)
}

// prune deletes the objects generated for the pool name in namespace that are not in keep.
func (r *InferencePoolReconciler) prune(ctx context.Context, namespace, name string, keep map[string]bool) error {
	_, err := r.Applier.Prune(ctx, &corev1.ServiceList{}, namespace, translate.InferencePoolKind, name, keep)
	return err
}

// snapshot reads from the cache what the pool's translation needs: the routes referencing it,
// their parent Gateways, the GatewayClasses, and the ReferenceGrants of the pool's namespace.
func (r *InferencePoolReconciler) snapshot(ctx context.Context, pool *giev1.InferencePool) (*translate.Snapshot, error) {
	snap := &translate.Snapshot{DefaultEnvoyGatewayClass: r.DefaultEnvoyGatewayClass}
	poolKey := types.NamespacedName{Namespace: pool.Namespace, Name: pool.Name}

	routes := &gwapiv1.HTTPRouteList{}
	if err := r.Client.List(ctx, routes, client.MatchingFields{indexRoutePools: poolKey.String()}); err != nil {
		return nil, err
	}
	snap.HTTPRoutes = routes.Items
	snap.Pools = []giev1.InferencePool{*pool}

	classes := &gwapiv1.GatewayClassList{}
	if err := r.Client.List(ctx, classes); err != nil {
		return nil, err
	}
	snap.GatewayClasses = classes.Items

	seen := map[types.NamespacedName]bool{}
	crossNamespace := false
	for i := range routes.Items {
		route := &routes.Items[i]
		crossNamespace = crossNamespace || route.Namespace != pool.Namespace
		for _, gwKey := range translate.ParentGateways(route) {
			if seen[gwKey] {
				continue
			}
			seen[gwKey] = true
			gw := &gwapiv1.Gateway{}
			err := r.Client.Get(ctx, gwKey, gw)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			snap.Gateways = append(snap.Gateways, *gw)
		}
	}
	if crossNamespace {
		grants := &gwapiv1beta1.ReferenceGrantList{}
		if err := r.Client.List(ctx, grants, client.InNamespace(pool.Namespace)); err != nil {
			return nil, err
		}
		snap.Grants = grants.Items
	}
	return snap, nil
}

// SetupWithManager watches pools and everything that decides whether a pool is served: routes,
// Gateways, GatewayClasses, ReferenceGrants, and Services holding the generated names.
func (r *InferencePoolReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("inferencepool").
		For(&giev1.InferencePool{}).
		Watches(&gwapiv1.HTTPRoute{}, handler.EnqueueRequestsFromMapFunc(poolsOfRoute)).
		Watches(&gwapiv1.Gateway{}, handler.EnqueueRequestsFromMapFunc(r.poolsOfGateway)).
		Watches(&gwapiv1.GatewayClass{}, handler.EnqueueRequestsFromMapFunc(r.poolsOfClass)).
		Watches(&gwapiv1beta1.ReferenceGrant{}, handler.EnqueueRequestsFromMapFunc(r.poolsInNamespace)).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.poolOfShadowService)).
		Complete(r)
}

// poolsOfRoute maps a route to the pools it references. Updates call it for the old and the new
// route, so a pool that a route stops referencing is reconciled too.
func poolsOfRoute(_ context.Context, o client.Object) []reconcile.Request {
	refs := translate.PoolRefs(o.(*gwapiv1.HTTPRoute))
	out := make([]reconcile.Request, len(refs))
	for i, nn := range refs {
		out[i] = reconcile.Request{NamespacedName: nn}
	}
	return out
}

func (r *InferencePoolReconciler) poolsOfGateway(ctx context.Context, o client.Object) []reconcile.Request {
	routes := &gwapiv1.HTTPRouteList{}
	if err := r.Client.List(ctx, routes, client.MatchingFields{indexRouteGateways: key(o).String()}); err != nil {
		log.FromContext(ctx).Error(err, "listing routes of gateway", "gateway", key(o))
		return nil
	}
	var out []reconcile.Request
	for i := range routes.Items {
		out = append(out, poolsOfRoute(ctx, &routes.Items[i])...)
	}
	return out
}

func (r *InferencePoolReconciler) poolsOfClass(ctx context.Context, o client.Object) []reconcile.Request {
	gateways := &gwapiv1.GatewayList{}
	if err := r.Client.List(ctx, gateways, client.MatchingFields{indexGatewayClass: o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "listing gateways of class", "class", o.GetName())
		return nil
	}
	var out []reconcile.Request
	for i := range gateways.Items {
		out = append(out, r.poolsOfGateway(ctx, &gateways.Items[i])...)
	}
	return out
}

func (r *InferencePoolReconciler) poolsInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	pools := &giev1.InferencePoolList{}
	if err := r.Client.List(ctx, pools, client.InNamespace(o.GetNamespace())); err != nil {
		log.FromContext(ctx).Error(err, "listing pools", "namespace", o.GetNamespace())
		return nil
	}
	out := make([]reconcile.Request, len(pools.Items))
	for i := range pools.Items {
		out[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pools.Items[i])}
	}
	return out
}

// poolOfShadowService maps a Service to the pool whose shadow Service name it holds: ours when
// edited or deleted (drift), or a foreign one whose removal frees the name.
func (r *InferencePoolReconciler) poolOfShadowService(ctx context.Context, o client.Object) []reconcile.Request {
	pools := &giev1.InferencePoolList{}
	if err := r.Client.List(ctx, pools, client.MatchingFields{indexPoolShadowService: key(o).String()}); err != nil {
		log.FromContext(ctx).Error(err, "listing pools of service", "service", key(o))
		return nil
	}
	out := make([]reconcile.Request, len(pools.Items))
	for i := range pools.Items {
		out[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pools.Items[i])}
	}
	return out
}
