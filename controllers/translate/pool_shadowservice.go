package translate

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
)

// ShadowServiceName is the name of the Service that stands for pool in Envoy Gateway's eyes.
func ShadowServiceName(poolName string) string {
	return DNS1035Name("ipool", poolName)
}

// ShadowServicePortName is the name of the shadow Service's port for a pool target port.
func ShadowServicePortName(port int32) string {
	return fmt.Sprintf("port-%d", port)
}

// ShadowService renders the headless Service whose EndpointSlices list a pool's pods, one port
// per target port (port = target port). Envoy Gateway builds the pool's cluster from those
// EndpointSlices, so its hosts are pod IP:port pairs: exactly what the endpoint picker names.
func ShadowService(pool *giev1.InferencePool) *corev1.Service {
	selector := make(map[string]string, len(pool.Spec.Selector.MatchLabels))
	for k, v := range pool.Spec.Selector.MatchLabels {
		selector[string(k)] = string(v)
	}
	var appProtocol *string
	if pool.Spec.AppProtocol != "" {
		p := string(pool.Spec.AppProtocol)
		appProtocol = &p
	}
	ports := make([]corev1.ServicePort, 0, len(pool.Spec.TargetPorts))
	for _, tp := range pool.Spec.TargetPorts {
		n := int32(tp.Number)
		ports = append(ports, corev1.ServicePort{
			Name:        ShadowServicePortName(n),
			Protocol:    corev1.ProtocolTCP,
			AppProtocol: appProtocol,
			Port:        n,
			TargetPort:  intstr.FromInt32(n),
		})
	}
	return &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(poolSource(pool), pool.Namespace, ShadowServiceName(pool.Name),
			controllerRef(giev1.GroupVersion.String(), InferencePoolKind, pool)),
		Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeClusterIP,
			ClusterIP: corev1.ClusterIPNone,
			Selector:  selector,
			Ports:     ports,
		},
	}
}
