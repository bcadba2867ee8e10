package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// The Go runtime collects garbage when the heap has grown by GOGC% (100) over what the last
// collection left live, whatever the container's memory limit: at 3000 pools the operator's
// live heap is ~75 MiB, and its resident memory peaked at 260 MiB (docs/performance.md): the
// heap doubles between collections, and a burst of reconciles raises what a collection finds
// live while it marks. A soft memory limit (runtime/debug's SetMemoryLimit, GOMEMLIMIT) makes
// the runtime collect harder as its memory nears the limit, whatever bursts.

// autoMemoryLimitFraction is the share of the container's memory limit given to the Go runtime
// by --go-memory-limit=auto. The runtime counts its heap, stacks and metadata, not the binary's
// mapped pages (~27 MiB resident), so the process's resident memory stays near half the limit:
// under the manifests' 256Mi that is a 115 MiB soft limit and a peak near 140 MiB at 3000 pools.
// The other half is headroom: the collector works harder as the live heap nears the soft limit
// (at most half the CPU, the runtime's own cap) rather than the kernel killing the pod.
const autoMemoryLimitFraction = 0.45

// cgroupRoot is where the container's cgroup files are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// goMemoryLimit returns the soft memory limit in bytes for the flag's value ("auto", "off" or a
// quantity such as 200Mi), and says where it comes from; 0 means no limit (Go's default). A
// GOMEMLIMIT in the environment wins: the runtime has applied it already.
func goMemoryLimit(flagValue, envGOMEMLIMIT, cgroupDir string) (int64, string, error) {
	if envGOMEMLIMIT != "" {
		return 0, "GOMEMLIMIT=" + envGOMEMLIMIT + " (the environment's, applied by the Go runtime)", nil
	}
	switch flagValue {
	case "off", "0":
		return 0, "none (--go-memory-limit=" + flagValue + ")", nil
	case "auto", "":
		limit, file, err := cgroupMemoryLimit(cgroupDir)
		if err != nil {
			return 0, "", err
		}
		if limit == 0 {
			return 0, "none (no container memory limit found)", nil
		}
		soft := int64(float64(limit) * autoMemoryLimitFraction)
		return soft, fmt.Sprintf("%.0f%% of the container's memory limit, %d bytes (%s)", autoMemoryLimitFraction*100, limit, file), nil
	}
	q, err := resource.ParseQuantity(flagValue)
	if err != nil || q.Sign() <= 0 {
		return 0, "", fmt.Errorf("--go-memory-limit=%s: want auto, off or a quantity of bytes such as 200Mi", flagValue)
	}
	return q.Value(), "--go-memory-limit=" + flagValue, nil
}

// cgroupMemoryLimit reads the container's memory limit from cgroup v2 (memory.max) or v1
// (memory/memory.limit_in_bytes) under dir; 0 when there is none ("max", or v1's near-2^63
// "unlimited"), or when neither file exists (not in a container).
func cgroupMemoryLimit(dir string) (int64, string, error) {
	for _, name := range []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")} {
		file := filepath.Join(dir, name)
		data, err := os.ReadFile(file)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return 0, "", err
		}
		text := strings.TrimSpace(string(data))
		if text == "max" {
			return 0, file, nil
		}
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return 0, "", fmt.Errorf("%s: %q is not a number of bytes", file, text)
		}
		if v <= 0 || v >= math.MaxInt64/2 { // v1 writes a page-rounded 2^63-1 for no limit
			return 0, file, nil
		}
		return v, file, nil
	}
	return 0, "", nil
}
