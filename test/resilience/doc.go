//go:build resilience

// Package resilience is the operator's failure-mode system tests (make test-resilience;
// docs/system-tests.md, docs/operations.md#failure-modes): the operator's binary, built from
// ./cmd and run as its own process with the operator's ClusterRole (config/rbac/role.yaml) and
// leader-election Role, against etcd and a kube-apiserver built from source (test/cluster, API
// server only), while it converges a few hundred pools (test/scale's inputs):
//
//   - TestAPIServerOutage: the API server is stopped for 30 s part-way through convergence and
//     started again on the same port, certificates and etcd; with leader election (as deployed)
//     and without;
//   - TestCrash: kill -9 part-way through, inputs deleted and changed while it is down, restart;
//   - TestFailover: two replicas with leader election, the leader killed with kill -9 and an
//     input changed at once: the other replica takes over and converges within the lease.
//
// A supervisor restarts the operator whenever it exits, with the kubelet's back-off, as its
// Deployment would, and counts the restarts. The API server is the source of truth: the tests
// wait with informers until every object and status the translation (translate.Translate)
// expects is there, then list everything from the API server and require exactly that: no
// object missing, stale, stray or duplicated. The API server's audit log tells who wrote what.
//
// Every file builds only with the resilience tag: the package is not part of go test ./....
package resilience
