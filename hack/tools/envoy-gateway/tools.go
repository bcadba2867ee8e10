//go:build tools

// Package tools pins the Envoy Gateway controller that the system tests run against.
package tools

import _ "github.com/envoyproxy/gateway/cmd/envoy-gateway"
