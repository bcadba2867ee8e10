// Package alerts tests the operator's alerts (config/prometheus/prometheus_rule.yaml, from which
// the chart's PrometheusRule is generated): every rule is complete (a valid expression and
// duration, a severity, a summary, a description and a runbook section in docs/operations.md),
// selects the job the ServiceMonitors give the operator's metrics, and uses only metrics the
// operator really serves: the operator's manager runs on a source-built API server with the
// samples of config/samples (their pool failing open), and its /metrics endpoint is scraped.
package alerts
