package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// failOpenActive is 1 while a pool with failure mode FailOpen is served without its endpoint
// picker (no ready EPP endpoint), else 0.
var failOpenActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "inferencepool_operator_failopen_active",
	Help: "1 while the InferencePool's endpoint picker is bypassed because it has no ready endpoint (failureMode FailOpen).",
}, []string{"namespace", "pool"})

func init() {
	metrics.Registry.MustRegister(failOpenActive)
}

func setFailOpenMetric(nn types.NamespacedName, active bool) {
	v := 0.0
	if active {
		v = 1
	}
	failOpenActive.WithLabelValues(nn.Namespace, nn.Name).Set(v)
}

func deleteFailOpenMetric(nn types.NamespacedName) {
	failOpenActive.DeleteLabelValues(nn.Namespace, nn.Name)
}
