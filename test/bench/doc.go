//go:build bench

// Package bench is the operator's scale benchmark (make bench; docs/performance.md). It starts
// kube-apiserver and etcd built from source (no controller-manager, no Envoy Gateway), writes N
// InferencePools with their endpoint pickers, EndpointSlices and HTTPRoutes behind one Gateway of
// the operator's class, and measures, in one run:
//
//   - cold start: the operator binary started as its own process after the inputs exist, until
//     every object and status that translate.Translate says it should write is there;
//   - the same objects and statuses written by one sequential writer without client-side rate
//     limit, on a second API server of the same kind holding the same inputs, and the ratio;
//   - the operator's writes per object and per status, and over a steady-state window, from the
//     API servers' audit logs;
//   - incremental convergence (10% more pools created while it runs) and one edit's propagation;
//   - the operator's peak RSS (VmHWM).
//
// The inputs, the expectation from the translation, the tracker, the operator's process and the
// audit-log counting live in test/scale, which the resilience tests share. Every file of this
// package builds only with the bench tag: the package is not part of go test ./....
package bench
