//go:build tools

// Package tools pins etcd, whose server module's root package is its main.
package tools

import _ "go.etcd.io/etcd/server/v3"
