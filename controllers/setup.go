package controllers

import (
	"context"

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
}

// SetupWithManager registers the field indexes and every controller of the operator.
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.ClusterDomain == "" {
		opts.ClusterDomain = translate.DefaultClusterDomain
	}
	if err := setupIndexes(ctx, mgr); err != nil {
		return err
	}
	c := mgr.GetClient()
	applier := &Applier{Client: c, Scheme: mgr.GetScheme()}
	status := &statusWriter{client: c, reader: mgr.GetAPIReader(), now: metav1.Now}
	recorder := mgr.GetEventRecorder("inferencepool-operator")
	if err := (&GatewayClassReconciler{Client: c, Status: status}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&GatewayReconciler{Client: c, Applier: applier, Status: status, Recorder: recorder, Options: opts}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&HTTPRouteReconciler{Client: c, Applier: applier, Status: status, Recorder: recorder, Options: opts}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&InferencePoolReconciler{Client: c, Applier: applier, Status: status, Recorder: recorder, Options: opts}).SetupWithManager(mgr); err != nil {
		return err
	}
	for _, kind := range translate.PolicyKinds {
		if err := (&PolicyReconciler{Kind: kind, Client: c, Applier: applier, Status: status, Recorder: recorder, Options: opts}).SetupWithManager(mgr); err != nil {
			return err
		}
	}
	return nil
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
