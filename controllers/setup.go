package controllers

import (
	"context"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	w, err := newPrerequisiteWatcher(mgr, opts)
	if err != nil {
		return err
	}
	// Set up what can be now, as before any prerequisite was checked: a normal start does all
	// of it before the manager starts.
	if err := w.reconcile(ctx); err != nil {
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

// ManagerOptions completes opts with what every manager running these controllers needs: the
// scheme, and a cache that drops managedFields (the operator never reads them) and keeps of
// EndpointSlices only what endpoint-picker readiness needs.
func ManagerOptions(opts ctrl.Options) ctrl.Options {
	opts.Scheme = NewScheme()
	opts.Cache.DefaultTransform = stripForeignManagedFields
	if opts.Cache.ByObject == nil {
		opts.Cache.ByObject = map[client.Object]cache.ByObject{}
	}
	opts.Cache.ByObject[&discoveryv1.EndpointSlice{}] = cache.ByObject{Transform: slimEndpointSlice}
	return opts
}

// stripForeignManagedFields drops managedFields from cached objects, except from the objects the
// operator generates: there they show edits by others that server-side apply cannot undo.
func stripForeignManagedFields(obj any) (any, error) {
	if o, ok := obj.(client.Object); ok && o.GetLabels()[translate.LabelManagedBy] != translate.ManagedByValue {
		o.SetManagedFields(nil)
	}
	return obj, nil
}

// slimEndpointSlice keeps an EndpointSlice's identity, labels and endpoint readiness; the
// operator never reads addresses, ports or topology.
func slimEndpointSlice(obj any) (any, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return obj, nil
	}
	slim := &discoveryv1.EndpointSlice{
		TypeMeta: s.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name, Namespace: s.Namespace, UID: s.UID, ResourceVersion: s.ResourceVersion, Labels: s.Labels,
		},
		AddressType: s.AddressType,
	}
	for _, ep := range s.Endpoints {
		slim.Endpoints = append(slim.Endpoints, discoveryv1.Endpoint{Conditions: ep.Conditions})
	}
	return slim, nil
}
