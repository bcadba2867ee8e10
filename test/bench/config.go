//go:build bench

package bench

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Config are the benchmark's knobs (make bench passes them as environment variables).
type Config struct {
	// Pools is N, the number of InferencePools (BENCH_N, default 1000).
	Pools int
	// Steady is how long the converged operator is watched for writes (BENCH_STEADY, default 30s).
	Steady time.Duration
	// IncrementPercent of N more pools are created while the operator runs (default 10, at least one pool).
	IncrementPercent int
	// Dir receives the operator's log, the audit logs, profiles and report.md (BENCH_DIR).
	Dir string
	// Profile, when true, serves the operator's pprof endpoint and saves a CPU profile of the
	// cold start and heap profiles (BENCH_PROFILE=1).
	Profile bool
	// ProfileSeconds is the length of the CPU profile, taken from the operator's start
	// (BENCH_PROFILE_SECONDS, default 30).
	ProfileSeconds int
	// GoMemoryLimit is the operator's --go-memory-limit (BENCH_GO_MEMORY_LIMIT; make bench
	// passes 115Mi, what auto gives under the manifests' 256Mi limit; empty: the flag's default,
	// auto, which finds no container limit on a test machine: no limit).
	GoMemoryLimit string
}

// ConfigFromEnv reads the BENCH_* variables; dir is the default of BENCH_DIR.
func ConfigFromEnv(dir string) (Config, error) {
	c := Config{Pools: 1000, Steady: 30 * time.Second, IncrementPercent: 10, Dir: dir, ProfileSeconds: 30}
	var err error
	if v := os.Getenv("BENCH_N"); v != "" {
		if c.Pools, err = strconv.Atoi(v); err != nil || c.Pools < 1 {
			return c, fmt.Errorf("BENCH_N=%q: want a positive integer", v)
		}
	}
	if v := os.Getenv("BENCH_STEADY"); v != "" {
		if c.Steady, err = time.ParseDuration(v); err != nil || c.Steady < 0 {
			return c, fmt.Errorf("BENCH_STEADY=%q: want a duration such as 30s", v)
		}
	}
	if v := os.Getenv("BENCH_DIR"); v != "" {
		c.Dir = v
	}
	switch v := os.Getenv("BENCH_PROFILE"); v {
	case "", "0", "false":
	case "1", "true":
		c.Profile = true
	default:
		return c, fmt.Errorf("BENCH_PROFILE=%q: want 1 or 0", v)
	}
	if v := os.Getenv("BENCH_PROFILE_SECONDS"); v != "" {
		if c.ProfileSeconds, err = strconv.Atoi(v); err != nil || c.ProfileSeconds < 1 {
			return c, fmt.Errorf("BENCH_PROFILE_SECONDS=%q: want a positive integer", v)
		}
	}
	c.GoMemoryLimit = os.Getenv("BENCH_GO_MEMORY_LIMIT")
	return c, nil
}

// increment is the number of pools created while the operator runs.
func (c Config) increment() int {
	return max(1, c.Pools*c.IncrementPercent/100)
}
