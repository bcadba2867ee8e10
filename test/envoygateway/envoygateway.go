// Package envoygateway runs the real Envoy Gateway v1.9.1 controller (built from the Go module
// proxy by hack/build-tool.sh) as a local process against a test cluster from package
// cluster, installed the way its Helm chart installs it: CRDs, namespace, ServiceAccount, RBAC,
// Service and configuration (rendered from the chart into manifests/), control-plane
// certificates from `envoy-gateway certgen`, and the controller running as its own
// ServiceAccount.
//
// Envoy Gateway reads its TLS material from the hard-coded /certs and, in GatewayNamespace
// mode, uses in-cluster configuration (/var/run/secrets/kubernetes.io/serviceaccount) for the
// TokenReviews that authenticate proxies. Rather than writing to those host paths, the process
// runs in a private mount namespace, chrooted into a throw-away root that bind-mounts the
// host's /usr, /etc, /proc, /sys and /dev plus the test's files at those paths. The mounts
// vanish with the process. This needs root (CI runs as root).
//
// Envoy Gateway listens on fixed ports (8080, 8081, 9443, 18000, 18002, 19001 on all
// interfaces, 19000 on loopback), so only one can run on a machine at a time; Start fails
// early when one of them is taken.
package envoygateway

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"

	"github.com/inferencepool-operator/inferencepool-operator/test/kit"
)

const (
	// Namespace is Envoy Gateway's own namespace (ENVOY_GATEWAY_NAMESPACE).
	Namespace = "envoy-gateway-system"
	// ServiceAccount is the identity the controller runs as, with the chart's RBAC.
	ServiceAccount = "envoy-gateway"
	// ControllerName is the GatewayClass controllerName Envoy Gateway serves.
	ControllerName = "gateway.envoyproxy.io/gatewayclass-controller"
	// ClusterDomain is KUBERNETES_CLUSTER_DOMAIN.
	ClusterDomain = "cluster.local"
	// XDSServerName is the name in the xDS server's certificate that proxies verify (their SNI)
	// and the audience of the service-account tokens they authenticate with.
	XDSServerName = "envoy-gateway." + Namespace + ".svc." + ClusterDomain
	// XDSAddress is where the controller's xDS server listens on this machine.
	XDSAddress = "127.0.0.1:18000"
)

// Ports are the fixed ports Envoy Gateway listens on: xDS 18000, Wasm 18002, metrics 19001,
// health probes 8081, webhook server 9443 and 8080 on all interfaces; admin 19000 on loopback.
// The operator's own defaults (metrics :8080, probes :8081) collide with them, so an operator
// run next to this Envoy Gateway must use other ports.
var Ports = []int{8080, 8081, 9443, 18000, 18002, 19000, 19001}

//go:embed manifests/*.yaml
var manifests embed.FS

// Options configure Start.
type Options struct {
	// Progress receives a line per startup step. Nil discards them.
	Progress io.Writer
}

// EnvoyGateway is a running Envoy Gateway controller.
type EnvoyGateway struct {
	// Dir holds the controller's files (under the cluster's directory) and its log.
	Dir string
	// LogFile is the controller's combined output.
	LogFile string

	proc *Process
	root string // the chroot
}

// Process is the controller process (a cluster.Process).
type Process = cluster.Process

// Start installs Envoy Gateway into c and starts its controller, waiting until it reports
// ready. Stop it before stopping the cluster.
func Start(ctx context.Context, c *cluster.Cluster, opts Options) (_ *EnvoyGateway, err error) {
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			_, _ = fmt.Fprintf(opts.Progress, "envoy-gateway: "+format+"\n", args...)
		}
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("envoy gateway runs in a private mount namespace with a chroot, which needs root")
	}
	if err := portsFree(Ports); err != nil {
		return nil, fmt.Errorf("another Envoy Gateway (or something else) is using its fixed ports: %w", err)
	}
	eg := &EnvoyGateway{Dir: filepath.Join(c.Dir, "envoy-gateway")}
	eg.LogFile = filepath.Join(eg.Dir, "envoy-gateway.log")
	eg.root = filepath.Join(eg.Dir, "root")
	defer func() {
		if err != nil {
			_ = eg.Stop()
		}
	}()

	progress("building envoy-gateway (first run only)")
	binDir, err := cluster.BuildTool("envoy-gateway")
	if err != nil {
		return nil, err
	}
	cfg := c.RESTConfig()
	progress("installing CRDs")
	if err := InstallCRDs(ctx, c); err != nil {
		return nil, err
	}
	progress("applying namespace, ServiceAccount, RBAC, Service and configuration")
	objs, err := Manifests()
	if err != nil {
		return nil, err
	}
	if err := cluster.Apply(ctx, cfg, objs...); err != nil {
		return nil, err
	}
	configYAML, err := configFrom(objs)
	if err != nil {
		return nil, err
	}

	progress("generating control-plane certificates with envoy-gateway certgen")
	if err := certgen(ctx, c, filepath.Join(binDir, "envoy-gateway")); err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := eg.writeFiles(ctx, c, cs, configYAML); err != nil {
		return nil, err
	}

	progress("starting envoy-gateway server (log %s)", eg.LogFile)
	script, err := eg.chrootScript(binDir)
	if err != nil {
		return nil, err
	}
	env := []string{
		"ENVOY_GATEWAY_NAMESPACE=" + Namespace,
		"KUBERNETES_CLUSTER_DOMAIN=" + ClusterDomain,
		"KUBECONFIG=/eg/kubeconfig",
		// In-cluster configuration, used for the xDS server's TokenReviews.
		"KUBERNETES_SERVICE_HOST=127.0.0.1",
		"KUBERNETES_SERVICE_PORT=" + strconv.Itoa(c.APIServerPort),
		"HOME=/tmp",
	}
	eg.proc, err = cluster.StartProcess("envoy-gateway", eg.LogFile, env,
		"unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-ec", script)
	if err != nil {
		return nil, err
	}
	if err := eg.waitReady(ctx, 120*time.Second); err != nil {
		return nil, err
	}
	progress("ready")
	return eg, nil
}

// Stop stops the controller and removes its throw-away root. Safe to call more than once.
func (eg *EnvoyGateway) Stop() error {
	var errs []error
	if eg.proc != nil {
		errs = append(errs, eg.proc.Stop(10*time.Second))
	}
	// The bind mounts lived in the process's own mount namespace, which is gone now; from here
	// the root is a tree of empty directories and symlinks. Refuse to delete it if anything is
	// somehow mounted below it in this namespace.
	if mounted, err := MountedUnder(eg.root); err != nil || mounted != "" {
		errs = append(errs, fmt.Errorf("not removing %s: mount %q (%v)", eg.root, mounted, err))
	} else {
		errs = append(errs, os.RemoveAll(eg.root))
	}
	return errors.Join(errs...)
}

// Pid is the controller's process id (also its process group id).
func (eg *EnvoyGateway) Pid() int { return eg.proc.Pid() }

// Healthy returns an error when the controller has exited.
func (eg *EnvoyGateway) Healthy() error {
	if exited, err := eg.proc.Exited(); exited {
		return fmt.Errorf("envoy-gateway exited (%v); end of %s:\n%s", err, eg.LogFile, eg.proc.Tail(3000))
	}
	return nil
}

// Manifests returns the chart-rendered install objects (manifests/*.yaml) in apply order.
func Manifests() ([]*unstructured.Unstructured, error) {
	entries, err := manifests.ReadDir("manifests")
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	for _, e := range entries { // ReadDir sorts by name: the files are numbered in apply order
		data, err := manifests.ReadFile("manifests/" + e.Name())
		if err != nil {
			return nil, err
		}
		fileObjs, err := cluster.DecodeYAML(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		objs = append(objs, fileObjs...)
	}
	return objs, nil
}

// configFrom returns the controller configuration held by the envoy-gateway-config ConfigMap.
func configFrom(objs []*unstructured.Unstructured) (string, error) {
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetName() == "envoy-gateway-config" {
			cfg, found, err := unstructured.NestedString(o.Object, "data", "envoy-gateway.yaml")
			if err != nil || !found {
				return "", fmt.Errorf("envoy-gateway-config has no envoy-gateway.yaml: %v", err)
			}
			return cfg, nil
		}
	}
	return "", errors.New("manifests hold no envoy-gateway-config ConfigMap")
}

// certgen runs `envoy-gateway certgen`, as the chart's pre-install Job does: it creates the
// envoy-gateway, envoy, envoy-rate-limit and envoy-oidc-hmac Secrets in Namespace (keeping
// any that already exist).
func certgen(ctx context.Context, c *cluster.Cluster, binary string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "certgen", "--disable-topology-injector")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig, "ENVOY_GATEWAY_NAMESPACE="+Namespace,
		"KUBERNETES_CLUSTER_DOMAIN="+ClusterDomain)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("envoy-gateway certgen: %v: %s", err, out)
	}
	return nil
}

// waitReady waits for the controller's readiness probe (the chart's readinessProbe).
func (eg *EnvoyGateway) waitReady(ctx context.Context, timeout time.Duration) error {
	err := kit.Poll(ctx, kit.Options{Timeout: timeout, Interval: 200 * time.Millisecond, What: "envoy-gateway ready",
		Abort: func() error {
			select {
			case <-eg.proc.Done():
				return errors.New("envoy-gateway exited before it was ready")
			default:
				return nil
			}
		}}, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return kit.GetOK(ctx, "http://127.0.0.1:8081/readyz", false)
	})
	if err != nil {
		return fmt.Errorf("%w; end of %s:\n%s", err, eg.LogFile, eg.proc.Tail(4000))
	}
	return nil
}

// portsFree fails when one of ports is already bound.
func portsFree(ports []int) error {
	for _, p := range ports {
		l, err := net.Listen("tcp", ":"+strconv.Itoa(p))
		if err != nil {
			return err
		}
		_ = l.Close()
	}
	return nil
}
