// Command manager runs the inferencepool-operator: the controller of the GatewayClasses whose
// controllerName is inferencepool-operator.io/gateway-controller.
package main

import (
	"flag"
	"os"
	"runtime/debug"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
)

func main() {
	var (
		metricsAddr      string
		probeAddr        string
		pprofAddr        string
		leaderElect      bool
		leaderElectionNS string
		leaseDuration    time.Duration
		renewDeadline    time.Duration
		retryPeriod      time.Duration
		metricsSecure    bool
		maxConcurrent    int
		goMemLimit       string
		opts             controllers.Options
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint binds to; \"0\" disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health and readiness probes bind to.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "Address Go's pprof endpoints (/debug/pprof/) bind to, for profiling; \"0\" (the default) disables them.")
	flag.BoolVar(&metricsSecure, "metrics-secure", false, "Serve metrics over HTTPS, allowing only scrapers the API server authenticates and authorizes for GET /metrics.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader so only one replica reconciles at a time (on in the Deployment).")
	flag.StringVar(&leaderElectionNS, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's namespace).")
	// The defaults are controller-runtime's.
	flag.DurationVar(&leaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long a replica that is not the leader waits after the Lease's last renewal before taking it over.")
	flag.DurationVar(&renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader keeps retrying to renew the Lease before it gives up leadership and exits; shorter than the lease duration.")
	flag.DurationVar(&retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often replicas try to acquire or renew the Lease.")
	flag.StringVar(&opts.ClusterDomain, "cluster-domain", "cluster.local", "The cluster's DNS suffix, used for the endpoint picker's FQDN.")
	flag.IntVar(&maxConcurrent, "max-concurrent-reconciles", controllers.DefaultMaxConcurrentReconciles, "How many objects of each kind (routes, Gateways, policies) are reconciled at once; pools have their own flag.")
	flag.IntVar(&opts.MaxConcurrentPoolReconciles, "max-concurrent-pool-reconciles", controllers.DefaultMaxConcurrentPoolReconciles, "How many InferencePools are reconciled at once; a pool's reconcile applies several objects one after another.")
	flag.DurationVar(&opts.FirstStatusWait, "first-status-wait", controllers.DefaultFirstStatusWait, "How long a new route or InferencePool goes without a status while Envoy Gateway has not judged it yet, so that its first status is the verdict; 0 writes Pending at once.")
	flag.StringVar(&opts.DefaultEnvoyGatewayClass, "envoy-gateway-class", "eg", "Envoy Gateway GatewayClass used by a GatewayClass without parameters.")
	flag.StringVar(&goMemLimit, "go-memory-limit", "auto", "The Go runtime's soft memory limit, so that garbage is collected before the container's memory limit is reached: auto (45% of the container's memory limit, if it has one), off, or a quantity such as 200Mi. GOMEMLIMIT in the environment wins.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	setupLog := ctrl.Log.WithName("setup")

	memLimit, memLimitFrom, err := goMemoryLimit(goMemLimit, os.Getenv("GOMEMLIMIT"), cgroupRoot)
	if err != nil {
		setupLog.Error(err, "setting the Go memory limit")
		os.Exit(1)
	}
	if memLimit > 0 {
		debug.SetMemoryLimit(memLimit)
	}
	setupLog.Info("Go memory limit", "limit", memLimitFrom)

	metrics := metricsserver.Options{BindAddress: metricsAddr}
	if metricsSecure {
		metrics.SecureServing = true
		metrics.FilterProvider = metricsAuth
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), controllers.ManagerOptions(ctrl.Options{
		Metrics:                 metrics,
		HealthProbeBindAddress:  probeAddr,
		PprofBindAddress:        pprofAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        controllers.LeaderElectionID,
		LeaderElectionNamespace: leaderElectionNS,
		Controller:              config.Controller{MaxConcurrentReconciles: maxConcurrent},
		LeaseDuration:           &leaseDuration,
		RenewDeadline:           &renewDeadline,
		RetryPeriod:             &retryPeriod,
	}))
	if err != nil {
		setupLog.Error(err, "creating manager")
		os.Exit(1)
	}
	ctx := ctrl.SetupSignalHandler()
	if err := controllers.Setup(ctx, mgr, opts); err != nil {
		setupLog.Error(err, "setting up controllers")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setupLog.Error(err, "adding health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		setupLog.Error(err, "adding readiness check")
		os.Exit(1)
	}
	setupLog.Info("starting manager", "envoyGatewayClass", opts.DefaultEnvoyGatewayClass)
	if err := mgr.Start(ctx); err != nil {
		setupLog.Error(err, "running manager")
		os.Exit(1)
	}
}
