package envoygateway

import (
	"context"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// InstallCRDs server-side applies envtest.EnvoyGatewayCRDPaths to c and waits until they are Established. The
// envoyproxies CRD (1.4 MB) is over client-side apply's annotation limit.
func InstallCRDs(ctx context.Context, c *cluster.Cluster) error {
	paths, err := envtest.EnvoyGatewayCRDPaths()
	if err != nil {
		return err
	}
	return cluster.ApplyFiles(ctx, c.RESTConfig(), paths...)
}
