// Package scale holds what the harnesses that run the operator against many pools share: the
// scale benchmark (test/bench), the end-to-end benchmark (test/benche2e) and the resilience
// tests (test/resilience).
//
//   - the inputs: N InferencePools with their endpoint pickers' Services and EndpointSlices and
//     an HTTPRoute each, behind one Gateway of the operator's class (inputs.go), written fast by
//     parallel writers;
//   - what the operator must write for them, from the pure translation (translate.Translate) of
//     the inputs as listed from the API server (expected.go, partial.go), and the rule that
//     says whether an object or a status read back is what it must be (match.go);
//   - a tracker that watches every kind the operator writes and tells when everything expected
//     is there, and since when (tracker.go);
//   - the operator's binary built from ./cmd and run as its own process with the operator's RBAC
//     (operator.go, rbac.go), its metrics (metrics.go);
//   - the operator's writes read back from the API server's audit log (audit.go), and the same
//     writes done by one sequential writer, the benchmark's yardstick (rawwriter.go);
//   - a process's CPU time and peak memory from /proc (proc.go).
//
// It has no tests of its own: the packages that use it test it.
package scale
