package controllers

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// PolicyReconciler carries the user's Envoy Gateway policies of one kind that attach to our
// Gateways and routes over to the generated objects (translate.ForUserPolicy), and writes
// their status entries. The parts the operator's own policies hold are carried by the
// InferencePool and Gateway reconcilers; this one mirrors Envoy Gateway's verdict on them too.
type PolicyReconciler struct {
	Kind     string
	Client   client.Client
	Applier  *writepath.Applier
	Status   *writepath.StatusWriter
	Recorder events.EventRecorder
	Options  Options
}

func (r *PolicyReconciler) newObject() client.Object {
	return translate.PolicyKindOf(r.Kind).New()
}

// generatedKinds are the kinds generated from a policy: its copy and ReferenceGrants.
func (r *PolicyReconciler) generatedKinds() []client.ObjectList {
	list := translate.PolicyKindOf(r.Kind).NewList()
	return []client.ObjectList{list, &gwapiv1beta1.ReferenceGrantList{}}
}

func (r *PolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	src := translate.Source{Kind: r.Kind, Namespace: req.Namespace, Name: req.Name}
	obj := r.newObject()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		// Gone: its copy is owned by it; prune too (grants in other namespaces have no owner).
		return ctrl.Result{}, r.Applier.PruneAll(ctx, r.generatedKinds(), src, nil)
	}
	if obj.GetLabels()[translate.LabelManagedBy] == translate.ManagedByValue {
		return ctrl.Result{}, nil
	}
	snap, err := r.snapshot(ctx, obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	p := translate.UserPolicy{Kind: r.Kind, Object: obj}
	var res translate.PolicyResult
	if obj.GetDeletionTimestamp().IsZero() && snap.PolicyReachesOurs(p) {
		res = translate.ForUserPolicy(snap, p)
	}
	keep, retry, err := writepath.EnsureAll(ctx, r.Applier, r.Recorder, obj, res.Objects)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Applier.PruneAll(ctx, r.generatedKinds(), src, keep); err != nil {
		return ctrl.Result{}, err
	}
	_, err = r.Status.WritePolicyAncestors(ctx, obj, res.Ancestors)
	return ctrl.Result{RequeueAfter: retry}, err
}

// snapshot reads what the policy's translation needs: the objects it targets (for a Gateway,
// also the routes attached to it: overrides and refusals are about their rules), with their
// parents and pools; every policy of its kind that could hold one of them; and the generated
// policies carrying it, with Envoy Gateway's verdicts.
func (r *PolicyReconciler) snapshot(ctx context.Context, obj client.Object) (*translate.Snapshot, error) {
	b, err := newSnapshotBuilder(ctx, r.Client, r.Options)
	if err != nil {
		return nil, err
	}
	b.addPolicy(obj)
	refs := translate.UserPolicy{Object: obj}.Targets()
	for _, ref := range refs.GetTargetRefs() {
		nn := types.NamespacedName{Namespace: obj.GetNamespace(), Name: string(ref.Name)}
		if err := b.addTarget(string(ref.Kind), nn); err != nil {
			return nil, err
		}
	}
	for _, sel := range refs.TargetSelectors {
		if err := b.addSelected(obj.GetNamespace(), sel); err != nil {
			return nil, err
		}
	}
	if err := b.addPoliciesOf(r.Kind); err != nil {
		return nil, err
	}
	if len(refs.TargetSelectors) > 0 {
		if err := b.addSelectorContext(); err != nil {
			return nil, err
		}
	}
	carriers, err := b.listPolicies(r.Kind, client.MatchingFields{indexPolicyCarries: translate.Source{Kind: r.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}.String()})
	if err != nil {
		return nil, err
	}
	copied, err := b.listPolicies(r.Kind, client.MatchingFields{indexSource: translate.Source{Kind: r.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}.String()})
	if err != nil {
		return nil, err
	}
	for _, c := range append(carriers, copied...) {
		b.addPolicy(c)
	}
	return b.snap, nil
}

// SetupWithManager watches the policies of the kind and what decides their translation (routes of
// the kinds served by copy come later: watchCopiedRoutes).
func (r *PolicyReconciler) SetupWithManager(mgr ctrl.Manager) (controller.Controller, error) {
	obj := r.newObject()
	return ctrl.NewControllerManagedBy(mgr).
		Named(strings.ToLower(r.Kind)).
		For(obj, builder.WithPredicates(notGenerated)).
		Watches(r.newObject(), handler.EnqueueRequestsFromMapFunc(r.policiesOfPolicy), builder.WithPredicates(inputChanged)).
		Watches(&gwapiv1beta1.ReferenceGrant{}, handler.EnqueueRequestsFromMapFunc(r.policiesOfGrant)).
		Watches(&gwapiv1.Gateway{}, handler.EnqueueRequestsFromMapFunc(r.policiesOfGateway), builder.WithPredicates(notGenerated, inputChanged)).
		Watches(&gwapiv1.HTTPRoute{}, handler.EnqueueRequestsFromMapFunc(r.policiesOfRoute), builder.WithPredicates(notGenerated, inputChanged)).
		Watches(&giev1.InferencePool{}, handler.EnqueueRequestsFromMapFunc(r.policiesOfPool), builder.WithPredicates(inputChanged)).
		Watches(&gwapiv1.GatewayClass{}, handler.EnqueueRequestsFromMapFunc(r.policiesOfClass)).
		Watches(&v1alpha1.InferenceGatewayParameters{}, handler.EnqueueRequestsFromMapFunc(r.policiesOfParameters)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.selectorPolicies)).
		Build(r)
}

// watchCopiedRoutes adds the watch on the user's routes of kind k, once its CRD is served.
func (r *PolicyReconciler) watchCopiedRoutes(c controller.Controller, cache cache.Cache, k *translate.CopiedRouteKind) error {
	return c.Watch(source.Kind(cache, k.New(), handler.EnqueueRequestsFromMapFunc(r.policiesOfCopiedRoute(k)), notGenerated, inputChanged))
}

// policiesOfCopiedRoute maps a user's route of kind k to the policies targeting it or one of its
// Gateways.
func (r *PolicyReconciler) policiesOfCopiedRoute(k *translate.CopiedRouteKind) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		keys := []string{targetKey(k.Kind, nnOf(o)), policySelectorKey}
		parents, _ := k.Parts(o)
		for _, ref := range *parents {
			if translate.IsGatewayParentRef(ref) {
				keys = append(keys, targetKey("Gateway", translate.ParentGateway(ref, o.GetNamespace())))
			}
		}
		return r.policies(ctx, keys...)
	}
}

// policies lists the user's policies of the kind whose index holds any of keys.
func (r *PolicyReconciler) policies(ctx context.Context, keys ...string) []reconcile.Request {
	seen := map[types.NamespacedName]bool{}
	var out []reconcile.Request
	for _, key := range keys {
		list, err := (&snapshotBuilder{ctx: ctx, c: r.Client}).listPolicies(r.Kind, client.MatchingFields{indexPolicyTargets: key})
		if err != nil {
			continue
		}
		for _, o := range list {
			nn := client.ObjectKeyFromObject(o)
			if !seen[nn] {
				seen[nn] = true
				out = append(out, reconcile.Request{NamespacedName: nn})
			}
		}
	}
	return out
}

// policiesOfPolicy maps a generated policy of the kind to the user's policies it was made from
// or carries, and a user's policy to those that share a target with it (the oldest holds it).
func (r *PolicyReconciler) policiesOfPolicy(ctx context.Context, o client.Object) []reconcile.Request {
	if o.GetLabels()[translate.LabelManagedBy] == translate.ManagedByValue {
		out := sourceOf(r.Kind)(ctx, o)
		for _, k := range strings.Split(o.GetAnnotations()[translate.AnnotationCarries], "+") {
			parts := strings.SplitN(k, "/", 3)
			if len(parts) == 3 && parts[0] == r.Kind {
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: parts[1], Name: parts[2]}})
			}
		}
		return out
	}
	return r.policies(ctx, policyTargetKeys(o)...)
}

// policiesOfGrant maps a ReferenceGrant generated from a policy to it, and any grant to the
// policies with targetSelectors (a grant lets them reach another namespace).
func (r *PolicyReconciler) policiesOfGrant(ctx context.Context, o client.Object) []reconcile.Request {
	return append(sourceOf(r.Kind)(ctx, o), r.policies(ctx, policySelectorKey)...)
}

func (r *PolicyReconciler) selectorPolicies(ctx context.Context, _ client.Object) []reconcile.Request {
	return r.policies(ctx, policySelectorKey)
}

// policiesOfGateway maps a user's Gateway to the policies targeting it or a route attached to it.
func (r *PolicyReconciler) policiesOfGateway(ctx context.Context, o client.Object) []reconcile.Request {
	nn := nnOf(o)
	keys := []string{targetKey("Gateway", nn), policySelectorKey}
	for _, route := range routesOfGateway(ctx, r.Client, nn) {
		keys = append(keys, targetKey("HTTPRoute", client.ObjectKeyFromObject(&route)))
	}
	return r.policies(ctx, keys...)
}

// policiesOfRoute maps a user's route to the policies targeting it or one of its Gateways
// (whose status speaks of the routes' rules).
func (r *PolicyReconciler) policiesOfRoute(ctx context.Context, o client.Object) []reconcile.Request {
	route := o.(*gwapiv1.HTTPRoute)
	keys := []string{targetKey("HTTPRoute", nnOf(o)), policySelectorKey}
	for _, gw := range translate.ParentGateways(route) {
		keys = append(keys, targetKey("Gateway", gw))
	}
	return r.policies(ctx, keys...)
}

// policiesOfPool maps a pool to the policies of the routes using it (a rule that gains or loses
// a pool moves between the copy and the operator's pool policy).
func (r *PolicyReconciler) policiesOfPool(ctx context.Context, o client.Object) []reconcile.Request {
	routes, err := routesReferencingPool(ctx, r.Client, nnOf(o), noDeepCopy)
	if err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range routes {
		out = append(out, r.policiesOfRoute(ctx, &routes[i])...)
	}
	return out
}

func (r *PolicyReconciler) policiesOfClass(ctx context.Context, o client.Object) []reconcile.Request {
	var out []reconcile.Request
	for _, gw := range gatewaysOfClass(ctx, r.Client, o.GetName()) {
		g := &gwapiv1.Gateway{}
		g.Namespace, g.Name = gw.Namespace, gw.Name
		out = append(out, r.policiesOfGateway(ctx, g)...)
	}
	return out
}

func (r *PolicyReconciler) policiesOfParameters(ctx context.Context, o client.Object) []reconcile.Request {
	var out []reconcile.Request
	for _, class := range classesOfParameters(ctx, r.Client, o.GetName()) {
		c := &gwapiv1.GatewayClass{}
		c.Name = class
		out = append(out, r.policiesOfClass(ctx, c)...)
	}
	return out
}
