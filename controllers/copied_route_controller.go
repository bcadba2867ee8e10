package controllers

import (
	"context"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/writepath"
)

// unservedRouteKind describes a route kind the operator refuses: how to make one and a list,
// and where its parentRefs and status are.
type unservedRouteKind struct {
	kind    string
	newObj  func() client.Object
	newList func() client.ObjectList
	parts   func(client.Object) ([]gwapiv1.ParentReference, *gwapiv1.RouteStatus)
}

var unservedRouteKinds = map[string]unservedRouteKind{
	"GRPCRoute": {"GRPCRoute", func() client.Object { return &gwapiv1.GRPCRoute{} }, func() client.ObjectList { return &gwapiv1.GRPCRouteList{} },
		func(o client.Object) ([]gwapiv1.ParentReference, *gwapiv1.RouteStatus) {
			r := o.(*gwapiv1.GRPCRoute)
			return r.Spec.ParentRefs, &r.Status.RouteStatus
		}},
	"TLSRoute": {"TLSRoute", func() client.Object { return &gwapiv1.TLSRoute{} }, func() client.ObjectList { return &gwapiv1.TLSRouteList{} },
		func(o client.Object) ([]gwapiv1.ParentReference, *gwapiv1.RouteStatus) {
			r := o.(*gwapiv1.TLSRoute)
			return r.Spec.ParentRefs, &r.Status.RouteStatus
		}},
	"TCPRoute": {"TCPRoute", func() client.Object { return &gwapiv1.TCPRoute{} }, func() client.ObjectList { return &gwapiv1.TCPRouteList{} },
		func(o client.Object) ([]gwapiv1.ParentReference, *gwapiv1.RouteStatus) {
			r := o.(*gwapiv1.TCPRoute)
			return r.Spec.ParentRefs, &r.Status.RouteStatus
		}},
	"UDPRoute": {"UDPRoute", func() client.Object { return &gwapiv1.UDPRoute{} }, func() client.ObjectList { return &gwapiv1.UDPRouteList{} },
		func(o client.Object) ([]gwapiv1.ParentReference, *gwapiv1.RouteStatus) {
			r := o.(*gwapiv1.UDPRoute)
			return r.Spec.ParentRefs, &r.Status.RouteStatus
		}},
}

// UnservedRouteReconciler refuses, in their own status, the routes of one kind the operator does
// not serve (translate.UnservedRouteKinds) that are attached to its Gateways: a route is never
// dropped without a word. It writes nothing else.
type UnservedRouteReconciler struct {
	Kind    unservedRouteKind
	Client  client.Client
	Status  *writepath.StatusWriter
	Options Options
}

func (r *UnservedRouteReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	route := r.Kind.newObj()
	if err := r.Client.Get(ctx, req.NamespacedName, route); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	parents, status := r.Kind.parts(route)
	b, err := newSnapshotBuilder(ctx, r.Client, r.Options)
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, ref := range parents {
		if translate.IsGatewayParentRef(ref) {
			if err := b.addGateway(translate.ParentGateway(ref, route.GetNamespace())); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	var desired []gwapiv1.RouteParentStatus
	if route.GetDeletionTimestamp().IsZero() {
		desired = translate.UnservedRouteParents(b.snap, r.Kind.kind, route.GetNamespace(), route.GetGeneration(), parents)
	}
	_, err = r.Status.WriteParents(ctx, route, status, desired)
	if apierrors.IsNotFound(err) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, err
}

// SetupWithManager watches the routes of the kind, and the Gateways they name (a Gateway moving
// to or from the operator's class changes which routes are refused).
func (r *UnservedRouteReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named(strings.ToLower(r.Kind.kind)).
		For(r.Kind.newObj()).
		Watches(&gwapiv1.Gateway{}, handler.EnqueueRequestsFromMapFunc(r.routesOfGateway), builder.WithPredicates(notGenerated, inputChanged)).
		Complete(r)
}

// routesOfGateway maps a Gateway to the routes of the kind that name it.
func (r *UnservedRouteReconciler) routesOfGateway(ctx context.Context, gw client.Object) []reconcile.Request {
	list := r.Kind.newList()
	if err := r.Client.List(ctx, list, noDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "listing routes", "kind", r.Kind.kind)
		return nil
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, it := range items {
		o := it.(client.Object)
		parents, _ := r.Kind.parts(o)
		for _, ref := range parents {
			if translate.IsGatewayParentRef(ref) && translate.ParentGateway(ref, o.GetNamespace()) == nnOf(gw) {
				out = append(out, reconcile.Request{NamespacedName: nnOf(o)})
				break
			}
		}
	}
	return out
}
