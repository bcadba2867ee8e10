// Pins Prometheus Operator for its CRDs only (example/prometheus-operator-crd): test/helm and
// test/alerts install the ServiceMonitor and PrometheusRule CRDs from this module's directory in the
// module cache (`go mod download -json` here, checked against go.sum). No Go code imports it, so
// `go mod tidy` would drop the requirement: change the version with
// `go mod edit -require=github.com/prometheus-operator/prometheus-operator@vX && go mod download github.com/prometheus-operator/prometheus-operator`.
module github.com/inferencepool-operator/inferencepool-operator/hack/tools/prometheus-operator

go 1.26.7

require github.com/prometheus-operator/prometheus-operator v0.85.0
