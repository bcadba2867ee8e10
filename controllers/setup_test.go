package controllers

import (
	"net"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// TestStartsWithoutAPIServer creates the operator's manager and sets up its controllers with no
// API server answering, as when its pod is restarted during an API server outage: neither may
// fail. A failure exits the operator, its pod crash-loops, and after the API server is back it
// waits out the kubelet's back-off before it reconciles again (test/resilience's
// TestAPIServerOutage measured 38 s of it after a 30 s outage; it grows to 5 minutes).
func TestStartsWithoutAPIServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	cfg := &rest.Config{Host: "https://" + addr, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	mgr, err := ctrl.NewManager(cfg, ManagerOptions(ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		LeaderElection:         true,
		LeaderElectionID:       LeaderElectionID,
		// Outside a pod the namespace must be given.
		LeaderElectionNamespace: "default",
	}))
	if err != nil {
		t.Fatalf("creating the manager without an API server: %v", err)
	}
	if err := Setup(t.Context(), mgr, Options{PrerequisiteCheckInterval: time.Hour}); err != nil {
		t.Fatalf("setting up without an API server: %v", err)
	}
}
