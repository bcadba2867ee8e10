// Command demo shows the operator at work without a cluster: it starts a kube-apiserver and etcd
// built from source (test/envtest, every CRD installed), runs the operator's manager in this
// process against them, applies config/samples, and prints what the operator generated and the
// statuses it wrote. It then keeps printing changes until Ctrl-C (or SIGTERM), and stops the
// manager and the control plane before exiting.
//
//	make demo            # or: go run ./hack/demo [--once]
//
// While it runs, kubectl works against the demo control plane with the kubeconfig it writes
// (.demo/kubeconfig by default).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/stack"
)

type options struct {
	once              bool
	samples           string
	kubeconfig        string
	logFile           string
	envoyGatewayClass string
	settleTimeout     time.Duration
	pollInterval      time.Duration
	// envoyGateway runs the full stack (test/stack): a cluster with fake pods, the real Envoy
	// Gateway controller and the operator, so EG's verdicts show. Needs root.
	envoyGateway bool
	// yaml prints the generated objects and statuses as YAML, and follows their changes.
	yaml bool
}

func main() {
	root := testenv.RepoRoot()
	var o options
	flag.BoolVar(&o.once, "once", false, "Exit after printing the operator's output (for tests and scripts).")
	flag.StringVar(&o.samples, "samples", filepath.Join(root, "config", "samples"), "Kustomization whose objects the demo applies.")
	flag.StringVar(&o.kubeconfig, "kubeconfig-out", filepath.Join(root, ".demo", "kubeconfig"), "Where to write a kubeconfig for the demo control plane (removed on exit).")
	flag.StringVar(&o.logFile, "log-file", filepath.Join(root, ".demo", "operator.log"), "Where the operator's logs go.")
	flag.StringVar(&o.envoyGatewayClass, "envoy-gateway-class", "eg", "The operator's --envoy-gateway-class.")
	flag.DurationVar(&o.settleTimeout, "settle-timeout", 90*time.Second, "How long to wait for the operator's output to settle.")
	flag.BoolVar(&o.envoyGateway, "envoy-gateway", false, "Run a full local cluster (kwok fake pods) with the real Envoy Gateway controller, so the statuses it decides show (needs root).")
	flag.DurationVar(&o.pollInterval, "poll-interval", time.Second, "How often the demo looks for changes after the first print (with --yaml).")
	flag.BoolVar(&o.yaml, "yaml", false, "Also print every generated object and status as YAML, then follow their changes.")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run starts the control plane and the operator, applies the samples, prints, and (unless
// o.once) follows changes until ctx ends. Whatever happens, it stops what it started.
func run(ctx context.Context, o options, out io.Writer) (err error) {
	if err := os.MkdirAll(filepath.Dir(o.logFile), 0o755); err != nil {
		return err
	}
	logs, err := os.Create(o.logFile)
	if err != nil {
		return err
	}
	defer logs.Close()
	if !o.envoyGateway { // with it, test/stack's operator logs into the cluster directory
		ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(logs)))
	}

	cfg, stop, err := startControlPlane(ctx, o, out)
	if err != nil {
		return err
	}
	defer func() {
		if stopErr := stop(); stopErr != nil && err == nil {
			err = stopErr
		}
	}()
	defer os.Remove(o.kubeconfig)

	c, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nThe demo control plane is at %s. While the demo runs, use it with kubectl:\n", cfg.Host)
	fmt.Fprintf(out, "  export KUBECONFIG=%s\n", o.kubeconfig)
	fmt.Fprintln(out, "  kubectl get gatewayclasses,gateways,httproutes,inferencepools -A")
	fmt.Fprintln(out, "  kubectl get services -A -l app.kubernetes.io/managed-by=inferencepool-operator -o yaml")
	fmt.Fprintln(out)

	if !o.envoyGateway {
		if err := standInForEnvoyGatewayClass(ctx, c, o.envoyGatewayClass, out); err != nil {
			return err
		}
	}
	applied, err := applySamples(ctx, c, o.samples, out)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nWaiting for the operator's output to settle...")
	settleErr := waitSettled(ctx, c, applied, o.settleTimeout)
	if ctx.Err() != nil {
		return nil
	}
	if err := describeSamples(ctx, c, applied, out); err != nil {
		return err
	}
	v := newViewer(c, applied)
	v.withEnvoyGateway = o.envoyGateway
	if o.yaml {
		if err := v.printAll(ctx, out); err != nil {
			return err
		}
	}
	if settleErr != nil {
		return settleErr
	}
	fmt.Fprintf(out, "\nTry next (make plugin builds the kubectl plugin into bin/):\n")
	fmt.Fprintf(out, "  export KUBECONFIG=%s PATH=$PWD/bin:$PATH\n", o.kubeconfig)
	fmt.Fprintln(out, "  kubectl inferencepool analyze -A")
	fmt.Fprintln(out, "  kubectl inferencepool describe route llm-route -o yaml")
	if o.once {
		return nil
	}
	if !o.yaml {
		fmt.Fprintln(out, "\nThe control plane stays up until Ctrl-C (--yaml prints the generated objects and follows them).")
		<-ctx.Done()
		return nil
	}
	fmt.Fprintln(out, "\nWatching for changes (edit the objects with kubectl to see the operator react). Ctrl-C to stop.")
	v.follow(ctx, out, o.pollInterval)
	return nil
}

// startControlPlane starts what the demo runs on and the operator, writes the kubeconfig, and
// returns the admin config and a function stopping it all. By default: envtest's kube-apiserver
// and etcd with the operator in this process; with o.envoyGateway: test/stack.
func startControlPlane(ctx context.Context, o options, out io.Writer) (*rest.Config, func() error, error) {
	if o.envoyGateway {
		fmt.Fprintln(out, "Starting a local cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok), Envoy Gateway and the operator...")
		s, err := stack.Start(ctx, out)
		if err != nil {
			return nil, nil, err
		}
		stop := func() error {
			fmt.Fprintln(out, "Stopping the operator, Envoy Gateway and the cluster...")
			return s.Stop(false)
		}
		data, err := os.ReadFile(s.Cluster.Kubeconfig)
		if err == nil {
			err = writeKubeconfig(o.kubeconfig, data)
		}
		if err != nil {
			return nil, nil, errors.Join(err, stop())
		}
		fmt.Fprintf(out, "The operator's logs are in %s.\n", filepath.Join(s.Cluster.Dir, "operator.log"))
		return s.Config, stop, nil
	}

	fmt.Fprintln(out, "Starting a local control plane (kube-apiserver + etcd built from source by hack/build-tool.sh)...")
	env, cfg, err := testenv.Start()
	if err != nil {
		return nil, nil, err
	}
	stopEnv := func() error {
		fmt.Fprintln(out, "Stopping the control plane...")
		if err := env.Stop(); err != nil {
			return fmt.Errorf("stopping the control plane: %w", err)
		}
		return nil
	}
	if err := writeKubeconfig(o.kubeconfig, env.KubeConfig); err != nil {
		return nil, nil, errors.Join(err, stopEnv())
	}
	mgrCtx, stopManager := context.WithCancel(context.Background())
	managerDone, err := startOperator(mgrCtx, cfg, o.envoyGatewayClass)
	stopAll := func() error {
		fmt.Fprintln(out, "Stopping the operator...")
		stopManager()
		var mgrErr error
		if managerDone != nil {
			if mgrErr = <-managerDone; mgrErr != nil {
				mgrErr = fmt.Errorf("operator: %w", mgrErr)
			}
		}
		return errors.Join(mgrErr, stopEnv())
	}
	if err != nil {
		return nil, nil, errors.Join(err, stopAll())
	}
	fmt.Fprintf(out, "The operator's logs are in %s.\n", o.logFile)
	return cfg, stopAll, nil
}

// startOperator runs the operator's manager, configured as cmd/main.go configures it, minus
// leader election and the metrics and probe servers. It returns once the cache has synced.
func startOperator(ctx context.Context, cfg *rest.Config, egClass string) (<-chan error, error) {
	mgr, err := ctrl.NewManager(cfg, controllers.ManagerOptions(ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	}))
	if err != nil {
		return nil, err
	}
	if err := controllers.Setup(ctx, mgr, controllers.Options{DefaultEnvoyGatewayClass: egClass}); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		return done, errors.New("the operator's cache did not sync")
	}
	return done, nil
}

func writeKubeconfig(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}
