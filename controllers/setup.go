package controllers

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// Options configure the operator's controllers.
type Options struct {
	// DefaultEnvoyGatewayClass is the Envoy Gateway GatewayClass used by the generated Gateways
	// of a GatewayClass that has no parameters (flag --envoy-gateway-class).
	DefaultEnvoyGatewayClass string
}

// SetupWithManager registers the field indexes and every controller of the operator.
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if err := setupIndexes(ctx, mgr); err != nil {
		return err
	}
	applier := &Applier{Client: mgr.GetClient(), Scheme: mgr.GetScheme()}
	if err := (&GatewayClassReconciler{Client: mgr.GetClient(), Now: metav1.Now}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&InferencePoolReconciler{
		Client:                   mgr.GetClient(),
		Applier:                  applier,
		Recorder:                 mgr.GetEventRecorder("inferencepool-operator"),
		DefaultEnvoyGatewayClass: opts.DefaultEnvoyGatewayClass,
	}).SetupWithManager(mgr)
}

// ManagerOptions completes opts with what every manager running these controllers needs: the
// scheme, and a cache that drops managedFields (the operator never reads them).
func ManagerOptions(opts ctrl.Options) ctrl.Options {
	opts.Scheme = NewScheme()
	opts.Cache.DefaultTransform = cache.TransformStripManagedFields()
	return opts
}
