package alerts

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/hack/bundle/bundlegen"
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// TestAlertMetricsAreServed runs the operator's manager as cmd/main.go sets it up (its manager
// options, leader election with its Lease name, every controller) on a source-built API server,
// applies config/samples with the sample pool's failureMode set to FailOpen (its endpoint picker
// has no endpoint there, so the pool fails open), scrapes /metrics, and checks that every metric
// every alert reads is served, with a series matching the alert's label matchers (job aside: it is
// Prometheus's target label, not the operator's). An alert on a renamed or absent metric, or on a
// label value the operator never writes, could never fire; this fails instead.
func TestAlertMetricsAreServed(t *testing.T) {
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	env, cfg, err := envtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })

	addr := freeAddress(t)
	mgr, err := ctrl.NewManager(cfg, controllers.ManagerOptions(ctrl.Options{
		Metrics:                 metricsserver.Options{BindAddress: addr},
		HealthProbeBindAddress:  "0",
		LeaderElection:          true,
		LeaderElectionID:        controllers.LeaderElectionID,
		LeaderElectionNamespace: "default",
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := controllers.Setup(ctx, mgr, controllers.Options{DefaultEnvoyGatewayClass: "eg"}); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	select {
	case <-mgr.Elected():
	case <-time.After(time.Minute):
		t.Fatal("the manager did not become the leader")
	}

	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The samples' class uses Envoy Gateway's class "eg": accepted as Envoy Gateway would.
	if err := envtest.CreateAcceptedEnvoyGatewayClass(ctx, mgr.GetClient(), "eg"); err != nil {
		t.Fatal(err)
	}
	samples, err := bundlegen.Render(envtest.RepoRoot(), "config/samples")
	if err != nil {
		t.Fatal(err)
	}
	var pool *unstructured.Unstructured
	for _, u := range samples {
		if u.GetKind() == "InferencePool" {
			pool = u
			if err := unstructured.SetNestedField(u.Object, "FailOpen", "spec", "endpointPickerRef", "failureMode"); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Create(ctx, u); err != nil {
			t.Fatalf("creating sample %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
	if pool == nil {
		t.Fatal("config/samples has no InferencePool")
	}

	// The failopen gauge has a series only once the pool's reconcile has decided to fail open.
	var families map[string]*dto.MetricFamily
	deadline := time.Now().Add(time.Minute)
	for {
		families, err = scrape(addr)
		if err == nil && hasSeries(families["inferencepool_operator_failopen_active"], map[string]string{
			"namespace": pool.GetNamespace(), "pool": pool.GetName()}, 1) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no inferencepool_operator_failopen_active 1 for the sample pool after a minute (scrape error: %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	checked := 0
	for _, r := range rules(t) {
		sel, err := selectors(r.Expr)
		if err != nil {
			t.Fatalf("%s: %v", r.Alert, err)
		}
		for name, sets := range sel {
			f, ok := families[name]
			if !ok {
				t.Errorf("%s reads %s, which the operator does not serve", r.Alert, name)
				continue
			}
			for _, ms := range sets {
				if !anySeriesMatches(f, ms) {
					t.Errorf("%s reads %s%v; the operator serves no such series:\n%s", r.Alert, name, ms, series(f))
				}
				checked++
			}
		}
	}
	if checked < len(requiredAlerts) {
		t.Errorf("checked only %d selectors", checked)
	}
}

// freeAddress returns a loopback address with a port nothing listens on.
func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// scrape reads the manager's /metrics (plain HTTP here; the Deployment serves it over HTTPS).
func scrape(addr string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// hasSeries says whether f has a series with (at least) the labels want and the value value.
func hasSeries(f *dto.MetricFamily, want map[string]string, value float64) bool {
	if f == nil {
		return false
	}
	for _, m := range f.GetMetric() {
		got := labelsOf(m)
		match := true
		for k, v := range want {
			match = match && got[k] == v
		}
		if match && m.GetGauge().GetValue() == value {
			return true
		}
	}
	return false
}

// anySeriesMatches says whether a series of f satisfies every matcher except those on job.
func anySeriesMatches(f *dto.MetricFamily, matchers []*labels.Matcher) bool {
	for _, m := range f.GetMetric() {
		got := labelsOf(m)
		match := true
		for _, lm := range matchers {
			if lm.Name != "job" {
				match = match && lm.Matches(got[lm.Name])
			}
		}
		if match {
			return true
		}
	}
	return false
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// series prints f's series' labels, for a failure message.
func series(f *dto.MetricFamily) string {
	var b strings.Builder
	for _, m := range f.GetMetric() {
		fmt.Fprintf(&b, "  %v\n", labelsOf(m))
	}
	return b.String()
}
