package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cgroupWith writes a fake cgroup directory holding file with content.
func cgroupWith(t *testing.T, file, content string) string {
	t.Helper()
	dir := t.TempDir()
	if file != "" {
		path := filepath.Join(dir, file)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestGoMemoryLimit(t *testing.T) {
	const mi = 1 << 20
	v2 := cgroupWith(t, "memory.max", "268435456\n")
	for _, tc := range []struct {
		name, flag, env, dir string
		want                 int64
		from                 string
	}{
		{name: "auto from cgroup v2", flag: "auto", dir: v2, want: 256 * mi * 45 / 100, from: "45% of the container's memory limit, 268435456 bytes"},
		{name: "auto from cgroup v1", flag: "auto", dir: cgroupWith(t, "memory/memory.limit_in_bytes", "536870912\n"), want: 512 * mi * 45 / 100, from: "memory.limit_in_bytes"},
		{name: "auto, v2 without a limit", flag: "auto", dir: cgroupWith(t, "memory.max", "max\n"), from: "none (no container memory limit"},
		{name: "auto, v1 without a limit", flag: "auto", dir: cgroupWith(t, "memory/memory.limit_in_bytes", "9223372036854771712\n"), from: "none (no container memory limit"},
		{name: "auto outside a container", flag: "auto", dir: cgroupWith(t, "", ""), from: "none (no container memory limit"},
		{name: "a quantity", flag: "120Mi", dir: v2, want: 120 * mi, from: "--go-memory-limit=120Mi"},
		{name: "off", flag: "off", dir: v2, from: "none (--go-memory-limit=off)"},
		{name: "GOMEMLIMIT wins", flag: "120Mi", env: "300MiB", dir: v2, from: "GOMEMLIMIT=300MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, from, err := goMemoryLimit(tc.flag, tc.env, tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || !strings.Contains(from, tc.from) {
				t.Errorf("goMemoryLimit(%q, %q) = %d, %q; want %d, %q", tc.flag, tc.env, got, from, tc.want, tc.from)
			}
		})
	}
	for _, bad := range []string{"lots", "-5Mi"} {
		if _, _, err := goMemoryLimit(bad, "", v2); err == nil {
			t.Errorf("--go-memory-limit=%s accepted", bad)
		}
	}
	if _, _, err := goMemoryLimit("auto", "", cgroupWith(t, "memory.max", "a lot")); err == nil {
		t.Error("an unreadable memory.max accepted")
	}
}
