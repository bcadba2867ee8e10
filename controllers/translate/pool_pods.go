package translate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
)

// Envoy Gateway builds a pool's cluster from the EndpointSlices of its shadow Service
// (design.md §2), which list the pods the pool's selector matches, ready or not. When none is
// ready, Envoy Gateway programs the pool's rules as a direct 503 ("no ready endpoints",
// internal/gatewayapi/route.go), and a rule that splits traffic with other backends answers 503
// for the pool's share. The reconciler reports each change between none and some as an event.

// PodReadiness is what the EndpointSlices of a pool's shadow Service say of its pods.
type PodReadiness int

const (
	// PodsUnknown: the pool is not served, or no EndpointSlice of its shadow Service exists
	// yet. The EndpointSlice controller writes one for every Service with a selector, a
	// placeholder without endpoints when no pod matches, so "none yet" means it has not seen
	// the Service: not evidence that no pod is ready.
	PodsUnknown PodReadiness = iota
	// PodsNotReady: the shadow Service's EndpointSlices list no ready endpoint.
	PodsNotReady
	// PodsReady: at least one is ready.
	PodsReady
)

// shadowServicePods reads the readiness of the pool's pods from the snapshot's EndpointSlices
// of its shadow Service.
func shadowServicePods(s *Snapshot, pool *giev1.InferencePool) PodReadiness {
	slices, ready := ServiceEndpoints(s.EndpointSlices, types.NamespacedName{Namespace: pool.Namespace, Name: ShadowServiceName(pool.Name)})
	switch {
	case ready > 0:
		return PodsReady
	case slices > 0:
		return PodsNotReady
	}
	return PodsUnknown
}

// PodReadinessEvent is the event that reports the pool's pods becoming r: a Warning
// NoReadyPods for PodsNotReady, a Normal ReadyPodsFound for PodsReady.
func PodReadinessEvent(pool *giev1.InferencePool, r PodReadiness) Event {
	svc := ShadowServiceName(pool.Name)
	if r == PodsReady {
		return Event{Type: "Normal", Reason: "ReadyPodsFound", Message: fmt.Sprintf(
			"A pod matching the selector %s is ready (Service %s/%s has a ready endpoint): requests routed to this pool reach its pods again",
			SelectorString(pool), pool.Namespace, svc)}
	}
	return Event{Type: "Warning", Reason: "NoReadyPods", Message: fmt.Sprintf(
		"No ready pod matches the selector %s on target ports %s (Service %s/%s has no ready endpoint): Envoy Gateway answers 503 for the requests routed to this pool until one is ready",
		SelectorString(pool), targetPortsString(pool), pool.Namespace, svc)}
}

// SelectorString writes the pool's selector as kubectl takes it: key=value pairs, sorted.
func SelectorString(pool *giev1.InferencePool) string {
	pairs := make([]string, 0, len(pool.Spec.Selector.MatchLabels))
	for k, v := range pool.Spec.Selector.MatchLabels {
		pairs = append(pairs, string(k)+"="+string(v))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

func targetPortsString(pool *giev1.InferencePool) string {
	ports := make([]string, len(pool.Spec.TargetPorts))
	for i, p := range pool.Spec.TargetPorts {
		ports[i] = strconv.Itoa(int(p.Number))
	}
	return strings.Join(ports, ", ")
}
