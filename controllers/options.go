package controllers

import (
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

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
	// FirstStatusWait is how long a new route or pool may go without a status of ours while
	// Envoy Gateway has not judged it (first_status.go; flag --first-status-wait, whose default
	// is DefaultFirstStatusWait). 0: its Pending is written at once.
	FirstStatusWait time.Duration
	// MaxConcurrentPoolReconciles is how many pools are reconciled at once (flag
	// --max-concurrent-pool-reconciles; default DefaultMaxConcurrentPoolReconciles).
	MaxConcurrentPoolReconciles int

	// prereqs is what the API server serves of the prerequisites (set by SetupWithManager).
	prereqs *prerequisites
	// apiReader reads the API server directly, for referenced objects the cache does not hold
	// yet (set by SetupWithManager).
	apiReader client.Reader
}
