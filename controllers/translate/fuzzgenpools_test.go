package translate_test

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// genPools makes pools (1 to 8 target ports, ports 1..65535, with and without an endpoint
// picker).
func (g *generator) genPools() {
	c := g.c
	for n := c.count(2, 8); n > 0; n-- {
		ns := g.namespace()
		name := uniqueName(c.subdomain, func(s string) bool { return slices.Contains(g.pools, types.NamespacedName{Namespace: ns, Name: s}) })
		if name == "" {
			continue
		}
		g.pools = append(g.pools, types.NamespacedName{Namespace: ns, Name: name})
		pool := giev1.InferencePool{ObjectMeta: g.meta(ns, name)}
		pool.Spec.Selector.MatchLabels = map[giev1.LabelKey]giev1.LabelValue{}
		for l := c.between(1, 3); l > 0; l-- {
			pool.Spec.Selector.MatchLabels[giev1.LabelKey(c.labelKey())] = giev1.LabelValue(c.labelValue())
		}
		// 1 to 8 distinct ports: the CRD refuses none and repeats.
		for p := c.count(2, 8); p > 0 || len(pool.Spec.TargetPorts) == 0; p-- {
			port := giev1.Port{Number: giev1.PortNumber(pick(c, 8000, 8001, 1, 65535, c.between(1, 65535)))}
			if slices.Contains(pool.Spec.TargetPorts, port) {
				continue
			}
			pool.Spec.TargetPorts = append(pool.Spec.TargetPorts, port)
		}
		if c.oneIn(4) {
			pool.Spec.AppProtocol = pick[giev1.AppProtocol](c, "http", "kubernetes.io/h2c")
		}
		if !c.oneIn(4) {
			pool.Spec.EndpointPickerRef = g.endpointPickerRef()
		}
		g.snap.Pools = append(g.snap.Pools, pool)
	}
}

// endpointPickerRef names a Service (present, absent, ExternalName, without the port it names:
// see genEPPServices), or a kind that is not one, with either failure mode.
func (g *generator) endpointPickerRef() *giev1.EndpointPickerRef {
	c := g.c
	ref := &giev1.EndpointPickerRef{Name: giev1.ObjectName(c.dns1035Label()), FailureMode: pick(c, giev1.EndpointPickerFailClose, giev1.EndpointPickerFailOpen, "")}
	ref.Port = &giev1.Port{Number: giev1.PortNumber(pick(c, 9002, 9003, 1, 65535))}
	if c.oneIn(8) {
		// Another kind, whose port is optional (for a Service the CRD requires it).
		ref.Group, ref.Kind = ptr.To(giev1.Group("example.com")), "Picker"
		if c.bool() {
			ref.Port = nil
		}
	}
	return ref
}

// genEPPServices adds, for some pools' pickers, their Service (sometimes ExternalName, or without
// the port) and EndpointSlices, ready or not.
func (g *generator) genEPPServices() {
	c := g.c
	for _, pool := range g.snap.Pools {
		ref := pool.Spec.EndpointPickerRef
		if ref == nil || c.oneIn(4) || g.service(pool.Namespace, string(ref.Name)) {
			continue
		}
		svc := corev1.Service{ObjectMeta: g.meta(pool.Namespace, string(ref.Name))}
		port := int32(9002)
		if ref.Port != nil {
			port = int32(ref.Port.Number)
		}
		if c.oneIn(8) {
			port = port%65535 + 1 // another port than the picker's
		}
		svc.Spec.Ports = []corev1.ServicePort{{Name: "grpc", Port: port}}
		if c.oneIn(8) {
			svc.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "epp.example.com"}
		}
		g.snap.Services = append(g.snap.Services, svc)
		for s := c.count(1, 3); s > 0; s-- {
			name := fmt.Sprintf("%s-%d", svc.Name, s)
			if slices.ContainsFunc(g.snap.EndpointSlices, func(o discoveryv1.EndpointSlice) bool { return o.Namespace == pool.Namespace && o.Name == name }) {
				continue
			}
			slice := discoveryv1.EndpointSlice{ObjectMeta: g.meta(pool.Namespace, name), AddressType: discoveryv1.AddressTypeIPv4}
			slice.Labels = map[string]string{discoveryv1.LabelServiceName: svc.Name}
			for e := c.count(1, 3); e > 0; e-- {
				slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.0.1"},
					Conditions: discoveryv1.EndpointConditions{Ready: pick(c, ptr.To(true), ptr.To(false), nil)}})
			}
			g.snap.EndpointSlices = append(g.snap.EndpointSlices, slice)
		}
	}
}

func (g *generator) service(namespace, name string) bool {
	for _, s := range g.snap.Services {
		if s.Namespace == namespace && s.Name == name {
			return true
		}
	}
	return false
}

// genShadowServiceSlices adds, for some pools, EndpointSlices of their shadow Services: none
// yet, the EndpointSlice controller's placeholder without endpoints, or endpoints ready or not.
// Last of the generators, so the inputs saved before it came build the same snapshots.
func (g *generator) genShadowServiceSlices() {
	c := g.c
	for _, pool := range g.snap.Pools {
		if c.bool() {
			continue
		}
		svc := translate.ShadowServiceName(pool.Name)
		for s := c.count(1, 2); s > 0; s-- {
			name := fmt.Sprintf("%s-%d", svc, s)
			if slices.ContainsFunc(g.snap.EndpointSlices, func(o discoveryv1.EndpointSlice) bool { return o.Namespace == pool.Namespace && o.Name == name }) {
				continue
			}
			slice := discoveryv1.EndpointSlice{ObjectMeta: g.meta(pool.Namespace, name), AddressType: discoveryv1.AddressTypeIPv4}
			slice.Labels = map[string]string{discoveryv1.LabelServiceName: svc}
			for e := c.intn(3); e > 0; e-- {
				slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.0.2"},
					Conditions: discoveryv1.EndpointConditions{Ready: pick(c, ptr.To(true), ptr.To(false), nil)}})
			}
			g.snap.EndpointSlices = append(g.snap.EndpointSlices, slice)
		}
	}
}
