package translate

import (
	"k8s.io/apimachinery/pkg/types"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
)

// Snapshot is everything a translation reads. Reconcilers fill it from the informer cache with
// the objects relevant to the source they reconcile; golden tests fill it from YAML files.
type Snapshot struct {
	// DefaultEnvoyGatewayClass is the EG class used when a GatewayClass has no parameters.
	DefaultEnvoyGatewayClass string

	GatewayClasses []gwapiv1.GatewayClass
	Parameters     []v1alpha1.InferenceGatewayParameters
	Gateways       []gwapiv1.Gateway
	HTTPRoutes     []gwapiv1.HTTPRoute
	Pools          []giev1.InferencePool
	Grants         []gwapiv1beta1.ReferenceGrant
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

// Gateway returns the Gateway nn, or nil.
func (s *Snapshot) Gateway(nn types.NamespacedName) *gwapiv1.Gateway {
	for i := range s.Gateways {
		g := &s.Gateways[i]
		if g.Namespace == nn.Namespace && g.Name == nn.Name {
			return g
		}
	}
	return nil
}

// OurGateway tells whether nn is a Gateway of one of the operator's classes.
func (s *Snapshot) OurGateway(nn types.NamespacedName) bool {
	g := s.Gateway(nn)
	return g != nil && s.OurClass(string(g.Spec.GatewayClassName))
}

// OnOurGateways tells whether a route has at least one parentRef to a Gateway of ours.
func (s *Snapshot) OnOurGateways(route *gwapiv1.HTTPRoute) bool {
	for _, gw := range ParentGateways(route) {
		if s.OurGateway(gw) {
			return true
		}
	}
	return false
}

// PoolRefPermitted tells whether route may reference the pool pool (same namespace, or a
// ReferenceGrant in the pool's namespace allows HTTPRoutes of the route's namespace).
func (s *Snapshot) PoolRefPermitted(route *gwapiv1.HTTPRoute, pool types.NamespacedName) bool {
	return ReferencePermitted(s.Grants, gwapiv1.GroupName, "HTTPRoute", route.Namespace,
		InferenceGroup, InferencePoolKind, pool.Namespace, pool.Name)
}

// RoutesUsingPool lists the routes on our Gateways whose rules reference pool with permission.
func (s *Snapshot) RoutesUsingPool(pool types.NamespacedName) []*gwapiv1.HTTPRoute {
	var out []*gwapiv1.HTTPRoute
	for i := range s.HTTPRoutes {
		r := &s.HTTPRoutes[i]
		if !s.OnOurGateways(r) || !s.PoolRefPermitted(r, pool) {
			continue
		}
		for _, ref := range PoolRefs(r) {
			if ref == pool {
				out = append(out, r)
				break
			}
		}
	}
	return out
}
