package controllers

import (
	"context"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/writepath"
)

// GatewayReconciler keeps, for each Gateway of our classes, the generated EG Gateway and
// ClientTrafficPolicy, and mirrors EG's verdict onto the user's Gateway.
type GatewayReconciler struct {
	Client   client.Client
	Applier  *writepath.Applier
	Status   *writepath.StatusWriter
	Recorder events.EventRecorder
	Options  Options
}

// gatewayPruneLists list the kinds generated from a Gateway, for pruning what is no longer desired.
var gatewayPruneLists = []client.ObjectList{&gwapiv1.GatewayList{}, &egv1a1.ClientTrafficPolicyList{}, &gwapiv1beta1.ReferenceGrantList{}}

func (r *GatewayReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	src := translate.Source{Kind: "Gateway", Namespace: req.Namespace, Name: req.Name}
	gw := &gwapiv1.Gateway{}
	if err := r.Client.Get(ctx, req.NamespacedName, gw); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.Applier.PruneAll(ctx, gatewayPruneLists, src, nil)
	}
	snap, err := newSnapshotBuilder(ctx, r.Client, r.Options)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := snap.addGateway(req.NamespacedName); err != nil {
		return ctrl.Result{}, err
	}
	if err := snap.addGeneratedGateway(types.NamespacedName{Namespace: gw.Namespace, Name: translate.GeneratedGatewayName(gw.Name)}); err != nil {
		return ctrl.Result{}, err
	}
	serving := snap.snap.GatewayServing(gw)
	if serving.State == translate.NotOurs || !gw.DeletionTimestamp.IsZero() {
		// Not ours (any more: moved to another controller's class) or deleted: remove what we
		// generated, leave its status to its controller. A class of ours that cannot serve it,
		// or is gone, is no reason: the Gateway is held (translate/gateway_serving.go).
		return ctrl.Result{}, r.Applier.PruneAll(ctx, gatewayPruneLists, src, nil)
	}
	// The user's ClientTrafficPolicy the generated one carries.
	if err := snap.addPoliciesOf(translate.KindClientTrafficPolicy); err != nil {
		return ctrl.Result{}, err
	}
	res := translate.ForGateway(snap.snap, gw)
	keep, retry, err := writepath.EnsureAll(ctx, r.Applier, r.Recorder, gw, res.Objects)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Applier.PruneAll(ctx, gatewayPruneLists, src, keep); err != nil {
		return ctrl.Result{}, err
	}
	wrote, err := r.Status.WriteGatewayStatus(ctx, gw, res.Status)
	if wrote && serving.State == translate.Held {
		r.Recorder.Eventf(gw, nil, corev1.EventTypeWarning, translate.ReasonLastKnownGood, "Reconcile", "%s",
			conditionMessage(res.Status.Conditions, translate.ConditionLastKnownGood))
	}
	return ctrl.Result{RequeueAfter: retry}, err
}

// conditionMessage is the message of the condition of type typ in conds ("" if none).
func conditionMessage(conds []metav1.Condition, typ string) string {
	if c := meta.FindStatusCondition(conds, typ); c != nil {
		return c.Message
	}
	return ""
}

// SetupWithManager watches Gateways, what is generated from them, the classes and parameters
// that decide how they are served, and events (when prerequisites change). The watches on Envoy
// Gateway's kinds come with watchEnvoyGateway, once the API server serves them.
func (r *GatewayReconciler) SetupWithManager(mgr ctrl.Manager, events <-chan event.GenericEvent) (controller.Controller, error) {
	return ctrl.NewControllerManagedBy(mgr).
		Named("gateway").
		For(&gwapiv1.Gateway{}, builder.WithPredicates(notGenerated)).
		Watches(&gwapiv1.Gateway{}, handler.EnqueueRequestsFromMapFunc(sourceOf("Gateway"))).
		Watches(&gwapiv1beta1.ReferenceGrant{}, handler.EnqueueRequestsFromMapFunc(sourceOf("Gateway"))).
		Watches(&gwapiv1.GatewayClass{}, handler.EnqueueRequestsFromMapFunc(r.gatewaysOfClass)).
		Watches(&v1alpha1.InferenceGatewayParameters{}, handler.EnqueueRequestsFromMapFunc(r.gatewaysOfParameters)).
		WatchesRawSource(source.Channel(events, &handler.EnqueueRequestForObject{})).
		Build(r)
}

// watchEnvoyGateway adds the watches on Envoy Gateway's kinds: the generated ClientTrafficPolicy,
// and the user's, which it carries.
func (r *GatewayReconciler) watchEnvoyGateway(c controller.Controller, cache cache.Cache) error {
	if err := c.Watch(source.Kind[client.Object](cache, &egv1a1.ClientTrafficPolicy{}, handler.EnqueueRequestsFromMapFunc(sourceOf("Gateway")))); err != nil {
		return err
	}
	return c.Watch(source.Kind[client.Object](cache, &egv1a1.ClientTrafficPolicy{}, handler.EnqueueRequestsFromMapFunc(r.gatewaysOfPolicy), notGenerated, inputChanged))
}

func (r *GatewayReconciler) gatewaysOfClass(ctx context.Context, o client.Object) []reconcile.Request {
	return gatewaysOfClass(ctx, r.Client, o.GetName())
}

func (r *GatewayReconciler) gatewaysOfParameters(ctx context.Context, o client.Object) []reconcile.Request {
	var out []reconcile.Request
	for _, class := range classesOfParameters(ctx, r.Client, o.GetName()) {
		out = append(out, gatewaysOfClass(ctx, r.Client, class)...)
	}
	return out
}

func (r *GatewayReconciler) gatewaysOfPolicy(ctx context.Context, o client.Object) []reconcile.Request {
	return gatewaysOfPolicy(ctx, r.Client, o)
}
