package scale

import (
	"maps"
	"slices"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// Translating the whole snapshot costs seconds at thousands of pools (translate.Translate scans
// every route, Service and EndpointSlice for each pool), and during the edit and the increment
// the harness would spend them while the operator works, on the same two cores. So those phases
// translate only the pools they touch, with what those reference and the shared objects, and
// merge the result into the previous expectation; once the operator is done, verify translates
// everything again and checks the cluster against it, so a translation whose pools depend on
// each other fails the run rather than fooling it. Lookups go through indexes: this must stay
// linear.

// With returns e updated for objs, the inputs just created or changed.
func (e *Expected) With(objs []client.Object) (*Expected, error) {
	base := e.snap
	all := newIndexed(&translate.Snapshot{
		DefaultEnvoyGatewayClass: base.DefaultEnvoyGatewayClass, ClusterDomain: base.ClusterDomain,
		GatewayClasses: base.GatewayClasses, Parameters: base.Parameters, Grants: base.Grants, Namespaces: base.Namespaces,
		Gateways: slices.Clone(base.Gateways), HTTPRoutes: slices.Clone(base.HTTPRoutes), Pools: slices.Clone(base.Pools),
		Services: slices.Clone(base.Services), EndpointSlices: slices.Clone(base.EndpointSlices),
		SecurityPolicies: slices.Clone(base.SecurityPolicies), BackendTrafficPolicies: slices.Clone(base.BackendTrafficPolicies),
		ClientTrafficPolicies: slices.Clone(base.ClientTrafficPolicies), EnvoyExtensionPolicies: slices.Clone(base.EnvoyExtensionPolicies),
	})
	// Any policy of the user's may target anything: the part gets them all, and the generated
	// ones but the pools' (thousands, which build adds for the part's own pools).
	part := newIndexed(&translate.Snapshot{
		DefaultEnvoyGatewayClass: base.DefaultEnvoyGatewayClass, ClusterDomain: base.ClusterDomain,
		GatewayClasses: base.GatewayClasses, Parameters: base.Parameters, Grants: base.Grants, Namespaces: base.Namespaces,
		Gateways: slices.Clone(base.Gateways), SecurityPolicies: slices.Clone(base.SecurityPolicies),
		ClientTrafficPolicies:  slices.Clone(base.ClientTrafficPolicies),
		BackendTrafficPolicies: users(base.BackendTrafficPolicies), EnvoyExtensionPolicies: users(base.EnvoyExtensionPolicies),
	})
	for _, obj := range objs {
		all.put(obj)
		part.put(obj)
	}
	part.addReferenced(all)
	p, err := build(part.snap)
	if err != nil {
		return nil, err
	}
	// The generated objects, as build added them.
	for _, obj := range p.objects {
		generated := obj.DeepCopyObject().(client.Object)
		if err := setDesiredHash(generated); err != nil {
			return nil, err
		}
		all.putGenerated(generated)
	}
	return e.merge(p, all.snap), nil
}

// indexed is a snapshot with its inputs indexed by name, and by what references them.
type indexed struct {
	snap                              *translate.Snapshot
	gateways, routes, pools, services map[types.NamespacedName]int
	slices                            map[types.NamespacedName]int
	btps, eeps, ctps, security        map[types.NamespacedName]int
	routesOfPool, slicesOfService     map[types.NamespacedName][]int
}

func newIndexed(s *translate.Snapshot) *indexed {
	x := &indexed{snap: s, gateways: keys(s.Gateways), routes: keys(s.HTTPRoutes), pools: keys(s.Pools),
		services: keys(s.Services), slices: keys(s.EndpointSlices),
		btps: keys(s.BackendTrafficPolicies), eeps: keys(s.EnvoyExtensionPolicies),
		ctps: keys(s.ClientTrafficPolicies), security: keys(s.SecurityPolicies),
		routesOfPool: map[types.NamespacedName][]int{}, slicesOfService: map[types.NamespacedName][]int{}}
	for i := range s.HTTPRoutes {
		x.indexRoute(i)
	}
	for i := range s.EndpointSlices {
		x.indexSlice(i)
	}
	return x
}

func (x *indexed) indexRoute(i int) {
	for _, pool := range translate.PoolRefs(&x.snap.HTTPRoutes[i]) {
		x.routesOfPool[pool] = append(x.routesOfPool[pool], i)
	}
}

func (x *indexed) indexSlice(i int) {
	sl := &x.snap.EndpointSlices[i]
	svc := types.NamespacedName{Namespace: sl.Namespace, Name: sl.Labels[discoveryv1.LabelServiceName]}
	x.slicesOfService[svc] = append(x.slicesOfService[svc], i)
}

// putGenerated puts a generated object of a kind the snapshot holds (Gateways, HTTPRoutes,
// policies) into it, in place of its previous version.
func (x *indexed) putGenerated(obj client.Object) {
	switch o := obj.(type) {
	case *egv1a1.BackendTrafficPolicy:
		x.snap.BackendTrafficPolicies, _ = upsert(x.snap.BackendTrafficPolicies, x.btps, *o)
	case *egv1a1.EnvoyExtensionPolicy:
		x.snap.EnvoyExtensionPolicies, _ = upsert(x.snap.EnvoyExtensionPolicies, x.eeps, *o)
	case *egv1a1.ClientTrafficPolicy:
		x.snap.ClientTrafficPolicies, _ = upsert(x.snap.ClientTrafficPolicies, x.ctps, *o)
	case *egv1a1.SecurityPolicy:
		x.snap.SecurityPolicies, _ = upsert(x.snap.SecurityPolicies, x.security, *o)
	case *gwapiv1.Gateway, *gwapiv1.HTTPRoute:
		x.put(obj)
	}
}

// put puts an input object into the snapshot, in place of its previous version.
func (x *indexed) put(obj client.Object) {
	switch o := obj.(type) {
	case *gwapiv1.Gateway:
		x.snap.Gateways, _ = upsert(x.snap.Gateways, x.gateways, *o)
	case *gwapiv1.HTTPRoute:
		var i int
		if x.snap.HTTPRoutes, i = upsert(x.snap.HTTPRoutes, x.routes, *o); i >= 0 {
			x.indexRoute(i)
		}
	case *giev1.InferencePool:
		x.snap.Pools, _ = upsert(x.snap.Pools, x.pools, *o)
	case *corev1.Service:
		x.snap.Services, _ = upsert(x.snap.Services, x.services, *o)
	case *discoveryv1.EndpointSlice:
		var i int
		if x.snap.EndpointSlices, i = upsert(x.snap.EndpointSlices, x.slices, *o); i >= 0 {
			x.indexSlice(i)
		}
	}
}

// keys indexes items by name.
func keys[T any, P interface {
	*T
	client.Object
}](items []T) map[types.NamespacedName]int {
	out := make(map[types.NamespacedName]int, len(items))
	for i := range items {
		out[client.ObjectKeyFromObject(P(&items[i]))] = i
	}
	return out
}

// users returns the items not generated by the operator.
func users[T any, P interface {
	*T
	client.Object
}](items []T) []T {
	var out []T
	for i := range items {
		if P(&items[i]).GetLabels()[translate.LabelManagedBy] != translate.ManagedByValue {
			out = append(out, items[i])
		}
	}
	return out
}

// upsert replaces the item named as obj, or appends obj; it returns the index of an appended
// item, else -1. (The inputs of a run never change what they reference, so the reference
// indexes only grow.)
func upsert[T any, P interface {
	*T
	client.Object
}](items []T, at map[types.NamespacedName]int, obj T) ([]T, int) {
	key := client.ObjectKeyFromObject(P(&obj))
	if i, ok := at[key]; ok {
		items[i] = obj
		return items, -1
	}
	at[key] = len(items)
	return append(items, obj), len(items)
}

// addReferenced completes x from all with what its pools and routes reference or are
// referenced by: the pools its routes use, the routes using its pools (and their generated
// routes), and the pools' endpoint pickers with their EndpointSlices.
func (x *indexed) addReferenced(all *indexed) {
	for i := range x.snap.HTTPRoutes {
		for _, nn := range translate.PoolRefs(&x.snap.HTTPRoutes[i]) {
			if j, ok := all.pools[nn]; ok {
				if _, have := x.pools[nn]; !have {
					x.put(&all.snap.Pools[j])
				}
			}
		}
	}
	for i := 0; i < len(x.snap.Pools); i++ {
		pool := client.ObjectKeyFromObject(&x.snap.Pools[i])
		for _, j := range all.routesOfPool[pool] {
			r := &all.snap.HTTPRoutes[j]
			for _, nn := range []types.NamespacedName{client.ObjectKeyFromObject(r), {Namespace: r.Namespace, Name: translate.GeneratedRouteName(r.Name)}} {
				if k, ok := all.routes[nn]; ok {
					x.put(&all.snap.HTTPRoutes[k])
				}
			}
		}
		svc, ok := translate.EPPServiceKey(&x.snap.Pools[i])
		if !ok {
			continue
		}
		if j, ok := all.services[svc]; ok {
			x.put(&all.snap.Services[j])
		}
		for _, j := range all.slicesOfService[svc] {
			x.put(&all.snap.EndpointSlices[j])
		}
	}
}

// merge returns e with the items of the pools and shared objects that p translated replaced by
// p's; snap is the merged snapshot.
func (e *Expected) merge(p *Expected, snap *translate.Snapshot) *Expected {
	out := &Expected{
		result: translate.Result{
			GatewayClassStatuses: maps.Clone(e.result.GatewayClassStatuses),
			GatewayStatuses:      maps.Clone(e.result.GatewayStatuses),
			RouteParents:         maps.Clone(e.result.RouteParents),
			PoolParents:          maps.Clone(e.result.PoolParents),
		},
		objects: maps.Clone(e.objects), applied: maps.Clone(e.applied), users: maps.Clone(e.users), snap: snap,
		fresh: p.Items,
	}
	replaced := map[int]bool{}
	for _, it := range p.Items {
		replaced[poolIndex(it, p)] = true
	}
	for _, it := range e.Items {
		if !replaced[poolIndex(it, e)] {
			out.Items = append(out.Items, it)
		}
	}
	out.Items = append(out.Items, p.Items...)
	maps.Copy(out.result.GatewayClassStatuses, p.result.GatewayClassStatuses)
	maps.Copy(out.result.GatewayStatuses, p.result.GatewayStatuses)
	maps.Copy(out.result.RouteParents, p.result.RouteParents)
	maps.Copy(out.result.PoolParents, p.result.PoolParents)
	maps.Copy(out.objects, p.objects)
	maps.Copy(out.applied, p.applied)
	maps.Copy(out.users, p.users)
	return out
}
