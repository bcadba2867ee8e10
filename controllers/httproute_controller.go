package controllers

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/writepath"
)

// HTTPRouteReconciler keeps the generated EG HTTPRoute of each route on our Gateways and writes
// the route's status entries for those Gateways.
type HTTPRouteReconciler struct {
	Client   client.Client
	Applier  *writepath.Applier
	Status   *writepath.StatusWriter
	Recorder events.EventRecorder
	Options  Options
}

// routePruneLists list the kinds generated from a route, for pruning what is no longer desired.
var routePruneLists = []client.ObjectList{&gwapiv1.HTTPRouteList{}}

func (r *HTTPRouteReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	src := translate.Source{Kind: "HTTPRoute", Namespace: req.Namespace, Name: req.Name}
	route := &gwapiv1.HTTPRoute{}
	if err := r.Client.Get(ctx, req.NamespacedName, route); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.Applier.PruneAll(ctx, routePruneLists, src, nil)
	}
	b, err := newSnapshotBuilder(ctx, r.Client, r.Options)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := b.addRoute(route); err != nil {
		return ctrl.Result{}, err
	}
	var res translate.RouteResult
	var wait time.Duration
	if route.DeletionTimestamp.IsZero() {
		res = translate.ForRoute(b.snap, route)
		generated := types.NamespacedName{Namespace: route.Namespace, Name: translate.GeneratedRouteName(route.Name)}
		if wait, err = waitForShadowServices(ctx, r.Client, b.snap, route, b.snap.HTTPRoute(generated) != nil, time.Now()); err != nil {
			return ctrl.Result{}, err
		}
		if wait > 0 {
			// No generated route exists yet (so none is pruned).
			res.Objects = nil
		}
	}
	keep, retry, err := writepath.EnsureAll(ctx, r.Applier, r.Recorder, route, res.Objects)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Applier.PruneAll(ctx, routePruneLists, src, keep); err != nil {
		return ctrl.Result{}, err
	}
	hold := holdRouteStatus(route, route.Status.Parents, res.Parents, r.Options.FirstStatusWait, time.Now())
	wrote := false
	if hold == 0 {
		wrote, err = r.Status.WriteRouteParents(ctx, route, res.Parents)
	}
	if wrote {
		// Warnings go out when the verdict changes, not on every reconcile.
		for _, e := range res.Events {
			r.Recorder.Eventf(route, nil, eventType(e.Type), e.Reason, "Reconcile", "%s", e.Message)
		}
	}
	return ctrl.Result{RequeueAfter: sooner(sooner(retry, wait), hold)}, err
}

func eventType(t string) string {
	if t == corev1.EventTypeWarning {
		return corev1.EventTypeWarning
	}
	return corev1.EventTypeNormal
}

// SetupWithManager watches the user's routes, their generated routes, and what decides their
// translation: Gateways, classes, parameters, pools and ReferenceGrants.
func (r *HTTPRouteReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("httproute").
		For(&gwapiv1.HTTPRoute{}, builder.WithPredicates(notGenerated)).
		Watches(&gwapiv1.HTTPRoute{}, handler.EnqueueRequestsFromMapFunc(sourceOf("HTTPRoute"))).
		Watches(&gwapiv1.Gateway{}, handler.EnqueueRequestsFromMapFunc(r.routesOfGateway), builder.WithPredicates(notGenerated, inputChanged)).
		Watches(&gwapiv1.GatewayClass{}, handler.EnqueueRequestsFromMapFunc(r.routesOfClass)).
		Watches(&v1alpha1.InferenceGatewayParameters{}, handler.EnqueueRequestsFromMapFunc(r.routesOfParameters)).
		Watches(&giev1.InferencePool{}, handler.EnqueueRequestsFromMapFunc(r.routesOfPool), builder.WithPredicates(inputChanged)).
		Watches(&gwapiv1beta1.ReferenceGrant{}, handler.EnqueueRequestsFromMapFunc(r.routesOfGrant)).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(routesOfShadowService(r.routesOfPool)), builder.WithPredicates(shadowServiceCreated)).
		Complete(r)
}

func (r *HTTPRouteReconciler) routesOfGateway(ctx context.Context, o client.Object) []reconcile.Request {
	return routeRequests(routesOfGateway(ctx, r.Client, nnOf(o)))
}

func (r *HTTPRouteReconciler) routesOfClass(ctx context.Context, o client.Object) []reconcile.Request {
	return routeRequests(routesOfClass(ctx, r.Client, o.GetName()))
}

func (r *HTTPRouteReconciler) routesOfParameters(ctx context.Context, o client.Object) []reconcile.Request {
	return routeRequests(routesOfParameters(ctx, r.Client, o.GetName()))
}

func (r *HTTPRouteReconciler) routesOfPool(ctx context.Context, o client.Object) []reconcile.Request {
	routes, err := routesReferencingPool(ctx, r.Client, nnOf(o), noDeepCopy)
	if err != nil {
		return nil
	}
	return routeRequests(routes)
}

// routesOfGrant maps a ReferenceGrant to the routes of the namespaces it lets in.
func (r *HTTPRouteReconciler) routesOfGrant(ctx context.Context, o client.Object) []reconcile.Request {
	grant := o.(*gwapiv1beta1.ReferenceGrant)
	seen := map[string]bool{}
	var out []reconcile.Request
	for _, f := range grant.Spec.From {
		ns := string(f.Namespace)
		if f.Kind != "HTTPRoute" || seen[ns] {
			continue
		}
		seen[ns] = true
		routes := &gwapiv1.HTTPRouteList{}
		if err := r.Client.List(ctx, routes, client.InNamespace(ns), noDeepCopy); err != nil {
			continue
		}
		for i := range routes.Items {
			if len(translate.PoolRefs(&routes.Items[i])) > 0 {
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: routes.Items[i].Name}})
			}
		}
	}
	return out
}
