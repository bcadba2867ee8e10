//go:build benche2e

package benche2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config are the knobs (make bench-e2e passes them as environment variables).
type Config struct {
	// Pools are the values of N, run in order (BENCH_E2E_N, default "100,300,1000").
	Pools []int
	// Dir receives the audit logs, the operator's and Envoy Gateway's logs and report.md
	// (BENCH_E2E_DIR).
	Dir string
	// Writers is the number of parallel writers that write the per-pool objects at once (both
	// ways alike; BENCH_E2E_WRITERS, default 8).
	Writers int
	// GoMemoryLimit is the operator's --go-memory-limit (BENCH_E2E_GO_MEMORY_LIMIT; default
	// 115Mi, what auto gives under the manifests' 256Mi limit, as make bench).
	GoMemoryLimit string
	// Profile saves a CPU profile of the operator (its first ProfileSeconds) per N
	// (BENCH_E2E_PROFILE=1).
	Profile        bool
	ProfileSeconds int
	// OperatorArgs are more flags for the operator (BENCH_E2E_OPERATOR_ARGS, space-separated),
	// to measure a setting, e.g. --max-concurrent-reconciles=8.
	OperatorArgs []string
	// Matched adds a third way: the operator configured like the hand-written set (plaintext to
	// the endpoint picker, no health checks, no retries), to tell what the operator's defaults
	// cost from what its way of generating does (BENCH_E2E_MATCHED=1).
	Matched bool
	// FloorEGWriters is the number of raw writers of the floor under Envoy Gateway
	// (BENCH_E2E_FLOOR_EG_WRITERS, default 4, side by side, each a share of the pools: one
	// sequential writer is latency-bound on the loaded API server; 1 makes it one, as the quiet
	// floor's).
	FloorEGWriters int
}

// ConfigFromEnv reads the BENCH_E2E_* variables; dir is the default of BENCH_E2E_DIR.
func ConfigFromEnv(dir string) (Config, error) {
	c := Config{Pools: []int{100, 300, 1000}, Dir: dir, Writers: 8, GoMemoryLimit: "115Mi", ProfileSeconds: 30, FloorEGWriters: 4}
	if v := os.Getenv("BENCH_E2E_N"); v != "" {
		c.Pools = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return c, fmt.Errorf("BENCH_E2E_N=%q: want positive integers separated by commas", v)
			}
			c.Pools = append(c.Pools, n)
		}
	}
	if v := os.Getenv("BENCH_E2E_DIR"); v != "" {
		c.Dir = v
	}
	if v := os.Getenv("BENCH_E2E_WRITERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("BENCH_E2E_WRITERS=%q: want a positive integer", v)
		}
		c.Writers = n
	}
	if v, ok := os.LookupEnv("BENCH_E2E_GO_MEMORY_LIMIT"); ok {
		c.GoMemoryLimit = v
	}
	switch v := os.Getenv("BENCH_E2E_PROFILE"); v {
	case "", "0", "false":
	case "1", "true":
		c.Profile = true
	default:
		return c, fmt.Errorf("BENCH_E2E_PROFILE=%q: want 1 or 0", v)
	}
	if v := os.Getenv("BENCH_E2E_PROFILE_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("BENCH_E2E_PROFILE_SECONDS=%q: want a positive integer", v)
		}
		c.ProfileSeconds = n
	}
	if v := os.Getenv("BENCH_E2E_FLOOR_EG_WRITERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("BENCH_E2E_FLOOR_EG_WRITERS=%q: want a positive integer", v)
		}
		c.FloorEGWriters = n
	}
	c.OperatorArgs = strings.Fields(os.Getenv("BENCH_E2E_OPERATOR_ARGS"))
	switch v := os.Getenv("BENCH_E2E_MATCHED"); v {
	case "", "0", "false":
	case "1", "true":
		c.Matched = true
	default:
		return c, fmt.Errorf("BENCH_E2E_MATCHED=%q: want 1 or 0", v)
	}
	return c, nil
}

// phaseTimeout bounds a phase's convergence for n pools: generous, a failure rather than a hang.
func phaseTimeout(n int) time.Duration {
	return 2*time.Minute + time.Duration(n)*300*time.Millisecond
}
