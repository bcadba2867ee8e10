package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"

	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// RepoRoot is the directory holding the operator's go.mod.
func RepoRoot() string { return envtest.RepoRoot() }

// BuildTool builds tool with hack/build-tool.sh (first use only) and returns its directory.
func BuildTool(tool string) (string, error) { return envtest.BuildTool(tool) }

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
