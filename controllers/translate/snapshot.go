package translate

import (
	"sort"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
)

// DefaultClusterDomain is the DNS suffix of cluster Services unless configured otherwise.
const DefaultClusterDomain = "cluster.local"

// Snapshot is everything a translation reads. Reconcilers fill it from the informer cache with
// the objects relevant to the source they reconcile; golden tests fill it from YAML files.
// Gateways and HTTPRoutes hold the user's objects and the generated ones alike: the generated
// ones carry Envoy Gateway's verdicts in their status, which the user's statuses mirror.
type Snapshot struct {
	// DefaultEnvoyGatewayClass is the EG class used when a GatewayClass has no parameters.
	DefaultEnvoyGatewayClass string
	// ClusterDomain is the DNS suffix of Services (default cluster.local).
	ClusterDomain string

	GatewayClasses []gwapiv1.GatewayClass
	Parameters     []v1alpha1.InferenceGatewayParameters
	Gateways       []gwapiv1.Gateway
	HTTPRoutes     []gwapiv1.HTTPRoute
	// The route kinds served by copy (CopiedRouteKinds): the user's and the generated copies.
	GRPCRoutes []gwapiv1.GRPCRoute
	TLSRoutes  []gwapiv1.TLSRoute
	TCPRoutes  []gwapiv1.TCPRoute
	UDPRoutes  []gwapiv1.UDPRoute
	Pools      []giev1.InferencePool
	Grants     []gwapiv1beta1.ReferenceGrant
	// Services are the endpoint pickers' Services.
	Services []corev1.Service
	// EndpointSlices are the endpoint pickers' EndpointSlices (FailOpen reads their readiness)
	// and the pools' shadow Services' (NoReadyPods reads theirs).
	EndpointSlices []discoveryv1.EndpointSlice

	// Envoy Gateway policies of the carried-over kinds: the user's, and the generated ones, whose
	// status holds Envoy Gateway's verdict on what was carried over and on the pools' own
	// policies (pool_verdicts.go).
	SecurityPolicies       []egv1a1.SecurityPolicy
	BackendTrafficPolicies []egv1a1.BackendTrafficPolicy
	ClientTrafficPolicies  []egv1a1.ClientTrafficPolicy
	EnvoyExtensionPolicies []egv1a1.EnvoyExtensionPolicy
	// Namespaces are the namespaces whose labels policies' targetSelectors select.
	Namespaces []corev1.Namespace

	// MissingAPIs are the operator's prerequisites the API server does not serve.
	MissingAPIs []MissingAPI
	// BackendAPIDisabled maps an Envoy Gateway class to evidence that the Envoy Gateway serving
	// it runs with its Backend API off (it refused a generated EnvoyExtensionPolicy for a
	// Backend that exists).
	BackendAPIDisabled map[string]string

	// attached memoizes which policy holds which target, per kind (see attachmentsOf).
	attached map[string]*attachments
	// verdicts memoizes whether each of our classes can serve its Gateways (classVerdictOf).
	verdicts map[string]classVerdict
}

func (s *Snapshot) clusterDomain() string {
	if s.ClusterDomain == "" {
		return DefaultClusterDomain
	}
	return s.ClusterDomain
}

// OurClass tells whether the GatewayClass named name is one of the operator's.
func (s *Snapshot) OurClass(name string) bool {
	for i := range s.GatewayClasses {
		c := &s.GatewayClasses[i]
		if c.Name == name {
			return string(c.Spec.ControllerName) == ControllerName
		}
	}
	return false
}

// find returns the item of items named nn, or nil.
func find[T any, P interface {
	*T
	GetNamespace() string
	GetName() string
}](items []T, nn types.NamespacedName) *T {
	for i := range items {
		if p := P(&items[i]); p.GetNamespace() == nn.Namespace && p.GetName() == nn.Name {
			return &items[i]
		}
	}
	return nil
}

// Gateway returns the Gateway nn, or nil.
func (s *Snapshot) Gateway(nn types.NamespacedName) *gwapiv1.Gateway { return find(s.Gateways, nn) }

// HTTPRoute returns the HTTPRoute nn, or nil.
func (s *Snapshot) HTTPRoute(nn types.NamespacedName) *gwapiv1.HTTPRoute {
	return find(s.HTTPRoutes, nn)
}

// Pool returns the InferencePool nn, or nil.
func (s *Snapshot) Pool(nn types.NamespacedName) *giev1.InferencePool { return find(s.Pools, nn) }

// Service returns the Service nn, or nil.
func (s *Snapshot) Service(nn types.NamespacedName) *corev1.Service { return find(s.Services, nn) }

// routesByName lists the snapshot's HTTPRoutes sorted by namespace and name. The informer cache
// lists objects in no stable order; whatever the translation writes in the order of several
// routes (status messages, target lists) must not follow it, or every reconcile could rewrite it.
func (s *Snapshot) routesByName() []*gwapiv1.HTTPRoute {
	out := make([]*gwapiv1.HTTPRoute, len(s.HTTPRoutes))
	for i := range s.HTTPRoutes {
		out[i] = &s.HTTPRoutes[i]
	}
	sortByName(out)
	return out
}

// sortByName sorts objects by namespace, then name.
func sortByName[T client.Object](objs []T) {
	sort.Slice(objs, func(i, j int) bool {
		if objs[i].GetNamespace() != objs[j].GetNamespace() {
			return objs[i].GetNamespace() < objs[j].GetNamespace()
		}
		return objs[i].GetName() < objs[j].GetName()
	})
}
