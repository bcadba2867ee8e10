// Package translate turns a snapshot of the user's objects into the Envoy Gateway objects that
// implement them and the statuses to report. It is pure: no client calls, no clocks, no
// randomness, so the same snapshot always gives the same output (golden tests rely on it).
package translate

const (
	// ControllerName is the controllerName of the operator's GatewayClasses, and the
	// controllerName the operator writes into the statuses it owns.
	ControllerName = "inferencepool-operator.io/gateway-controller"

	// EnvoyGatewayControllerName is Envoy Gateway's default controllerName: its GatewayClasses
	// name it, and it is the controllerName in the statuses Envoy Gateway writes.
	EnvoyGatewayControllerName = "gateway.envoyproxy.io/gatewayclass-controller"

	// FieldManager is the server-side apply field manager of every object the operator writes.
	FieldManager = "inferencepool-operator"

	// LabelManagedBy marks generated objects; an object without it is never adopted.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy on generated objects.
	ManagedByValue = "inferencepool-operator"
	// LabelSourceKind and LabelSourceName name the object a generated object was made from
	// (its ownerReference says the same, with the UID). Long names are hash-shortened.
	LabelSourceKind = "inferencepool-operator.io/source-kind"
	LabelSourceName = "inferencepool-operator.io/source-name"

	// AnnotationDesiredHash holds a hash of what the operator last applied to an object, so a
	// reconcile can tell "unchanged" without writing.
	AnnotationDesiredHash = "inferencepool-operator.io/desired-hash"

	// DestinationHeader is the header in which an endpoint picker names the chosen endpoint.
	DestinationHeader = "x-gateway-destination-endpoint"

	// InferenceGroup and InferencePoolKind identify an InferencePool backendRef.
	InferenceGroup    = "inference.networking.k8s.io"
	InferencePoolKind = "InferencePool"
)
