package controllers

import (
	"context"
	"errors"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/writepath"
)

// LeaderElectionID is the name of the Lease the manager's replicas elect their leader with. It is
// also the name label of controller-runtime's leader_election_master_status metric, which the
// InferencePoolOperatorNoLeader alert (config/prometheus) selects.
const LeaderElectionID = "inferencepool-operator.inferencepool-operator.io"

// Setup registers the operator's controllers, each with its field indexes, as soon as
// the API server serves the kinds it needs (prerequisites.go): those served now at once, the
// others when they appear. It adds a readiness check per prerequisite (gateway-api-crds,
// operator-crd, envoy-gateway-crds, inferencepool-crd).
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.ClusterDomain == "" {
		opts.ClusterDomain = translate.DefaultClusterDomain
	}
	if opts.PrerequisiteCheckInterval == 0 {
		opts.PrerequisiteCheckInterval = 5 * time.Second
	}
	if opts.MaxConcurrentPoolReconciles == 0 {
		opts.MaxConcurrentPoolReconciles = DefaultMaxConcurrentPoolReconciles
	}
	opts.prereqs = newPrerequisites()
	opts.apiReader = mgr.GetAPIReader()
	w, err := newPrerequisiteWatcher(mgr, opts)
	if err != nil {
		return err
	}
	// Set up what can be now, as before any prerequisite was checked: a normal start does all
	// of it before the manager starts. An API server that does not answer (down, restarting) is
	// not fatal: the watcher asks again every interval and sets up then. Exiting would make the
	// operator's pod crash-loop for as long as the API server is away, and wait out the
	// kubelet's back-off (up to 5 minutes) after it is back.
	if err := w.reconcile(ctx); errors.Is(err, errNotChecked) {
		log.FromContext(ctx).Error(err, "the API server does not answer: setting up once it does", "interval", opts.PrerequisiteCheckInterval)
	} else if err != nil {
		return err
	}
	for _, set := range allAPISets {
		if set.check == "" {
			continue
		}
		if err := mgr.AddReadyzCheck(set.check, opts.prereqs.readyz(set)); err != nil {
			return err
		}
	}
	return mgr.Add(w)
}

// DefaultMaxConcurrentReconciles is how many objects of one kind are reconciled at once unless
// --max-concurrent-reconciles says otherwise. A reconcile spends most of its time waiting for
// the API server, so one worker per kind leaves the operator idle while thousands of objects wait
// in the queue (docs/performance.md). Pools have their own count,
// DefaultMaxConcurrentPoolReconciles.
const DefaultMaxConcurrentReconciles = 4

// DefaultMaxConcurrentPoolReconciles is how many pools are reconciled at once unless
// --max-concurrent-pool-reconciles says otherwise. A pool's reconcile applies up to five objects
// one after another (the picker's Backend before the policies that name it), each a round trip
// to the API server: with 4 at once, 1000 pools applied together kept the API server at about
// 90 writes a second where it serves 200, and every pool waited its turn (docs/performance.md).
const DefaultMaxConcurrentPoolReconciles = 16

// ManagerOptions completes opts with what every manager running these controllers needs: the
// scheme, DefaultMaxConcurrentReconciles workers per controller unless opts sets another count,
// and a cache that keeps only what the operator reads (cache.go).
func ManagerOptions(opts ctrl.Options) ctrl.Options {
	opts.Scheme = NewScheme()
	if opts.Controller.MaxConcurrentReconciles == 0 {
		opts.Controller.MaxConcurrentReconciles = DefaultMaxConcurrentReconciles
	}
	opts.Cache = cacheOptions(opts.Cache)
	return opts
}

// setupUnits lists what the operator sets up: field indexes before the controllers that use
// them, each with the kinds it needs.
func (w *prerequisiteWatcher) setupUnits() []*setupUnit {
	mgr, opts, prereqs := w.mgr, w.opts, w.opts.prereqs
	c := mgr.GetClient()
	applier := writepath.New(c, mgr.GetScheme(), indexSource)
	applier.ServedList, applier.ServedObject = prereqs.listServed, prereqs.objectServed
	status := writepath.NewStatusWriter(c, mgr.GetAPIReader(), metav1.Now)
	recorder := mgr.GetEventRecorder("inferencepool-operator")
	base := []*apiSet{&gatewayAPIs, &operatorAPIs}
	all := []*apiSet{&gatewayAPIs, &operatorAPIs, &inferencePoolAPIs, &envoyGatewayAPIs}

	gatewayIndexes := &setupUnit{name: "Gateway API indexes", needs: base, setup: func(ctx context.Context) error {
		return setupGatewayAPIIndexes(ctx, mgr)
	}}
	egIndexes := &setupUnit{name: "Envoy Gateway indexes", needs: []*apiSet{&envoyGatewayAPIs}, setup: func(ctx context.Context) error {
		if err := setupPolicyIndexes(ctx, mgr); err != nil {
			return err
		}
		prereqs.markIndexed(&envoyGatewayAPIs)
		return nil
	}}
	poolIndexes := &setupUnit{name: "InferencePool indexes", needs: []*apiSet{&inferencePoolAPIs}, setup: func(ctx context.Context) error {
		return setupInferencePoolIndexes(ctx, mgr)
	}}
	btlsIndexes := &setupUnit{name: "BackendTLSPolicy indexes", needs: []*apiSet{&backendTLSPolicyAPIs}, setup: func(ctx context.Context) error {
		if err := setupSourceIndexes(ctx, mgr, &gwapiv1.BackendTLSPolicy{}); err != nil {
			return err
		}
		prereqs.markIndexed(&backendTLSPolicyAPIs)
		return nil
	}}
	indexes := []*setupUnit{gatewayIndexes, egIndexes, poolIndexes}

	gateways := &GatewayReconciler{Client: c, Applier: applier, Status: status, Recorder: recorder, Options: opts}
	pools := &InferencePoolReconciler{Client: c, Applier: applier, Status: status, Recorder: recorder, Options: opts}
	var gatewayController, poolController controller.Controller
	gatewayUnit := &setupUnit{name: "Gateway controller", needs: base, after: []*setupUnit{gatewayIndexes}, setup: func(context.Context) (err error) {
		gatewayController, err = gateways.SetupWithManager(mgr, w.gatewayEvents)
		return err
	}}
	poolUnit := &setupUnit{name: "InferencePool controller", needs: all, after: indexes, setup: func(context.Context) (err error) {
		poolController, err = pools.SetupWithManager(mgr)
		return err
	}}
	units := []*setupUnit{
		gatewayIndexes, egIndexes, poolIndexes, btlsIndexes,
		{name: "GatewayClass controller", needs: base, after: []*setupUnit{gatewayIndexes}, setup: func(context.Context) error {
			return (&GatewayClassReconciler{Client: c, Status: status, Recorder: recorder, Options: opts}).SetupWithManager(mgr, w.classEvents)
		}},
		gatewayUnit,
		{name: "Gateway controller's Envoy Gateway watches", needs: append(base, &envoyGatewayAPIs), after: []*setupUnit{gatewayUnit, egIndexes}, setup: func(context.Context) error {
			return gateways.watchEnvoyGateway(gatewayController, mgr.GetCache())
		}},
		{name: "HTTPRoute controller", needs: all, after: indexes, setup: func(context.Context) error {
			return (&HTTPRouteReconciler{Client: c, Applier: applier, Status: status, Recorder: recorder, Options: opts}).SetupWithManager(mgr)
		}},
		poolUnit,
		{name: "InferencePool controller's BackendTLSPolicy watch", needs: append(all, &backendTLSPolicyAPIs), after: []*setupUnit{poolUnit, btlsIndexes}, setup: func(context.Context) error {
			return pools.watchBackendTLSPolicies(poolController, mgr.GetCache())
		}},
	}
	for _, k := range translate.CopiedRouteKinds {
		// Envoy Gateway's CRDs too: a copy is served by Envoy Gateway, and nothing is generated
		// for it before they are (as for HTTPRoutes).
		needs := append(append([]*apiSet{}, base...), &envoyGatewayAPIs, copiedRouteAPIs[k.Kind])
		routes := &CopiedRouteReconciler{Kind: k, Client: c, Applier: applier, Status: status, Recorder: recorder, Options: opts}
		var routeController controller.Controller
		routeUnit := &setupUnit{name: k.Kind + " controller", needs: needs, after: []*setupUnit{gatewayIndexes}, setup: func(ctx context.Context) (err error) {
			if err := setupCopiedRouteIndexes(ctx, mgr, k); err != nil {
				return err
			}
			prereqs.markIndexed(copiedRouteAPIs[k.Kind])
			routeController, err = routes.SetupWithManager(mgr)
			return err
		}}
		units = append(units, routeUnit)
		if !k.ReachesPools() {
			continue
		}
		// A kind whose rules reach pools: its controller follows the pools (once GIE's CRDs are
		// served), and the pool controller follows its routes.
		units = append(units,
			&setupUnit{name: k.Kind + " controller's InferencePool watch", needs: append(append([]*apiSet{}, needs...), &inferencePoolAPIs), after: []*setupUnit{routeUnit, poolIndexes}, setup: func(context.Context) error {
				return routes.watchPools(routeController, mgr.GetCache())
			}},
			&setupUnit{name: "InferencePool controller's " + k.Kind + " watch", needs: append(append([]*apiSet{}, all...), copiedRouteAPIs[k.Kind]), after: []*setupUnit{poolUnit, routeUnit}, setup: func(context.Context) error {
				return pools.watchPoolRoutes(poolController, mgr.GetCache(), k)
			}})
	}
	for _, kind := range translate.PolicyKinds {
		policies := &PolicyReconciler{Kind: kind, Client: c, Applier: applier, Status: status, Recorder: recorder, Options: opts}
		var policyController controller.Controller
		policyUnit := &setupUnit{name: kind + " controller", needs: all, after: indexes, setup: func(context.Context) (err error) {
			policyController, err = policies.SetupWithManager(mgr)
			return err
		}}
		units = append(units, policyUnit)
		for _, k := range translate.CopiedRouteKinds {
			units = append(units, &setupUnit{name: kind + " controller's " + k.Kind + " watch", needs: append(append([]*apiSet{}, all...), copiedRouteAPIs[k.Kind]), after: []*setupUnit{policyUnit}, setup: func(context.Context) error {
				return policies.watchCopiedRoutes(policyController, mgr.GetCache(), k)
			}})
		}
	}
	return units
}
