package translate_test

import (
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// genClasses makes InferenceGatewayParameters, then one to three GatewayClasses of ours (valid,
// missing, foreign and namespaced parametersRefs) and up to two of other controllers.
func (g *generator) genClasses() {
	for n := g.c.count(2, 4); n > 0; n-- {
		name := uniqueName(g.c.subdomain, func(s string) bool { return slices.Contains(g.params, s) })
		if name == "" {
			continue
		}
		g.params = append(g.params, name)
		p := v1alpha1.InferenceGatewayParameters{ObjectMeta: g.meta("", name), Spec: g.parametersSpec()}
		p.Namespace = ""
		g.snap.Parameters = append(g.snap.Parameters, p)
	}
	ours := g.c.between(1, 3)
	all := ours + g.c.intn(3)
	for i := 0; i < all; i++ {
		// Rarely "eg", the default Envoy Gateway class, or one the parameters name: such a class
		// of ours makes every class using it as the Envoy Gateway class unusable.
		name := uniqueName(func() string { return pick(g.c, "inference", "inference", "inference", "eg", g.c.subdomain()) },
			func(s string) bool { return slices.Contains(g.classes, s) })
		if name == "" {
			continue
		}
		g.classes = append(g.classes, name)
		controller := translate.ControllerName
		if i >= ours {
			controller = pick(g.c, "gateway.envoyproxy.io/gatewayclass-controller", "example.com/other")
		}
		class := gwapiv1.GatewayClass{ObjectMeta: g.meta("", name), Spec: gwapiv1.GatewayClassSpec{ControllerName: gwapiv1.GatewayController(controller)}}
		class.Namespace = ""
		class.Spec.ParametersRef = g.parametersRef()
		g.snap.GatewayClasses = append(g.snap.GatewayClasses, class)
	}
}

// parametersRef is a class's reference: none, to existing parameters, to missing ones, of the
// wrong kind, or (wrongly) namespaced.
func (g *generator) parametersRef() *gwapiv1.ParametersReference {
	name := "missing"
	if len(g.params) > 0 {
		name = g.params[g.c.intn(len(g.params))]
	}
	ref := &gwapiv1.ParametersReference{Group: gwapiv1.Group(v1alpha1.GroupVersion.Group), Kind: v1alpha1.Kind, Name: name}
	switch g.c.intn(10) {
	case 0, 1, 2:
		return nil
	case 3:
		ref.Name = "missing"
	case 4:
		ref.Group, ref.Kind = "gateway.envoyproxy.io", "EnvoyProxy"
	case 5:
		ref.Namespace = ptr.To(gwapiv1.Namespace(g.c.dns1123Label()))
	}
	return ref
}

// parametersSpec covers every TLS mode, timeouts, fallback types and the header switch, each
// field possibly unset (its default applies).
func (g *generator) parametersSpec() v1alpha1.InferenceGatewayParametersSpec {
	c := g.c
	var spec v1alpha1.InferenceGatewayParametersSpec
	if c.bool() {
		spec.EnvoyGatewayClassName = pick(c, "eg", "envoy-gateway", long(253, 'e'))
		if c.oneIn(10) {
			spec.EnvoyGatewayClassName = "inference" // often one of ours: refused
		}
	}
	duration := func() v1alpha1.Duration { return pick[v1alpha1.Duration](c, "10s", "0s", "1h", "500ms", "99999h") }
	if c.bool() {
		spec.EndpointPicker = &v1alpha1.EndpointPickerSettings{MessageTimeout: maybe(c, duration())}
		switch c.intn(4) {
		case 0:
			spec.EndpointPicker.TLS = &v1alpha1.EndpointPickerTLS{Mode: pick(c, v1alpha1.TLSModeInsecureSkipVerify, v1alpha1.TLSModeDisabled, "")}
		case 1:
			tls := &v1alpha1.EndpointPickerTLS{Mode: v1alpha1.TLSModeVerify, Hostname: ptr.To(gwapiv1.PreciseHostname(pick(c, "epp.example.com", dotted(253, 'h'))))}
			for n := c.between(1, 8); n > 0; n-- {
				tls.CACertificateRefs = append(tls.CACertificateRefs, gwapiv1.LocalObjectReference{Kind: "ConfigMap", Name: gwapiv1.ObjectName(c.subdomain())})
			}
			spec.EndpointPicker.TLS = tls
		}
	}
	if c.bool() {
		spec.LoadBalancer = &v1alpha1.LoadBalancerSettings{FallbackType: pick(c, v1alpha1.FallbackRoundRobin, v1alpha1.FallbackRandom, v1alpha1.FallbackLeastRequest, "")}
	}
	if c.bool() {
		t := &v1alpha1.RouteTimeouts{Request: maybe(c, duration()), BackendRequest: maybe(c, duration()), StreamIdle: maybe(c, pick[v1alpha1.Duration](c, "1h", "5m", "1s"))}
		if t.Request != nil && t.BackendRequest != nil && *t.Request != "0s" && durationOf(*t.BackendRequest) > durationOf(*t.Request) {
			t.BackendRequest = nil // the CRD: backendRequest must not be longer than request
		}
		spec.RouteTimeouts = t
	}
	spec.StripClientDestinationHeader = maybe(c, c.bool())
	// Retries and the EPP health check follow from choices made above rather than new ones, so
	// the saved fuzz inputs keep generating the snapshots they were saved for.
	if epp := spec.EndpointPicker; epp != nil && epp.MessageTimeout != nil {
		switch *epp.MessageTimeout {
		case "0s":
			epp.HealthCheck = &v1alpha1.EndpointPickerHealthCheck{Enabled: ptr.To(false)}
		case "500ms":
			epp.HealthCheck = &v1alpha1.EndpointPickerHealthCheck{Port: ptr.To(int32(9003)), ServiceName: ptr.To("readiness"), Interval: ptr.To(v1alpha1.Duration("500ms")), UnhealthyThreshold: ptr.To(int32(10)), PanicThreshold: ptr.To(int32(0))}
		}
	}
	if t := spec.RouteTimeouts; t != nil && t.StreamIdle != nil {
		switch *t.StreamIdle {
		case "1s":
			spec.Retry = &v1alpha1.RetrySettings{NumRetries: ptr.To(int32(0))}
		case "5m":
			spec.Retry = &v1alpha1.RetrySettings{NumRetries: ptr.To(int32(5)), RequestBufferLimit: ptr.To("1Gi")}
		}
	}
	return spec
}

// genGateways makes Gateways (0 to 40: a pool's status lists at most 32 parents) of our classes
// mostly, with 1 to 64 listeners, HTTP or HTTPS, as Gateway API allows them (unique names; unique
// port, protocol and hostname).
func (g *generator) genGateways() {
	c := g.c
	for n := c.count(2, 40); n > 0; n-- {
		ns := g.namespace()
		name := uniqueName(c.subdomain, func(s string) bool { return g.gateway(types.NamespacedName{Namespace: ns, Name: s}) != nil })
		if name == "" {
			continue
		}
		// Mostly the first class (one of ours), else any class or a missing one.
		class := "missing-class"
		if len(g.classes) > 0 && !c.oneIn(8) {
			class = g.classes[0]
			if c.oneIn(3) {
				class = g.classes[c.intn(len(g.classes))]
			}
		}
		gw := gwapiv1.Gateway{ObjectMeta: g.meta(ns, name), Spec: gwapiv1.GatewaySpec{GatewayClassName: gwapiv1.ObjectName(class)}}
		gw.Labels = g.someLabels()
		var names, combos []string
		for l := c.count(2, 64); l > 0 || len(gw.Spec.Listeners) == 0; l-- {
			ln := uniqueName(c.sectionName, func(s string) bool { return slices.Contains(names, s) })
			if ln == "" {
				ln = fmt.Sprintf("listener-%d", len(names))
			}
			names = append(names, ln)
			listener := gwapiv1.Listener{Name: gwapiv1.SectionName(ln), Protocol: gwapiv1.HTTPProtocolType, Port: gwapiv1.PortNumber(pick(c, 80, 8080, 1, 65535))}
			if c.bool() {
				listener.Protocol = gwapiv1.HTTPSProtocolType
				listener.Port = 443
				listener.TLS = &gwapiv1.ListenerTLSConfig{CertificateRefs: []gwapiv1.SecretObjectReference{{Name: "cert"}}}
			}
			if c.bool() {
				listener.Hostname = ptr.To(gwapiv1.Hostname(pick(c, "*.example.com", "llm.example.com")))
			}
			if c.bool() {
				listener.AllowedRoutes = &gwapiv1.AllowedRoutes{Namespaces: &gwapiv1.RouteNamespaces{From: ptr.To(gwapiv1.NamespacesFromAll)}}
			}
			// Gateway API: one listener per port, protocol and hostname.
			combo := fmt.Sprintf("%d/%s/%s", listener.Port, listener.Protocol, ptr.Deref(listener.Hostname, ""))
			for slices.Contains(combos, combo) {
				listener.Port = 10000 + gwapiv1.PortNumber(len(combos))
				combo = fmt.Sprintf("%d/%s/%s", listener.Port, listener.Protocol, ptr.Deref(listener.Hostname, ""))
			}
			combos = append(combos, combo)
			gw.Spec.Listeners = append(gw.Spec.Listeners, listener)
		}
		g.snap.Gateways = append(g.snap.Gateways, gw)
	}
}

func durationOf(d v1alpha1.Duration) time.Duration {
	v, err := time.ParseDuration(string(d))
	if err != nil {
		panic(err)
	}
	return v
}
