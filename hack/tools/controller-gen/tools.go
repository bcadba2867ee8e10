//go:build tools

// Package tools pins controller-gen, which writes CRDs, RBAC and deepcopy code from markers.
package tools

import _ "sigs.k8s.io/controller-tools/cmd/controller-gen"
