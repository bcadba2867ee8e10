package controllers

import (
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
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
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/writepath"
)

// CopiedRouteReconciler keeps the generated copy of each route of one kind served by copy
// (translate.CopiedRouteKinds: GRPCRoute, TLSRoute, TCPRoute, UDPRoute) that is attached to the
// operator's Gateways, and writes the route's status entries for those Gateways, as
// HTTPRouteReconciler does for HTTPRoutes.
type CopiedRouteReconciler struct {
	Kind     *translate.CopiedRouteKind
	Client   client.Client
	Applier  *writepath.Applier
	Status   *writepath.StatusWriter
	Recorder events.EventRecorder
	Options  Options
}

func (r *CopiedRouteReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	src := translate.Source{Kind: r.Kind.Kind, Namespace: req.Namespace, Name: req.Name}
	lists := []client.ObjectList{r.Kind.NewList()}
	route := r.Kind.New()
	if err := r.Client.Get(ctx, req.NamespacedName, route); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.Applier.PruneAll(ctx, lists, src, nil)
	}
	parents, status := r.Kind.Parts(route)
	b, err := newSnapshotBuilder(ctx, r.Client, r.Options)
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, ref := range *parents {
		if translate.IsGatewayParentRef(ref) {
			if err := b.addGateway(translate.ParentGateway(ref, route.GetNamespace())); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	if r.Kind.ReachesPools() && r.Options.prereqs.has(&inferencePoolAPIs) {
		if err := b.addRoutePools(route); err != nil {
			return ctrl.Result{}, err
		}
	}
	generated := r.Kind.New()
	found, err := b.get(types.NamespacedName{Namespace: req.Namespace, Name: translate.GeneratedRouteName(req.Name)}, generated)
	if err != nil {
		return ctrl.Result{}, err
	}
	if found {
		b.snap.Add(generated)
	}
	var res translate.RouteResult
	var wait time.Duration
	if route.GetDeletionTimestamp().IsZero() {
		res = translate.ForCopiedRoute(b.snap, r.Kind, route)
		if r.Kind.ReachesPools() {
			if wait, err = waitForShadowServices(ctx, r.Client, b.snap, route, found, time.Now()); err != nil {
				return ctrl.Result{}, err
			}
			if wait > 0 {
				// No copy exists yet (so none is pruned).
				res.Objects = nil
			}
		}
	}
	keep, retry, err := writepath.EnsureAll(ctx, r.Applier, r.Recorder, route, res.Objects)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Applier.PruneAll(ctx, lists, src, keep); err != nil {
		return ctrl.Result{}, err
	}
	hold := holdRouteStatus(route, status.Parents, res.Parents, r.Options.FirstStatusWait, time.Now())
	wrote := false
	if hold == 0 {
		wrote, err = r.Status.WriteParents(ctx, route, status, res.Parents)
	}
	if apierrors.IsNotFound(err) {
		return ctrl.Result{}, nil
	}
	if wrote {
		// Warnings go out when the verdict changes, not on every reconcile.
		for _, e := range res.Events {
			r.Recorder.Eventf(route, nil, eventType(e.Type), e.Reason, "Reconcile", "%s", e.Message)
		}
	}
	return ctrl.Result{RequeueAfter: sooner(sooner(retry, wait), hold)}, err
}

// SetupWithManager watches the user's routes of the kind, their generated copies, and what
// decides their translation: Gateways (a Gateway moving to or from the operator's class), classes
// and parameters, and for a kind whose rules reach pools, ReferenceGrants (pools come with
// watchPools, once GIE's CRDs are served).
func (r *CopiedRouteReconciler) SetupWithManager(mgr ctrl.Manager) (controller.Controller, error) {
	b := ctrl.NewControllerManagedBy(mgr).
		Named(strings.ToLower(r.Kind.Kind)).
		For(r.Kind.New(), builder.WithPredicates(notGenerated)).
		Watches(r.Kind.New(), handler.EnqueueRequestsFromMapFunc(sourceOf(r.Kind.Kind))).
		Watches(&gwapiv1.Gateway{}, handler.EnqueueRequestsFromMapFunc(r.routesOfGateway), builder.WithPredicates(notGenerated, inputChanged)).
		Watches(&gwapiv1.GatewayClass{}, handler.EnqueueRequestsFromMapFunc(r.routesOnGateways)).
		Watches(&v1alpha1.InferenceGatewayParameters{}, handler.EnqueueRequestsFromMapFunc(r.routesOnGateways))
	if r.Kind.ReachesPools() {
		b = b.Watches(&gwapiv1beta1.ReferenceGrant{}, handler.EnqueueRequestsFromMapFunc(r.routesOfGrant)).
			Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(routesOfShadowService(r.routesOfPool)), builder.WithPredicates(shadowServiceCreated))
	}
	return b.Build(r)
}

// watchPools adds the watch on InferencePools: a pool's existence, ports and appProtocol decide
// what the copy's pool refs become and the route's ResolvedRefs.
func (r *CopiedRouteReconciler) watchPools(c controller.Controller, cache cache.Cache) error {
	return c.Watch(source.Kind[client.Object](cache, &giev1.InferencePool{}, handler.EnqueueRequestsFromMapFunc(r.routesOfPool), inputChanged))
}

// routesOfPool maps a pool to the user's routes of the kind that reference it.
func (r *CopiedRouteReconciler) routesOfPool(ctx context.Context, pool client.Object) []reconcile.Request {
	list := r.Kind.NewList()
	if err := r.Client.List(ctx, list, client.MatchingFields{indexRoutePools: nnOf(pool).String()}, noDeepCopy); err != nil {
		return nil
	}
	return userRouteRequests(list)
}

// routesOfGrant maps a ReferenceGrant to the user's routes of the kind in the namespaces it
// lets in.
func (r *CopiedRouteReconciler) routesOfGrant(ctx context.Context, o client.Object) []reconcile.Request {
	var out []reconcile.Request
	seen := map[string]bool{}
	for _, f := range o.(*gwapiv1beta1.ReferenceGrant).Spec.From {
		ns := string(f.Namespace)
		if string(f.Kind) != r.Kind.Kind || seen[ns] {
			continue
		}
		seen[ns] = true
		list := r.Kind.NewList()
		if err := r.Client.List(ctx, list, client.InNamespace(ns), noDeepCopy); err != nil {
			continue
		}
		out = append(out, userRouteRequests(list)...)
	}
	return out
}

// userRouteRequests are the requests for the user's routes of list (not generated copies).
func userRouteRequests(list client.ObjectList) []reconcile.Request {
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, it := range items {
		if o := it.(client.Object); o.GetLabels()[translate.LabelManagedBy] != translate.ManagedByValue {
			out = append(out, reconcile.Request{NamespacedName: nnOf(o)})
		}
	}
	return out
}

// routesOfGateway maps a Gateway to the user's routes of the kind that name it.
func (r *CopiedRouteReconciler) routesOfGateway(ctx context.Context, gw client.Object) []reconcile.Request {
	return r.routesNaming(ctx, func(nn types.NamespacedName) bool { return nn == nnOf(gw) })
}

// routesOnGateways maps a class or parameters change to every user's route of the kind with a
// Gateway parent: which Gateways a class serves is the Gateway controller's to tell, and routes
// of these kinds are few.
func (r *CopiedRouteReconciler) routesOnGateways(ctx context.Context, _ client.Object) []reconcile.Request {
	return r.routesNaming(ctx, func(types.NamespacedName) bool { return true })
}

// routesNaming lists the user's routes of the kind with a Gateway parentRef that match accepts.
func (r *CopiedRouteReconciler) routesNaming(ctx context.Context, accept func(types.NamespacedName) bool) []reconcile.Request {
	list := r.Kind.NewList()
	if err := r.Client.List(ctx, list, noDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "listing routes", "kind", r.Kind.Kind)
		return nil
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, it := range items {
		o := it.(client.Object)
		if o.GetLabels()[translate.LabelManagedBy] == translate.ManagedByValue {
			continue
		}
		parents, _ := r.Kind.Parts(o)
		for _, ref := range *parents {
			if translate.IsGatewayParentRef(ref) && accept(translate.ParentGateway(ref, o.GetNamespace())) {
				out = append(out, reconcile.Request{NamespacedName: nnOf(o)})
				break
			}
		}
	}
	return out
}
