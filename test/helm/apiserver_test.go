package helm

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
	crenvtest "sigs.k8s.io/controller-runtime/pkg/envtest"

	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// apiServer is one source-built kube-apiserver and etcd for the package's tests, started on first
// use and stopped by TestMain, with every CRD the rendered objects need except ours: `helm
// install` must install that one from the chart's crds/, before the templates that use it.
var apiServer struct {
	sync.Once
	env        *crenvtest.Environment
	cfg        *rest.Config
	kubeconfig string // an admin kubeconfig file for Helm's kube client
	dir        string
	err        error
}

// startAPIServer returns the shared API server's admin config and kubeconfig file.
func startAPIServer(t *testing.T) (*rest.Config, string) {
	t.Helper()
	apiServer.Do(func() { apiServer.err = startEnv() })
	if apiServer.err != nil {
		t.Fatal(apiServer.err)
	}
	return apiServer.cfg, apiServer.kubeconfig
}

func startEnv() error {
	env, err := testenv.New()
	if err != nil {
		return err
	}
	ours := filepath.Join(repoRoot(), "config", "crd", "bases")
	var paths []string
	for _, p := range env.CRDDirectoryPaths {
		if p != ours {
			paths = append(paths, p)
		}
	}
	if len(paths) != len(env.CRDDirectoryPaths)-1 {
		return fmt.Errorf("test/envtest no longer installs %s; update this test", ours)
	}
	monitoring, err := testenv.PrometheusOperatorCRDPaths()
	if err != nil {
		return err
	}
	env.CRDDirectoryPaths = append(paths, monitoring...)
	apiServer.env = env
	if apiServer.cfg, err = env.Start(); err != nil {
		return fmt.Errorf("starting envtest: %w", err)
	}
	user, err := env.AddUser(crenvtest.User{Name: "helm-test", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return err
	}
	if apiServer.dir, err = os.MkdirTemp("", "helm-test-"); err != nil {
		return err
	}
	apiServer.kubeconfig = filepath.Join(apiServer.dir, "kubeconfig")
	return os.WriteFile(apiServer.kubeconfig, kubeconfig, 0o600)
}

func stopAPIServer() {
	if apiServer.env != nil {
		_ = apiServer.env.Stop()
	}
	if apiServer.dir != "" {
		_ = os.RemoveAll(apiServer.dir)
	}
}
