package controllers

import (
	"context"
	"errors"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// LeaderElectionID is the name of the Lease the manager's replicas elect their leader with. It is
// also the name label of controller-runtime's leader_election_master_status metric, which the
// InferencePoolOperatorNoLeader alert (config/prometheus) selects.
const LeaderElectionID = "inferencepool-operator.inferencepool-operator.io"

// Options configure the operator's controllers.
type Options struct {
	// DefaultEnvoyGatewayClass is the Envoy Gateway GatewayClass used by the generated Gateways
	// of a GatewayClass that has no parameters (flag --envoy-gateway-class).
	DefaultEnvoyGatewayClass string
	// ClusterDomain is the cluster's DNS suffix, for the EPP's FQDN (flag --cluster-domain).
	ClusterDomain string
	// PrerequisiteCheckInterval is how often the operator asks the API server whether the CRDs
	// it needs are served (default 5s); a missing one is picked up within it.
	PrerequisiteCheckInterval time.Duration

	// prereqs is what the API server serves of the prerequisites (set by SetupWithManager).
	prereqs *prerequisites
	// apiReader reads the API server directly, for referenced objects the cache does not hold
	// yet (set by SetupWithManager).
	apiReader client.Reader
}

// SetupWithManager registers the operator's controllers, each with its field indexes, as soon as
// the API server serves the kinds it needs (prerequisites.go): those served now at once, the
// others when they appear. It adds a readiness check per prerequisite (gateway-api-crds,
// operator-crd, envoy-gateway-crds, inferencepool-crd).
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.ClusterDomain == "" {
		opts.ClusterDomain = translate.DefaultClusterDomain
	}
	if opts.PrerequisiteCheckInterval == 0 {
		opts.PrerequisiteCheckInterval = 5 * time.Second
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
// the API server (a pool's is a handful of applies), so one worker per kind leaves the operator
// idle while thousands of pools wait in the queue (docs/performance.md).
const DefaultMaxConcurrentReconciles = 4

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
