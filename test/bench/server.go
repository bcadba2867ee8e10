//go:build bench

package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crenvtest "sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// The benchmark's writers: each authenticates as its own user, bound to the operator's
// ClusterRole (config/rbac/role.yaml), so the audit log tells their writes apart and both go
// through the same authorization.
const (
	operatorUser = "bench-operator"
	rawUser      = "bench-raw-writer"
	clusterRole  = "inferencepool-operator-manager-role"
)

// auditPolicy logs, at Metadata level (no bodies, so the log costs the API server little),
// every request of the benchmark's writers except reads: what remains are their writes.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted, Panic]
rules:
- level: None
  verbs: [get, list, watch]
- level: Metadata
  users: [` + operatorUser + `, ` + rawUser + `]
- level: None
`

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
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
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
	roles, err := cluster.ReadObjects(filepath.Join(testenv.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		return err
	}
	if len(roles) != 1 || roles[0].GetKind() != "ClusterRole" {
		return fmt.Errorf("config/rbac/role.yaml: want one ClusterRole, got %d objects", len(roles))
	}
	roles[0].SetName(clusterRole)
	objs := []*unstructured.Unstructured{roles[0]}
	for _, u := range []string{operatorUser, rawUser} {
		b := &rbacv1.ClusterRoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: u},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: u}},
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(b)
		if err != nil {
			return err
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return cluster.Apply(ctx, s.admin, objs...)
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
