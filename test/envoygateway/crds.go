package envoygateway

import (
	"context"
	"path/filepath"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// CRDPaths are the CRD files Envoy Gateway's chart installs, read from the module cache at the
// version go.mod pins: Gateway API v1.6.1 (experimental channel, as Envoy Gateway bundles it)
// and Envoy Gateway's own.
func CRDPaths() ([]string, error) {
	dir, err := envtest.ModuleDir("github.com/envoyproxy/gateway")
	if err != nil {
		return nil, err
	}
	crds := filepath.Join(dir, "charts", "gateway-helm", "charts", "crds", "crds")
	return []string{filepath.Join(crds, "gatewayapi-crds.yaml"), filepath.Join(crds, "generated")}, nil
}

// InstallCRDs server-side applies CRDPaths to c and waits until they are Established. The
// envoyproxies CRD (1.4 MB) is over client-side apply's annotation limit.
func InstallCRDs(ctx context.Context, c *cluster.Cluster) error {
	paths, err := CRDPaths()
	if err != nil {
		return err
	}
	return cluster.ApplyFiles(ctx, c.RESTConfig(), paths...)
}
