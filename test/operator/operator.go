// Package operator runs the inferencepool-operator in-process against a test cluster (package
// cluster) for the system tests and the conformance harness. It runs the operator the way the
// Deployment does, as far as a test process can: with the ServiceAccount and the ClusterRole
// that config/rbac installs (role.yaml, generated from the RBAC markers), so a permission the
// markers forgot fails the tests here as it would on a real cluster.
//
// Metrics and health probes are off: Envoy Gateway, run next to it by package envoygateway,
// holds the operator's default ports (8080, 8081).
package operator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

const (
	// Namespace and ServiceAccount are the operator's identity, as config/default names them.
	Namespace      = "inferencepool-operator-system"
	ServiceAccount = "inferencepool-operator-controller-manager"
	// ClusterRole is config/rbac/role.yaml's role, applied under the name config/default gives it.
	ClusterRole = "inferencepool-operator-manager-role"
)

// Options configure Start.
type Options struct {
	// LogFile receives the operator's log (debug level). Empty discards it.
	LogFile string
	// EnvoyGatewayClass is the Envoy Gateway GatewayClass of classes without parameters
	// (the operator's --envoy-gateway-class); default "eg".
	EnvoyGatewayClass string
}

// Operator is a running operator.
type Operator struct {
	// Config is the operator's own identity (its ServiceAccount's token).
	Config *rest.Config

	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	err    error // why the manager stopped, once it has
	log    *os.File
}

// Start installs the operator's RBAC (ServiceAccount, config/rbac/role.yaml, a binding) into
// the cluster that admin reaches, and starts the operator's manager with that ServiceAccount's
// token. The CRDs must already be installed. Stop it before the cluster.
func Start(ctx context.Context, admin *rest.Config, opts Options) (*Operator, error) {
	if opts.EnvoyGatewayClass == "" {
		opts.EnvoyGatewayClass = "eg"
	}
	cfg, err := identity(ctx, admin)
	if err != nil {
		return nil, err
	}
	op := &Operator{Config: cfg, done: make(chan struct{})}
	logger := zap.New(zap.WriteTo(io.Discard))
	if opts.LogFile != "" {
		if op.log, err = os.Create(opts.LogFile); err != nil {
			return nil, err
		}
		logger = zap.New(zap.Level(zapcore.DebugLevel), zap.WriteTo(op.log))
	}
	// controller-runtime logs through one global logger; a test process runs one operator.
	ctrl.SetLogger(logger)

	mgr, err := ctrl.NewManager(cfg, controllers.ManagerOptions(ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	}))
	if err != nil {
		op.closeLog()
		return nil, fmt.Errorf("operator manager: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	op.cancel = cancel
	if err := controllers.Setup(runCtx, mgr, controllers.Options{DefaultEnvoyGatewayClass: opts.EnvoyGatewayClass}); err != nil {
		cancel()
		op.closeLog()
		return nil, fmt.Errorf("operator controllers: %w", err)
	}
	go func() {
		defer close(op.done)
		err := mgr.Start(runCtx)
		if err == nil && runCtx.Err() == nil {
			err = errors.New("operator manager returned")
		}
		op.mu.Lock()
		op.err = err
		if err == nil {
			op.err = errors.New("operator stopped")
		}
		op.mu.Unlock()
	}()
	// The caches sync within a second on the test cluster; waiting here makes a broken
	// operator fail the setup rather than every test.
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		_ = op.Stop()
		return nil, fmt.Errorf("operator caches did not sync: %v", op.Healthy())
	}
	return op, nil
}

// Healthy returns why the operator stopped, or nil while it runs.
func (op *Operator) Healthy() error {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.err
}

// Stop stops the manager and waits for it.
func (op *Operator) Stop() error {
	op.cancel()
	select {
	case <-op.done:
	case <-time.After(30 * time.Second):
		return errors.New("operator manager did not stop within 30s")
	}
	op.closeLog()
	return nil
}

func (op *Operator) closeLog() {
	if op.log != nil {
		_ = op.log.Close()
	}
}

// identity applies the operator's namespace, ServiceAccount, ClusterRole (config/rbac/role.yaml)
// and ClusterRoleBinding, and returns a configuration authenticating as that ServiceAccount.
func identity(ctx context.Context, admin *rest.Config) (*rest.Config, error) {
	roles, err := cluster.ReadObjects(filepath.Join(envtest.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, err
	}
	if len(roles) != 1 || roles[0].GetKind() != "ClusterRole" {
		return nil, fmt.Errorf("config/rbac/role.yaml: want one ClusterRole, got %d objects", len(roles))
	}
	role := roles[0]
	role.SetName(ClusterRole)
	// The ClusterRole comes before its binding: binding a role needs it to exist.
	objs := []runtime.Object{
		&corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: Namespace},
		},
		&corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: metav1.ObjectMeta{Name: ServiceAccount, Namespace: Namespace},
		},
		role,
		&rbacv1.ClusterRoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: "inferencepool-operator-manager-rolebinding"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ClusterRole},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: ServiceAccount, Namespace: Namespace}},
		},
	}
	var apply []*unstructured.Unstructured
	for _, o := range objs {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, err
		}
		apply = append(apply, &unstructured.Unstructured{Object: u})
	}
	if err := cluster.Apply(ctx, admin, apply...); err != nil {
		return nil, fmt.Errorf("operator RBAC: %w", err)
	}
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, err
	}
	expiry := int64((48 * time.Hour).Seconds())
	tr, err := cs.CoreV1().ServiceAccounts(Namespace).CreateToken(ctx, ServiceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token for %s/%s: %w", Namespace, ServiceAccount, err)
	}
	cfg := rest.AnonymousClientConfig(admin)
	cfg.BearerToken = tr.Status.Token
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}
