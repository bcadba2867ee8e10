//go:build benche2e

// Package benche2e is make bench-e2e: the end-to-end scale benchmark (issue 21). For each N it
// serves N InferencePools both ways on the system-test cluster (test/cluster) with the real
// Envoy Gateway (test/envoygateway), each way on a fresh cluster so that neither pays for the
// other's objects in Envoy Gateway's translation or memory:
//
//   - hand-written: per pool a Service of its pods, an HTTPRoute rule with timeouts, a
//     BackendTrafficPolicy with endpointOverride and an EnvoyExtensionPolicy calling its
//     endpoint picker, plus one ClientTrafficPolicy removing the destination header;
//   - through the operator: per pool an InferencePool and an HTTPRoute to it; the operator (its
//     binary, as its own process, with its RBAC) writes the rest.
//
// Pods (kwok), the endpoint pickers' Services and the Gateway exist and are ready before the
// clock starts; then every per-pool object is written at once and the harness times: every user
// object with our status (operator only), every object Envoy Gateway judges accepted, and every
// pool's route in the xDS Envoy Gateway serves with its endpoint, its ext_proc filter enabled
// and override_host on its cluster (read over a kept-open ADS stream, test/xds). It also
// counts the API writes by user and resource (audit log), Envoy Gateway's and the operator's
// CPU and peak memory, the xDS size per pool, and the time from one pool's new target port to
// that port in xDS. The floor (floor.go) is one sequential raw writer doing the operator path's
// writes on an API server of its own (test/scale), plus Envoy Gateway's own time for the
// hand-written set. The floor under Envoy Gateway (flooreg.go, the way "raw writer with Envoy
// Gateway") makes the same writes on the operator way's cluster, Envoy Gateway running and no
// operator, and is timed like the ways: what the writes cost on an API server that Envoy
// Gateway loads, apart from the operator's own path.
//
// See docs/performance.md#end-to-end.
package benche2e
