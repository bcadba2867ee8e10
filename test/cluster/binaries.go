package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// RepoRoot is the directory holding the operator's go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BuildTool runs hack/build-tool.sh for tool (building it from the Go module proxy on first
// use, which can take minutes) and returns the directory holding its binaries.
func BuildTool(tool string) (string, error) {
	cmd := exec.Command(filepath.Join(RepoRoot(), "hack", "build-tool.sh"), tool)
	cmd.Stderr = os.Stderr // build progress: the first run is slow and should say why
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/build-tool.sh %s: %w", tool, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// ToolModuleDir returns the module-cache directory of module as pinned by the tools module
// hack/tools/<tool>, downloading it if needed. The harness reads data files (kwok's stages,
// for example) from there, so they always match the binary that was built.
func ToolModuleDir(tool, module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = filepath.Join(RepoRoot(), "hack", "tools", tool)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s in hack/tools/%s: %v: %s", module, tool, err, stderr.String())
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", err
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", module, info.Error)
	}
	return info.Dir, nil
}
