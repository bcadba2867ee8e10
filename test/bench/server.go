//go:build bench

package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crenvtest "sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// The benchmark's writers: each authenticates as its own user, bound to the operator's
// ClusterRole (config/rbac/role.yaml), so the audit log tells their writes apart and both go
// through the same authorization.
const (
	operatorUser = "bench-operator"
	rawUser      = "bench-raw-writer"
)

// server is one API server of the benchmark: envtest's kube-apiserver and etcd (built from
// source by hack/build-tool.sh), every CRD installed, an audit log of the writers' writes.
type server struct {
	name     string
	env      *crenvtest.Environment
	admin    *rest.Config
	auditLog string
	users    map[string]*crenvtest.AuthenticatedUser
}

// startServer starts an API server whose state and audit log live in dir/name*. Both servers of
// a run are started by this function, with the same flags: the comparison stays fair.
func startServer(ctx context.Context, dir, name string) (*server, error) {
	env, err := testenv.New()
	if err != nil {
		return nil, err
	}
	policy := filepath.Join(dir, name+"-audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(scale.AuditPolicy(operatorUser, rawUser)), 0o644); err != nil {
		return nil, err
	}
	s := &server{name: name, env: env, auditLog: filepath.Join(dir, name+"-audit.log"), users: map[string]*crenvtest.AuthenticatedUser{}}
	// The API server appends to its audit log: a previous run's writes would count as this one's.
	if err := os.Remove(s.auditLog); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	env.ControlPlane.GetAPIServer().Configure().
		Set("audit-policy-file", policy).
		Set("audit-log-path", s.auditLog).
		// Synchronous: a write is in the log once its response is sent.
		Set("audit-log-mode", "blocking").
		// envtest's default /24 holds 254 ClusterIPs; each endpoint picker Service takes one.
		Set("service-cluster-ip-range", "10.96.0.0/16")
	if s.admin, err = env.Start(); err != nil {
		return nil, fmt.Errorf("starting API server %s: %w", name, err)
	}
	s.admin.QPS = -1 // no client-side rate limit for the setup either
	for _, u := range []string{operatorUser, rawUser} {
		if s.users[u], err = env.AddUser(crenvtest.User{Name: u}, nil); err != nil {
			return nil, errors.Join(err, s.stop())
		}
	}
	if err := s.bindRole(ctx); err != nil {
		return nil, errors.Join(err, s.stop())
	}
	return s, nil
}

// config is the client configuration of user, without client-side rate limit (as the
// operator's: controller-runtime disables it and relies on API priority and fairness).
func (s *server) config(user string) *rest.Config {
	cfg := rest.CopyConfig(s.users[user].Config())
	cfg.QPS = -1
	return cfg
}

// writeKubeconfig writes user's kubeconfig to path, for the operator process.
func (s *server) writeKubeconfig(user, path string) error {
	data, err := s.users[user].KubeConfig()
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// client is an admin client (no rate limit) knowing every kind the operator reads or writes.
func (s *server) client() (client.Client, error) {
	return client.New(s.admin, client.Options{Scheme: controllers.NewScheme()})
}

// bindRole installs config/rbac/role.yaml and binds it to both writers.
func (s *server) bindRole(ctx context.Context) error {
	return scale.BindClusterRole(ctx, s.admin, operatorUser, rawUser)
}

func (s *server) stop() error {
	if s.env == nil {
		return nil
	}
	err := s.env.Stop()
	s.env = nil
	if err != nil {
		return fmt.Errorf("stopping API server %s: %w", s.name, err)
	}
	return nil
}
