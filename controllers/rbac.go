package controllers

// The operator's permissions, in one place. Reads are cluster-wide (list/watch feed the cache).
// Writes go only to objects the operator generates, and to the status of the user's Gateway API
// and InferencePool objects. It never reads Secrets: certificates stay with Envoy Gateway.
//
// Gateway API: read everything that routes traffic; write generated Gateways, routes,
// ReferenceGrants and BackendTLSPolicies; write the status of the user's classes, Gateways and routes.
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gatewayclasses,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gatewayclasses/status;gateways/status;httproutes/status,verbs=get;update;patch
// GRPCRoutes, TLSRoutes, TCPRoutes and UDPRoutes: read the user's, write their copies and status.
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=grpcroutes;tlsroutes;tcproutes;udproutes,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=grpcroutes/status;tlsroutes/status;tcproutes/status;udproutes/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways;httproutes;referencegrants;backendtlspolicies,verbs=get;list;watch;create;update;patch;delete
//
// GIE: read pools, write their status (never the pools themselves).
// +kubebuilder:rbac:groups=inference.networking.k8s.io,resources=inferencepools,verbs=get;list;watch
// +kubebuilder:rbac:groups=inference.networking.k8s.io,resources=inferencepools/status,verbs=get;update;patch
//
// Our parameters: read only.
// +kubebuilder:rbac:groups=inferencepool-operator.io,resources=inferencegatewayparameters,verbs=get;list;watch
//
// Envoy Gateway: the policies and Backends the operator generates; the users' policies it
// carries over are read, and only their status written.
// +kubebuilder:rbac:groups=gateway.envoyproxy.io,resources=backendtrafficpolicies;envoyextensionpolicies;clienttrafficpolicies;securitypolicies;backends,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=gateway.envoyproxy.io,resources=backendtrafficpolicies/status;envoyextensionpolicies/status;clienttrafficpolicies/status;securitypolicies/status,verbs=get;update;patch
//
// Core: shadow Services (write), EPP Services and their EndpointSlices (read, for
// ResolvedRefs and FailOpen), events on the user's objects.
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// Namespaces (read): the labels policies' targetSelectors select namespaces by.
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
