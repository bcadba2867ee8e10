//go:build bench

package bench

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// Translating the whole snapshot costs seconds at thousands of pools (translate.Translate scans
// every route, Service and EndpointSlice for each pool), and during the increment and the edit
// the harness would spend them while the operator works, on the same two cores. So those phases
// translate only the pools they touch, with what those reference and the shared objects, and
// merge the result into the previous expectation; once the operator is done, verify translates
// everything again and checks the cluster against it, so a translation whose pools depend on
// each other fails the run rather than fooling it.

// with returns e updated for objs, the inputs just created or changed.
func (e *expected) with(objs []client.Object) (*expected, error) {
	base := e.snap
	merged := &translate.Snapshot{
		DefaultEnvoyGatewayClass: base.DefaultEnvoyGatewayClass, ClusterDomain: base.ClusterDomain,
		GatewayClasses: base.GatewayClasses, Parameters: base.Parameters, Grants: base.Grants,
		Gateways: slices.Clone(base.Gateways), HTTPRoutes: slices.Clone(base.HTTPRoutes), Pools: slices.Clone(base.Pools),
		Services: slices.Clone(base.Services), EndpointSlices: slices.Clone(base.EndpointSlices),
	}
	part := &translate.Snapshot{
		DefaultEnvoyGatewayClass: base.DefaultEnvoyGatewayClass, ClusterDomain: base.ClusterDomain,
		GatewayClasses: base.GatewayClasses, Parameters: base.Parameters, Grants: base.Grants,
		Gateways: slices.Clone(base.Gateways),
	}
	for _, obj := range objs {
		addInput(merged, obj)
		addInput(part, obj)
	}
	addReferenced(part, merged)
	p, err := build(part)
	if err != nil {
		return nil, err
	}
	for _, g := range p.snap.Gateways {
		merged.Gateways = replaceOrAdd(merged.Gateways, g)
	}
	for _, r := range p.snap.HTTPRoutes {
		merged.HTTPRoutes = replaceOrAdd(merged.HTTPRoutes, r)
	}
	return e.merge(p, merged), nil
}

// addInput puts an input object into s, in place of its previous version.
func addInput(s *translate.Snapshot, obj client.Object) {
	switch o := obj.(type) {
	case *giev1.InferencePool:
		s.Pools = replaceOrAdd(s.Pools, *o)
	case *gwapiv1.HTTPRoute:
		s.HTTPRoutes = replaceOrAdd(s.HTTPRoutes, *o)
	case *corev1.Service:
		s.Services = replaceOrAdd(s.Services, *o)
	case *discoveryv1.EndpointSlice:
		s.EndpointSlices = replaceOrAdd(s.EndpointSlices, *o)
	}
}

// addReferenced completes part from all with what its pools and routes reference or are
// referenced by: the routes using its pools (and their generated routes), the pools its routes
// use, and the pools' endpoint pickers with their EndpointSlices.
func addReferenced(part, all *translate.Snapshot) {
	for i := range part.HTTPRoutes {
		for _, nn := range translate.PoolRefs(&part.HTTPRoutes[i]) {
			if part.Pool(nn) == nil {
				if p := all.Pool(nn); p != nil {
					part.Pools = append(part.Pools, *p)
				}
			}
		}
	}
	for i := range part.Pools {
		pool := types.NamespacedName{Namespace: part.Pools[i].Namespace, Name: part.Pools[i].Name}
		for _, r := range all.RoutesUsingPool(pool) {
			for _, nn := range []types.NamespacedName{client.ObjectKeyFromObject(r), {Namespace: r.Namespace, Name: translate.GeneratedRouteName(r.Name)}} {
				if part.HTTPRoute(nn) == nil {
					if route := all.HTTPRoute(nn); route != nil {
						part.HTTPRoutes = append(part.HTTPRoutes, *route)
					}
				}
			}
		}
		svc, ok := translate.EPPServiceKey(&part.Pools[i])
		if !ok {
			continue
		}
		if part.Service(svc) == nil {
			if s := all.Service(svc); s != nil {
				part.Services = append(part.Services, *s)
			}
		}
		for _, sl := range all.EndpointSlices {
			if sl.Namespace == svc.Namespace && sl.Labels[discoveryv1.LabelServiceName] == svc.Name {
				part.EndpointSlices = replaceOrAdd(part.EndpointSlices, sl)
			}
		}
	}
}

// merge returns e with the items of the pools and shared objects that p translated replaced by
// p's; snap is the merged snapshot.
func (e *expected) merge(p *expected, snap *translate.Snapshot) *expected {
	out := &expected{
		result: translate.Result{
			GatewayClassStatuses: maps.Clone(e.result.GatewayClassStatuses),
			GatewayStatuses:      maps.Clone(e.result.GatewayStatuses),
			RouteParents:         maps.Clone(e.result.RouteParents),
			PoolParents:          maps.Clone(e.result.PoolParents),
		},
		objects: maps.Clone(e.objects), applied: maps.Clone(e.applied), users: maps.Clone(e.users), snap: snap,
	}
	replaced := map[int]bool{}
	for _, it := range p.items {
		replaced[poolIndex(it, p)] = true
	}
	for _, it := range e.items {
		if !replaced[poolIndex(it, e)] {
			out.items = append(out.items, it)
		}
	}
	out.items = append(out.items, p.items...)
	maps.Copy(out.result.GatewayClassStatuses, p.result.GatewayClassStatuses)
	maps.Copy(out.result.GatewayStatuses, p.result.GatewayStatuses)
	maps.Copy(out.result.RouteParents, p.result.RouteParents)
	maps.Copy(out.result.PoolParents, p.result.PoolParents)
	maps.Copy(out.objects, p.objects)
	maps.Copy(out.applied, p.applied)
	maps.Copy(out.users, p.users)
	return out
}
