package controllers

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/writepath"
)

// GatewayClassReconciler reports whether each of the operator's GatewayClasses is usable: its
// parameters resolve, and what it needs is there (translate/gateway_class_prerequisites.go). It keeps Gateway
// API's finalizer on a class while Gateways use it.
type GatewayClassReconciler struct {
	Client   client.Client
	Status   *writepath.StatusWriter
	Recorder events.EventRecorder
	Options  Options
}

func (r *GatewayClassReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	class := &gwapiv1.GatewayClass{}
	if err := r.Client.Get(ctx, req.NamespacedName, class); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if string(class.Spec.ControllerName) != translate.ControllerName {
		return ctrl.Result{}, nil
	}
	inUse, err := r.gatewaysUsing(ctx, class.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.ensureFinalizer(ctx, class, inUse > 0); err != nil {
		return ctrl.Result{}, err
	}
	if !class.DeletionTimestamp.IsZero() {
		if inUse > 0 {
			// Deleted while in use: it keeps serving its Gateways until the last one leaves.
			r.Recorder.Eventf(class, nil, corev1.EventTypeNormal, ReasonDeletionWaitsForGateways, "Delete",
				"GatewayClass %s is being deleted and still serves %d Gateways; it stays, and keeps serving them, until they are deleted or moved to another class", class.Name, inUse)
		}
		if inUse == 0 {
			return ctrl.Result{}, nil // the finalizer is gone: so is the class, in a moment
		}
	}
	// Every class (the Envoy Gateway class it uses is one) and its parameters.
	b, err := newSnapshotBuilder(ctx, r.Client, r.Options)
	if err != nil {
		return ctrl.Result{}, err
	}
	desired := translate.GatewayClassAccepted(b.snap, class)
	_, err = r.Status.Update(ctx, class, func() bool {
		// Conditions of other types (e.g. SupportedVersion) stay as they are, in place.
		conds := writepath.ReplaceCondition(class.Status.Conditions, desired, r.Status.Now())
		if equality.Semantic.DeepEqual(conds, class.Status.Conditions) {
			return false
		}
		class.Status.Conditions = conds
		return true
	})
	return ctrl.Result{}, err
}

// GatewayClassFinalizer is Gateway API's finalizer on a GatewayClass that Gateways use: deleting
// the class waits until none does (the class is what serves them).
const GatewayClassFinalizer = gwapiv1.GatewayClassFinalizerGatewaysExist

// ReasonDeletionWaitsForGateways is the Normal event on a class deleted while Gateways use it.
const ReasonDeletionWaitsForGateways = "DeletionWaitsForGateways"

// gatewaysUsing counts the Gateways of class name (the user's: generated ones use Envoy
// Gateway's classes).
func (r *GatewayClassReconciler) gatewaysUsing(ctx context.Context, name string) (int, error) {
	gateways := &gwapiv1.GatewayList{}
	if err := r.Client.List(ctx, gateways, client.MatchingFields{indexGatewayClass: name}, noDeepCopy); err != nil {
		return 0, err
	}
	return len(gateways.Items), nil
}

// ensureFinalizer adds or removes GatewayClassFinalizer on class, with one patch when it changes
// (optimistic: a concurrent change of the finalizers fails it, and the reconcile retries).
func (r *GatewayClassReconciler) ensureFinalizer(ctx context.Context, class *gwapiv1.GatewayClass, want bool) error {
	if controllerutil.ContainsFinalizer(class, GatewayClassFinalizer) == want {
		return nil
	}
	base := class.DeepCopy()
	if want {
		controllerutil.AddFinalizer(class, GatewayClassFinalizer)
	} else {
		controllerutil.RemoveFinalizer(class, GatewayClassFinalizer)
	}
	return r.Client.Patch(ctx, class, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// SetupWithManager watches our GatewayClasses, the parameters they reference, the Envoy Gateway
// classes they use, the Gateways that use them (for the finalizer), and events (when
// prerequisites change).
func (r *GatewayClassReconciler) SetupWithManager(mgr ctrl.Manager, events <-chan event.GenericEvent) error {
	ours := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return string(o.(*gwapiv1.GatewayClass).Spec.ControllerName) == translate.ControllerName
	})
	// The finalizer follows deletion and other writers' changes of the finalizers.
	finalizing := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return !e.ObjectNew.GetDeletionTimestamp().Equal(e.ObjectOld.GetDeletionTimestamp()) ||
			!slices.Equal(e.ObjectNew.GetFinalizers(), e.ObjectOld.GetFinalizers())
	}}
	// A Gateway matters to its class when it appears, goes, or changes class.
	classChanged := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectNew.(*gwapiv1.Gateway).Spec.GatewayClassName != e.ObjectOld.(*gwapiv1.Gateway).Spec.GatewayClassName
	}}
	return ctrl.NewControllerManagedBy(mgr).
		Named("gatewayclass").
		For(&gwapiv1.GatewayClass{}, builder.WithPredicates(ours, predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, finalizing))).
		Watches(&v1alpha1.InferenceGatewayParameters{}, handler.EnqueueRequestsFromMapFunc(r.classesForParameters)).
		Watches(&gwapiv1.GatewayClass{}, handler.EnqueueRequestsFromMapFunc(r.classesUsing)).
		Watches(&gwapiv1.Gateway{}, handler.EnqueueRequestsFromMapFunc(classOfGateway), builder.WithPredicates(notGenerated, classChanged)).
		WatchesRawSource(source.Channel(events, &handler.EnqueueRequestForObject{})).
		Complete(r)
}

// classOfGateway maps a Gateway to its GatewayClass.
func classOfGateway(_ context.Context, o client.Object) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: string(o.(*gwapiv1.Gateway).Spec.GatewayClassName)}}}
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
	b, err := newSnapshotBuilder(ctx, r.Client, r.Options)
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
