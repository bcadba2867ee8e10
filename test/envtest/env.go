// Package envtest starts a Kubernetes API server and etcd, built from source by
// hack/build-tool.sh, with every CRD the operator reads or writes installed: ours, GIE's
// InferencePool (v1.6.2), Gateway API (v1.6.3, experimental channel, as Envoy Gateway bundles
// it) and Envoy Gateway's (v1.9.1). The third-party CRDs are read from the Go module cache, so
// they are always the versions go.mod pins.
package envtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// RepoRoot is the directory holding go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var moduleDirs = struct {
	sync.Once
	dirs map[string]string
	err  error
}{}

// ModuleDir returns the module-cache directory of a module go.mod requires.
func ModuleDir(module string) (string, error) {
	moduleDirs.Do(func() {
		cmd := exec.Command("go", "list", "-m", "-f", "{{.Path}} {{.Dir}}",
			"github.com/envoyproxy/gateway", "sigs.k8s.io/gateway-api-inference-extension", "sigs.k8s.io/gateway-api")
		cmd.Dir = RepoRoot()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			moduleDirs.err = fmt.Errorf("go list -m: %v: %s", err, stderr.String())
			return
		}
		moduleDirs.dirs = map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if path, dir, ok := strings.Cut(line, " "); ok && dir != "" {
				moduleDirs.dirs[path] = dir
			}
		}
	})
	if moduleDirs.err != nil {
		return "", moduleDirs.err
	}
	dir, ok := moduleDirs.dirs[module]
	if !ok {
		return "", fmt.Errorf("module %s is not in the module cache; run go mod download", module)
	}
	return dir, nil
}

// CRDPaths lists the CRD files and directories to install: the operator's, GIE's InferencePool,
// Gateway API's and Envoy Gateway's.
func CRDPaths() ([]string, error) {
	gie, err := ModuleDir("sigs.k8s.io/gateway-api-inference-extension")
	if err != nil {
		return nil, err
	}
	eg, err := EnvoyGatewayCRDPaths()
	if err != nil {
		return nil, err
	}
	return append([]string{
		filepath.Join(RepoRoot(), "config", "crd", "bases"),
		filepath.Join(gie, "config", "crd", "bases", "inference.networking.k8s.io_inferencepools.yaml"),
	}, eg...), nil
}

// EnvoyGatewayCRDPaths are the CRDs Envoy Gateway needs: Gateway API's experimental channel
// from the Gateway API module go.mod pins, and Envoy Gateway's own from its chart. Envoy Gateway's
// chart bundles Gateway API v1.6.1's, which differ from the pinned v1.6.3's only in descriptions
// and their bundle-version annotation; Gateway API's conformance suite accepts only the CRDs of
// its own version.
func EnvoyGatewayCRDPaths() ([]string, error) {
	eg, err := ModuleDir("github.com/envoyproxy/gateway")
	if err != nil {
		return nil, err
	}
	gwapi, err := ModuleDir("sigs.k8s.io/gateway-api")
	if err != nil {
		return nil, err
	}
	// The channel's CRDs, without its kustomization and ValidatingAdmissionPolicy.
	files, err := filepath.Glob(filepath.Join(gwapi, "config", "crd", "experimental", "gateway.networking.*_*.yaml"))
	if err != nil {
		return nil, err
	}
	files = slices.DeleteFunc(files, func(f string) bool { return strings.Contains(filepath.Base(f), "_vap_") })
	if len(files) == 0 {
		return nil, fmt.Errorf("no Gateway API CRDs under %s", gwapi)
	}
	return append(files, filepath.Join(eg, "charts", "gateway-helm", "charts", "crds", "crds", "generated")), nil
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

// AssetsDir returns the directory with kube-apiserver and etcd: $KUBEBUILDER_ASSETS when set
// (make test sets it), else whatever hack/build-tool.sh builds or has cached.
func AssetsDir() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	return BuildTool("envtest")
}

// New returns an envtest environment on the source-built binaries with every CRD installed.
// Start it with Start(); stop it with Stop().
func New() (*envtest.Environment, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	paths, err := CRDPaths()
	if err != nil {
		return nil, err
	}
	return &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     paths,
		ErrorIfCRDPathMissing: true,
	}, nil
}

// Start starts a new environment and returns it with its rest config.
func Start() (*envtest.Environment, *rest.Config, error) {
	env, err := New()
	if err != nil {
		return nil, nil, err
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting envtest: %w", err)
	}
	// Generous client limits: tests create many objects quickly.
	cfg.QPS, cfg.Burst = 200, 400
	return env, cfg, nil
}
