package installtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

var manager struct {
	sync.Once
	path string
	err  error
	out  []byte
}

// BuildManager builds ./cmd as the Dockerfile does (static, stripped, trimmed paths), once per
// test binary, and returns the executable. A test package that calls it removes it with
// RemoveManager from its TestMain.
//
// The builds of the test packages that call it (go test runs packages in parallel) take turns on
// a file lock: the first compiles, the next find every package in the build cache and only link,
// instead of compiling the same packages side by side on a cold cache.
func BuildManager(t testing.TB) string {
	t.Helper()
	manager.Do(func() {
		dir, err := os.MkdirTemp("", "manager-")
		if err != nil {
			manager.err = err
			return
		}
		manager.path = filepath.Join(dir, "manager")
		lock, err := os.OpenFile(filepath.Join(os.TempDir(), "inferencepool-operator-manager-build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			manager.err = err
			return
		}
		defer lock.Close()
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
			manager.err = err
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", manager.path, "./cmd")
		cmd.Dir = RepoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		manager.out, manager.err = cmd.CombinedOutput()
	})
	if manager.err != nil {
		t.Fatalf("go build ./cmd with CGO_ENABLED=0: %v\n%s", manager.err, manager.out)
	}
	return manager.path
}

// RemoveManager deletes the binary BuildManager built, if it did.
func RemoveManager() {
	if manager.path != "" {
		_ = os.RemoveAll(filepath.Dir(manager.path))
	}
}

// CheckArgsAreManagerFlags runs the manager with each set of command-line arguments (by what
// they come from) followed by --help: Go's flag package exits 0 only if every argument before
// --help is a flag the manager defines, and 2 on the first unknown one or a malformed value.
func CheckArgsAreManagerFlags(t testing.TB, sets map[string][]string) {
	t.Helper()
	bin := BuildManager(t)
	for what, args := range sets {
		cmd := exec.Command(bin, append(append([]string{}, args...), "--help")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: manager %v: %v\n%s", what, args, err, lastLines(string(out), 3))
		}
	}
	// And an unknown flag is refused, so the check above can fail.
	if err := exec.Command(bin, "--no-such-flag", "--help").Run(); err == nil {
		t.Error("the manager accepted --no-such-flag")
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
