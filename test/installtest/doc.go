// Package installtest holds the assertions shared by the tests of the three install paths: the
// kustomize configuration and the OLM bundle (test/bundle) and the Helm chart (test/helm). Each
// path must run the same hardened Deployment with the same permissions, so each is checked by the
// same code: reading manifests, the operator's RBAC as config/rbac defines it, the Deployment's
// hardening, and whether a Deployment's arguments are flags the manager defines.
package installtest

import "github.com/inferencepool-operator/inferencepool-operator/test/envtest"

// Namespace is the namespace config/default installs into; the chart tests install there too.
const Namespace = "inferencepool-operator-system"

// RepoRoot is the directory holding go.mod.
func RepoRoot() string { return envtest.RepoRoot() }
