package translate

import (
	"fmt"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
)

// endpointPicker is a pool's resolved endpointPickerRef.
type endpointPicker struct {
	ref *giev1.EndpointPickerRef
	// service is the EPP's Service; nil when the ref is unusable (see problem).
	service *corev1.Service
	port    int32
	// problem says why the ref is unusable (InvalidExtensionRef), or is empty.
	problem string
	// ready tells whether the EPP Service has at least one ready endpoint.
	ready bool
}

// EPPServiceKey is the Service a pool's endpointPickerRef names, when it names one (any kind
// but Service yields ok=false).
func EPPServiceKey(pool *giev1.InferencePool) (types.NamespacedName, bool) {
	ref := pool.Spec.EndpointPickerRef
	if ref == nil {
		return types.NamespacedName{}, false
	}
	if (ref.Group != nil && *ref.Group != "") || (ref.Kind != "" && ref.Kind != "Service") {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: pool.Namespace, Name: string(ref.Name)}, true
}

func (e endpointPicker) failOpen() bool {
	return e.ref != nil && e.ref.FailureMode == giev1.EndpointPickerFailOpen
}

// resolveEndpointPicker checks a pool's endpointPickerRef against the Services and
// EndpointSlices of the snapshot.
func resolveEndpointPicker(s *Snapshot, pool *giev1.InferencePool) endpointPicker {
	e := endpointPicker{ref: pool.Spec.EndpointPickerRef}
	if e.ref == nil {
		return e
	}
	if e.ref.Port != nil {
		e.port = int32(e.ref.Port.Number)
	}
	key, ok := EPPServiceKey(pool)
	if !ok {
		group := ""
		if e.ref.Group != nil {
			group = string(*e.ref.Group)
		}
		e.problem = fmt.Sprintf("endpointPickerRef must name a core Service, not %s.%s %q", e.ref.Kind, group, e.ref.Name)
		return e
	}
	svc := s.Service(key)
	switch {
	case svc == nil:
		e.problem = fmt.Sprintf("endpoint picker Service %s not found", key)
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		e.problem = fmt.Sprintf("endpoint picker Service %s is of type ExternalName, which is not supported", key)
	case e.ref.Port == nil:
		e.problem = "endpointPickerRef.port is required"
	case !servicePortExists(svc, e.port):
		e.problem = fmt.Sprintf("endpoint picker Service %s has no port %d", key, e.port)
	default:
		e.service = svc
		e.ready = serviceHasReadyEndpoint(s.EndpointSlices, key)
	}
	return e
}

func servicePortExists(svc *corev1.Service, port int32) bool {
	for _, p := range svc.Spec.Ports {
		if p.Port == port {
			return true
		}
	}
	return false
}

// serviceHasReadyEndpoint tells whether any EndpointSlice of the Service lists a ready endpoint.
func serviceHasReadyEndpoint(slices []discoveryv1.EndpointSlice, svc types.NamespacedName) bool {
	_, ready := ServiceEndpoints(slices, svc)
	return ready > 0
}

// ServiceEndpoints counts the EndpointSlices of the Service among slices and the ready
// endpoints they list (a nil ready condition counts as ready, as the discovery API specifies).
func ServiceEndpoints(slices []discoveryv1.EndpointSlice, svc types.NamespacedName) (sliceCount, ready int) {
	for i := range slices {
		sl := &slices[i]
		if sl.Namespace != svc.Namespace || sl.Labels[discoveryv1.LabelServiceName] != svc.Name {
			continue
		}
		sliceCount++
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				ready++
			}
		}
	}
	return sliceCount, ready
}

// EPPBackendName is the name of the EG Backend generated for a pool's EPP (TLS mode
// InsecureSkipVerify).
func EPPBackendName(poolName string) string { return DNS1035Name("ipool", poolName, "epp") }

// EPPTLSPolicyName is the name of the BackendTLSPolicy generated for a pool's EPP (TLS mode Verify).
func EPPTLSPolicyName(poolName string) string { return DNS1035Name("ipool", poolName, "epp-tls") }

// eppBackendRef is the ext_proc backendRef, from a policy in fromNamespace, that reaches the
// pool's EPP in TLS mode mode. An unusable EPP becomes a ref to a Service that cannot exist, so
// with failure mode FailClose Envoy Gateway answers 5xx instead of skipping the picker.
func eppBackendRef(pool *giev1.InferencePool, e endpointPicker, mode v1alpha1.TLSMode, fromNamespace string) gwapiv1.BackendObjectReference {
	var ns *gwapiv1.Namespace
	if fromNamespace != pool.Namespace {
		n := gwapiv1.Namespace(pool.Namespace)
		ns = &n
	}
	port := gwapiv1.PortNumber(e.port)
	if port == 0 {
		port = 9002 // GIE's conventional EPP port; only used for an unusable ref
	}
	core, svcKind := gwapiv1.Group(""), gwapiv1.Kind("Service")
	if e.service == nil {
		return gwapiv1.BackendObjectReference{Group: &core, Kind: &svcKind, Name: gwapiv1.ObjectName("unresolved-endpointpicker." + LabelValue(string(e.ref.Name))), Port: &port}
	}
	if mode == v1alpha1.TLSModeInsecureSkipVerify {
		g, k := gwapiv1.Group("gateway.envoyproxy.io"), gwapiv1.Kind("Backend")
		return gwapiv1.BackendObjectReference{Group: &g, Kind: &k, Name: gwapiv1.ObjectName(EPPBackendName(pool.Name)), Namespace: ns, Port: &port}
	}
	return gwapiv1.BackendObjectReference{Group: &core, Kind: &svcKind, Name: gwapiv1.ObjectName(e.service.Name), Namespace: ns, Port: &port}
}

// eppHealthSettings are the ext_proc cluster's health checks (design.md §19; nil when hc is nil): an active
// gRPC check of each EPP replica (Envoy's HealthCheck.grpc_health_check), so a replica that
// answers NOT_SERVING (an EPP on standby) or not at all gets no new stream, and outlier
// detection, which takes out a replica whose streams fail before the next check does. Unless
// the class sets one, Envoy keeps its default panic threshold (50%,
// Cluster.CommonLbConfig.healthy_panic_threshold): when fewer than half the replicas pass, it
// uses them all, so an EPP that serves no health service is still called.
func eppHealthSettings(hc *EPPHealthCheck) *egv1a1.ClusterSettings {
	if hc == nil {
		return nil
	}
	active := &egv1a1.ActiveHealthCheck{
		Type:               egv1a1.ActiveHealthCheckerTypeGRPC,
		GRPC:               &egv1a1.GRPCActiveHealthChecker{Service: ptrTo(hc.ServiceName)},
		Interval:           ptrTo(gwapiv1.Duration(hc.Interval)),
		Timeout:            ptrTo(gwapiv1.Duration(hc.Timeout)),
		UnhealthyThreshold: ptrTo(uint32(hc.UnhealthyThreshold)),
		HealthyThreshold:   ptrTo(uint32(hc.HealthyThreshold)),
	}
	if hc.ServiceName == "" {
		active.GRPC.Service = nil // the whole server's health
	}
	if hc.Port != nil {
		active.Overrides = &egv1a1.HealthCheckOverrides{Port: *hc.Port}
	}
	var panicThreshold *uint32
	if hc.PanicThreshold != nil {
		panicThreshold = ptrTo(uint32(*hc.PanicThreshold))
	}
	return &egv1a1.ClusterSettings{HealthCheck: &egv1a1.HealthCheck{
		PanicThreshold: panicThreshold,
		Active:         active,
		// Every field set: Envoy Gateway reads them without defaults outside the API server.
		// Local-origin failures (connection refused, reset, timeout) are counted apart from
		// the EPP's own errors; three in a row take a replica out for 10 s and more, never
		// more than half of them.
		Passive: &egv1a1.PassiveHealthCheck{
			SplitExternalLocalOriginErrors: ptrTo(true),
			ConsecutiveLocalOriginFailures: ptrTo(uint32(3)),
			ConsecutiveGatewayErrors:       ptrTo(uint32(3)),
			Consecutive5xxErrors:           ptrTo(uint32(3)),
			Interval:                       ptrTo(gwapiv1.Duration(hc.Interval)),
			BaseEjectionTime:               ptrTo(gwapiv1.Duration("10s")),
			MaxEjectionPercent:             ptrTo(int32(50)),
		},
	}}
}
