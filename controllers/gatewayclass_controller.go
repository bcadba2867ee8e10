package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// GatewayClassReconciler reports whether each of the operator's GatewayClasses is usable.
type GatewayClassReconciler struct {
	Client client.Client
	Status *statusWriter
}

func (r *GatewayClassReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	class := &gwapiv1.GatewayClass{}
	if err := r.Client.Get(ctx, req.NamespacedName, class); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if string(class.Spec.ControllerName) != translate.ControllerName {
		return ctrl.Result{}, nil
	}
	snap := &translate.Snapshot{}
	if ref := class.Spec.ParametersRef; ref != nil && string(ref.Kind) == v1alpha1.Kind && string(ref.Group) == v1alpha1.GroupVersion.Group {
		params := &v1alpha1.InferenceGatewayParameters{}
		err := r.Client.Get(ctx, client.ObjectKey{Name: ref.Name}, params)
		switch {
		case err == nil:
			snap.Parameters = append(snap.Parameters, *params)
		case !apierrors.IsNotFound(err):
			return ctrl.Result{}, err
		}
	}
	desired := translate.GatewayClassAccepted(snap, class)
	_, err := r.Status.update(ctx, class, func() bool {
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

// SetupWithManager watches our GatewayClasses and the parameters they reference.
func (r *GatewayClassReconciler) SetupWithManager(mgr ctrl.Manager) error {
	ours := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return string(o.(*gwapiv1.GatewayClass).Spec.ControllerName) == translate.ControllerName
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("gatewayclass").
		For(&gwapiv1.GatewayClass{}, builder.WithPredicates(ours, predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.InferenceGatewayParameters{}, handler.EnqueueRequestsFromMapFunc(r.classesForParameters)).
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
