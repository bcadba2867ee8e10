package controllers

// The envtest suite of the controllers: one source-built kube-apiserver + etcd (test/envtest)
// with every CRD installed, and one manager running the operator's controllers against it,
// started once by TestMain. Test files of this package share the helpers below: a direct
// (uncached) client, a namespace per test, polling helpers, events of an object, reconcile
// counts, and a counter of every write the operator makes.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"

	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/kit"
)

const (
	// testSyncPeriod is the manager's cache resync period. It is longer than waitTimeout, so
	// a test that passes within waitTimeout was served by a watch, not by a periodic resync,
	// and short enough that the steady-state test can wait past one resync.
	testSyncPeriod = 20 * time.Second
	// resyncWait bounds the wait for a periodic resync to reach a controller: controller-runtime
	// jitters each informer's period (0.9 to 1.1 times testSyncPeriod), and a handler added after
	// its informer started may miss the first tick, so it can take up to twice that.
	resyncWait = testSyncPeriod*22/10 + 5*time.Second
	// waitTimeout bounds every eventually/consistently; generous for 2 shared cores.
	waitTimeout  = 15 * time.Second
	pollInterval = 100 * time.Millisecond
	// testEnvoyGatewayClass is the operator's --envoy-gateway-class in the test manager.
	testEnvoyGatewayClass = "eg"
)

var (
	// k8s is a direct client to the API server: it reads what is stored, not a cache.
	k8s client.Client
	// restConfig is the API server's admin config, for tests that need their own clients.
	restConfig *rest.Config
	// writes counts every write the operator's manager makes through its client.
	writes = &writeCounter{}
	// operatorCache is the operator's informer cache, for tests of what it keeps.
	operatorCache cache.Cache
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	// Operator logs go to stderr, which go test shows only for a failing package (or -v).
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))

	env, cfg, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the test control plane:", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the test control plane:", err)
		}
	}()
	restConfig = cfg

	k8s, err = client.New(cfg, client.Options{Scheme: NewScheme()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "direct client:", err)
		return 1
	}

	// Envoy Gateway's classes the tests' classes use, accepted as Envoy Gateway would.
	for _, name := range []string{testEnvoyGatewayClass, "eg-custom"} {
		if err := createAcceptedEnvoyGatewayClass(name); err != nil {
			fmt.Fprintln(os.Stderr, "Envoy Gateway class:", err)
			return 1
		}
	}

	op, err := startOperator()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	operator = op
	defer func() {
		if err := operator.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	return m.Run()
}

// suiteOperator is the operator's manager the suite runs.
type suiteOperator struct {
	cancel context.CancelFunc
	done   chan error
}

// operator is the running operator; restartOperator replaces it.
var operator *suiteOperator

// suiteFirstStatusWait is the operator's Options.FirstStatusWait: none, so that the tests read
// Pending statuses without waiting for it, but in the test of the wait (first_status_test.go).
var suiteFirstStatusWait time.Duration

// startOperator starts a manager running the operator's controllers against the suite's API
// server, its writes counted, and waits for its cache.
func startOperator() (*suiteOperator, error) {
	syncPeriod := testSyncPeriod
	mgr, err := ctrl.NewManager(restConfig, ManagerOptions(ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		LeaderElection:         false,
		Cache:                  cache.Options{SyncPeriod: &syncPeriod},
		NewClient:              writes.newClient,
		// A restarted operator registers its controllers' names again in this process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	}))
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := Setup(ctx, mgr, Options{DefaultEnvoyGatewayClass: testEnvoyGatewayClass, FirstStatusWait: suiteFirstStatusWait}); err != nil {
		cancel()
		return nil, fmt.Errorf("setting up the controllers: %w", err)
	}
	op := &suiteOperator{cancel: cancel, done: make(chan error, 1)}
	go func() { op.done <- mgr.Start(ctx) }()
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		_ = op.stop()
		return nil, errors.New("the manager's cache did not sync")
	}
	operatorCache = mgr.GetCache()
	return op, nil
}

// stop stops the manager and waits until it has.
func (o *suiteOperator) stop() error {
	o.cancel()
	return <-o.done
}

// restartOperator stops the operator, runs whileDown, and starts a new one, as a rollout or a
// crash would: the new one knows only what the cluster holds.
func restartOperator(t *testing.T, whileDown func()) {
	t.Helper()
	if err := operator.stop(); err != nil {
		t.Fatalf("stopping the operator: %v", err)
	}
	whileDown()
	op, err := startOperator()
	if err != nil {
		t.Fatalf("starting the operator again: %v", err)
	}
	operator = op
}

// createAcceptedEnvoyGatewayClass creates Envoy Gateway's GatewayClass name, accepted as Envoy
// Gateway would (no Envoy Gateway runs in envtest).
func createAcceptedEnvoyGatewayClass(name string) error {
	return testenv.CreateAcceptedEnvoyGatewayClass(context.Background(), k8s, name)
}

// ---------------------------------------------------------------------------------------------
// Write counter

// write is one write request the operator's client sent (successful or not).
type write struct {
	Verb        string // create, update, patch, apply, delete, deleteAllOf
	Subresource string // "" for the object itself, e.g. "status"
	Kind        string
	Namespace   string
	Name        string
}

func (w write) String() string {
	kind := w.Kind
	if w.Subresource != "" {
		kind += "/" + w.Subresource
	}
	return fmt.Sprintf("%s %s %s/%s", w.Verb, kind, w.Namespace, w.Name)
}

// writeCounter records the writes of the manager's client, which it wraps with an interceptor.
// Events are not counted: the manager's event recorder has its own client.
type writeCounter struct {
	mu     sync.Mutex
	scheme *runtime.Scheme
	writes []write
}

// newClient is the manager's ctrl.Options.NewClient: the default client (cache reads, direct
// writes), wrapped so that every write is recorded before it is sent.
func (c *writeCounter) newClient(cfg *rest.Config, opts client.Options) (client.Client, error) {
	inner, err := client.NewWithWatch(cfg, opts)
	if err != nil {
		return nil, err
	}
	c.scheme = opts.Scheme
	return interceptor.NewClient(inner, interceptor.Funcs{
		Create: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			c.recordObject("create", "", obj)
			return cl.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			c.recordObject("update", "", obj)
			return cl.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, cl client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			c.recordObject("patch", "", obj)
			return cl.Patch(ctx, obj, patch, opts...)
		},
		Apply: func(ctx context.Context, cl client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			c.recordApply("", obj)
			return cl.Apply(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			c.recordObject("delete", "", obj)
			return cl.Delete(ctx, obj, opts...)
		},
		DeleteAllOf: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			c.recordObject("deleteAllOf", "", obj)
			return cl.DeleteAllOf(ctx, obj, opts...)
		},
		SubResourceCreate: func(ctx context.Context, cl client.Client, sub string, obj client.Object, subObj client.Object, opts ...client.SubResourceCreateOption) error {
			c.recordObject("create", sub, obj)
			return cl.SubResource(sub).Create(ctx, obj, subObj, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, cl client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			c.recordObject("update", sub, obj)
			return cl.SubResource(sub).Update(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, cl client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			c.recordObject("patch", sub, obj)
			return cl.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
		SubResourceApply: func(ctx context.Context, cl client.Client, sub string, obj runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
			c.recordApply(sub, obj)
			return cl.SubResource(sub).Apply(ctx, obj, opts...)
		},
	}), nil
}

func (c *writeCounter) recordObject(verb, sub string, obj client.Object) {
	kind := "unknown"
	if gvk, err := apiutil.GVKForObject(obj, c.scheme); err == nil {
		kind = gvk.Kind
	}
	c.add(write{Verb: verb, Subresource: sub, Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()})
}

// recordApply records an apply request. Unstructured apply configurations (what the Applier
// sends) carry their kind like objects; typed ones expose GetKind/GetName/GetNamespace.
func (c *writeCounter) recordApply(sub string, ac runtime.ApplyConfiguration) {
	w := write{Verb: "apply", Subresource: sub, Kind: "unknown"}
	if o, ok := ac.(interface {
		GetObjectKind() schema.ObjectKind
		GetNamespace() string
		GetName() string
	}); ok {
		w.Kind, w.Namespace, w.Name = o.GetObjectKind().GroupVersionKind().Kind, o.GetNamespace(), o.GetName()
	} else if o, ok := ac.(interface {
		GetKind() *string
		GetNamespace() *string
		GetName() *string
	}); ok {
		w.Kind, w.Namespace, w.Name = deref(o.GetKind()), deref(o.GetNamespace()), deref(o.GetName())
	}
	c.add(w)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (c *writeCounter) add(w write) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, w)
}

// reset forgets every write recorded so far.
func (c *writeCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = nil
}

// snapshot returns the writes recorded since the last reset, in order.
func (c *writeCounter) snapshot() []write {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]write(nil), c.writes...)
}

// byKind counts the writes since the last reset by kind ("Service", "GatewayClass/status").
func (c *writeCounter) byKind() map[string]int {
	out := map[string]int{}
	for _, w := range c.snapshot() {
		k := w.Kind
		if w.Subresource != "" {
			k += "/" + w.Subresource
		}
		out[k]++
	}
	return out
}

// matching returns the writes since the last reset for which keep is true.
func (c *writeCounter) matching(keep func(write) bool) []write {
	var out []write
	for _, w := range c.snapshot() {
		if keep(w) {
			out = append(out, w)
		}
	}
	return out
}

// waitQuiet waits until no write keep accepts has been made for quiet.
func waitQuiet(t *testing.T, keep func(write) bool, quiet time.Duration) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		n := len(writes.matching(keep))
		time.Sleep(quiet)
		if len(writes.matching(keep)) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes did not stop within %v: %v", waitTimeout, writes.matching(keep))
		}
	}
}

// inNamespace selects writes to objects of namespace ns, or to cluster-scoped objects whose
// names are listed (the GatewayClasses and parameters a test made).
func inNamespace(ns string, clusterNames ...string) func(write) bool {
	return func(w write) bool {
		if w.Namespace == ns {
			return true
		}
		if w.Namespace != "" {
			return false
		}
		for _, n := range clusterNames {
			if w.Name == n {
				return true
			}
		}
		return false
	}
}

// ---------------------------------------------------------------------------------------------
// Reconcile counts, from controller-runtime's metrics registry (filled even with the metrics
// server off). A test that asserts "nothing was written" uses them to prove a reconcile ran.

// reconcileTotal is the number of reconciles the named controller finished, any result.
// waitResync waits until each controller has reconciled again after a periodic resync of the
// cache (its reconcile count passes the one given).
func waitResync(t *testing.T, before map[string]float64) {
	t.Helper()
	eventuallyWithin(t, resyncWait, func() error {
		for c, n := range before {
			if reconcileTotal(t, c) <= n {
				return fmt.Errorf("controller %s has not reconciled since (%v)", c, n)
			}
		}
		return nil
	})
	time.Sleep(time.Second) // let the reconciles in flight finish
}

// reconcileCounts reads the reconcile counts of the controllers, for waitResync.
func reconcileCounts(t *testing.T, controllers ...string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, c := range controllers {
		out[c] = reconcileTotal(t, c)
	}
	return out
}

func reconcileTotal(t *testing.T, controller string) float64 {
	t.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == controller {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// ---------------------------------------------------------------------------------------------
// Namespaces, objects, polling

var nonLabelChars = regexp.MustCompile(`[^a-z0-9]+`)

// newNamespace creates a namespace named after the test and returns its name. Namespaces are
// left in place: envtest runs no namespace controller, so deleting one would only leave it
// Terminating, and the control plane is thrown away after the run.
func newNamespace(t *testing.T) string {
	t.Helper()
	prefix := strings.Trim(nonLabelChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(prefix) > 40 {
		prefix = strings.TrimRight(prefix[:40], "-")
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}

// uniqueName returns a name for a cluster-scoped object of this test (GatewayClass,
// parameters), derived from the test's namespace so that tests never share one.
func uniqueName(ns, suffix string) string {
	return ns + "-" + suffix
}

// mustCreate creates obj with the direct client, failing the test on error.
func mustCreate(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, client.ObjectKeyFromObject(obj), err)
	}
}

// mustUpdate reads obj, applies mutate to it and writes it back, retrying on conflicts (the
// operator may write status concurrently).
func mustUpdate[T client.Object](t *testing.T, obj T, mutate func(T)) {
	t.Helper()
	eventually(t, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate(obj)
		return k8s.Update(context.Background(), obj)
	})
}

// mustDelete deletes obj, failing the test on an error other than not found.
func mustDelete(t *testing.T, obj client.Object) {
	t.Helper()
	if err := client.IgnoreNotFound(k8s.Delete(context.Background(), obj)); err != nil {
		t.Fatalf("deleting %T %s: %v", obj, client.ObjectKeyFromObject(obj), err)
	}
}

// eventually polls check until it returns nil, failing the test with the last error after
// waitTimeout.
func eventually(t *testing.T, check func() error) {
	t.Helper()
	eventuallyWithin(t, waitTimeout, check)
}

// eventuallyWithin is eventually with an explicit timeout.
func eventuallyWithin(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	kit.Eventually(t, kit.Options{Timeout: timeout, Interval: pollInterval}, func(context.Context) error { return check() })
}

// consistently polls check for d and fails the test as soon as it returns an error.
func consistently(t *testing.T, d time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := check(); err != nil {
			t.Fatalf("condition broke: %v", err)
		}
		time.Sleep(pollInterval)
	}
}

// get reads key into obj with the direct client.
func get(obj client.Object, key client.ObjectKey) error {
	return k8s.Get(context.Background(), key, obj)
}

// errAbsent is returned by absent when the object exists.
var errAbsent = errors.New("object exists")

// absent returns nil when the object key does not exist, errAbsent when it does.
func absent(obj client.Object, key client.ObjectKey) error {
	err := k8s.Get(context.Background(), key, obj)
	switch {
	case err == nil:
		return fmt.Errorf("%T %s: %w", obj, key, errAbsent)
	case client.IgnoreNotFound(err) == nil:
		return nil
	default:
		return err
	}
}

// ---------------------------------------------------------------------------------------------
// Events

// eventsFor lists the events.k8s.io/v1 Events regarding obj (matched by kind, name and UID)
// with the given reason ("" for all). Events of cluster-scoped objects live in "default".
func eventsFor(t *testing.T, obj client.Object, reason string) []eventsv1.Event {
	t.Helper()
	ns := obj.GetNamespace()
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	gvk, err := apiutil.GVKForObject(obj, k8s.Scheme())
	if err != nil {
		t.Fatalf("kind of %T: %v", obj, err)
	}
	list := &eventsv1.EventList{}
	if err := k8s.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		t.Fatalf("listing events: %v", err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		r := e.Regarding
		if r.Kind != gvk.Kind || r.Name != obj.GetName() || (obj.GetUID() != "" && r.UID != obj.GetUID()) {
			continue
		}
		if reason == "" || e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// Fixtures: the user's objects, minimal and valid, for tests to create and adjust.

// ourClass returns a GatewayClass of the operator's controllerName, without parameters.
func ourClass(name string) *gwapiv1.GatewayClass {
	return &gwapiv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       gwapiv1.GatewayClassSpec{ControllerName: gwapiv1.GatewayController(translate.ControllerName)},
	}
}

// parametersRef points a GatewayClass at the InferenceGatewayParameters name.
func parametersRef(name string) *gwapiv1.ParametersReference {
	return &gwapiv1.ParametersReference{
		Group: gwapiv1.Group(v1alpha1.GroupVersion.Group),
		Kind:  gwapiv1.Kind(v1alpha1.Kind),
		Name:  name,
	}
}

// newGateway returns a Gateway of class with one HTTP listener on port 80.
func newGateway(ns, name, class string) *gwapiv1.Gateway {
	return &gwapiv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gwapiv1.GatewaySpec{
			GatewayClassName: gwapiv1.ObjectName(class),
			Listeners:        []gwapiv1.Listener{{Name: "http", Protocol: gwapiv1.HTTPProtocolType, Port: 80}},
		},
	}
}

// poolBackendRef is an HTTPRoute backendRef to the InferencePool name (in namespace ns when
// not empty).
func poolBackendRef(ns, name string) gwapiv1.HTTPBackendRef {
	ref := gwapiv1.HTTPBackendRef{BackendRef: gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{
		Group: ptr.To(gwapiv1.Group(translate.InferenceGroup)),
		Kind:  ptr.To(gwapiv1.Kind(translate.InferencePoolKind)),
		Name:  gwapiv1.ObjectName(name),
	}}}
	if ns != "" {
		ref.Namespace = ptr.To(gwapiv1.Namespace(ns))
	}
	return ref
}

// newRoute returns an HTTPRoute attached to the Gateway gateway (same namespace) with one rule
// whose backendRefs are refs.
func newRoute(ns, name, gateway string, refs ...gwapiv1.HTTPBackendRef) *gwapiv1.HTTPRoute {
	return &gwapiv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gwapiv1.HTTPRouteSpec{
			CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: gwapiv1.ObjectName(gateway)}}},
			Rules:           []gwapiv1.HTTPRouteRule{{BackendRefs: refs}},
		},
	}
}

// newPool returns an InferencePool selecting app=<app> on the given target ports, with an
// endpoint picker Service "<name>-epp" on port 9002.
func newPool(ns, name, app string, ports ...int32) *giev1.InferencePool {
	pool := &giev1.InferencePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: giev1.InferencePoolSpec{
			Selector: giev1.LabelSelector{MatchLabels: map[giev1.LabelKey]giev1.LabelValue{"app": giev1.LabelValue(app)}},
			EndpointPickerRef: &giev1.EndpointPickerRef{
				Name: giev1.ObjectName(translate.DNS1035Name(name, "epp")),
				Port: &giev1.Port{Number: 9002},
			},
		},
	}
	for _, p := range ports {
		pool.Spec.TargetPorts = append(pool.Spec.TargetPorts, giev1.Port{Number: giev1.PortNumber(p)})
	}
	return pool
}

// ourGateway creates in ns our GatewayClass (no parameters) and a Gateway "gw" of it, and
// returns the class's name.
func ourGateway(t *testing.T, ns string) string {
	t.Helper()
	class := uniqueName(ns, "class")
	mustCreate(t, ourClass(class))
	mustCreate(t, newGateway(ns, "gw", class))
	return class
}

// servedPoolSetup creates in ns our GatewayClass (no parameters), a Gateway of it and a route
// to the pool poolName, and returns the class name and the route. The pool itself is the
// test's to create.
func servedPoolSetup(t *testing.T, ns, poolName string) (string, *gwapiv1.HTTPRoute) {
	t.Helper()
	class := ourGateway(t, ns)
	route := newRoute(ns, "route", "gw", poolBackendRef("", poolName))
	mustCreate(t, route)
	return class, route
}
