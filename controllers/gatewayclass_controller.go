package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// GatewayClassReconciler reports whether each of the operator's GatewayClasses is usable: its
// parameters resolve, and what it needs is there (translate/prerequisites.go).
type GatewayClassReconciler struct {
	Client  client.Client
	Status  *statusWriter
	Options Options
}

func (r *GatewayClassReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	class := &gwapiv1.GatewayClass{}
	if err := r.Client.Get(ctx, req.NamespacedName, class); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if string(class.Spec.ControllerName) != translate.ControllerName {
		return ctrl.Result{}, nil
	}
	// Every class (the Envoy Gateway class it uses is one) and its parameters.
	b, err := newSnapshot(ctx, r.Client, r.Options)
	if err != nil {
		return ctrl.Result{}, err
	}
	desired := translate.GatewayClassAccepted(b.snap, class)
	_, err = r.Status.update(ctx, class, func() bool {
		// Conditions of other types (e.g. SupportedVersion) stay as they are, in place.
		conds := replaceCondition(class.Status.Conditions, desired, r.Status.now())
		if equality.Semantic.DeepEqual(conds, class.Status.Conditions) {
			return false
		}
		class.Status.Conditions = conds
		return true
	})
	return ctrl.Result{}, err
}

// SetupWithManager watches our GatewayClasses, the parameters they reference, the Envoy Gateway
// classes they use, and events (when prerequisites change).
func (r *GatewayClassReconciler) SetupWithManager(mgr ctrl.Manager, events <-chan event.GenericEvent) error {
	ours := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return string(o.(*gwapiv1.GatewayClass).Spec.ControllerName) == translate.ControllerName
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("gatewayclass").
		For(&gwapiv1.GatewayClass{}, builder.WithPredicates(ours, predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.InferenceGatewayParameters{}, handler.EnqueueRequestsFromMapFunc(r.classesForParameters)).
		Watches(&gwapiv1.GatewayClass{}, handler.EnqueueRequestsFromMapFunc(r.classesUsing)).
		WatchesRawSource(source.Channel(events, &handler.EnqueueRequestForObject{})).
		Complete(r)
}

func (r *GatewayClassReconciler) classesForParameters(ctx context.Context, o client.Object) []reconcile.Request {
	classes := &gwapiv1.GatewayClassList{}
	if err := r.Client.List(ctx, classes, client.MatchingFields{indexClassParameters: o.GetName()}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(classes.Items))
	for _, c := range classes.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&c)})
	}
	return out
}

// classesUsing maps a GatewayClass that is not ours (an Envoy Gateway class: its existence and
// verdict decide our classes') to our classes that use it.
func (r *GatewayClassReconciler) classesUsing(ctx context.Context, o client.Object) []reconcile.Request {
	if string(o.(*gwapiv1.GatewayClass).Spec.ControllerName) == translate.ControllerName {
		return nil
	}
	b, err := newSnapshot(ctx, r.Client, r.Options)
	if err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range b.snap.GatewayClasses {
		c := &b.snap.GatewayClasses[i]
		if string(c.Spec.ControllerName) != translate.ControllerName {
			continue
		}
		params, _ := b.snap.ClassParameters(c)
		if translate.ResolveSettings(params, r.Options.DefaultEnvoyGatewayClass).EnvoyGatewayClassName == o.GetName() {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(c)})
		}
	}
	return out
}
