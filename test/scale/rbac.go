package scale

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// ClusterRole is config/rbac/role.yaml's ClusterRole, under the name config/default gives it.
const ClusterRole = "inferencepool-operator-manager-role"

// BindClusterRole installs config/rbac/role.yaml as ClusterRole and binds it to each user: the
// operator's permissions, exactly as the markers generate them, so a permission they lack fails
// here as in a cluster.
func BindClusterRole(ctx context.Context, admin *rest.Config, users ...string) error {
	roles, err := cluster.ReadObjects(filepath.Join(testenv.RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		return err
	}
	if len(roles) != 1 || roles[0].GetKind() != "ClusterRole" {
		return fmt.Errorf("config/rbac/role.yaml: want one ClusterRole, got %d objects", len(roles))
	}
	roles[0].SetName(ClusterRole)
	objs := []*unstructured.Unstructured{roles[0]}
	for _, u := range users {
		b, err := toUnstructured(&rbacv1.ClusterRoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: u},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ClusterRole},
			Subjects:   []rbacv1.Subject{userSubject(u)},
		})
		if err != nil {
			return err
		}
		objs = append(objs, b)
	}
	return cluster.Apply(ctx, admin, objs...)
}

// BindLeaderElectionRole installs config/rbac/leader_election_role.yaml in namespace (which
// must exist) and binds it to each user: what --leader-elect needs there.
func BindLeaderElectionRole(ctx context.Context, admin *rest.Config, namespace string, users ...string) error {
	roles, err := cluster.ReadObjects(filepath.Join(testenv.RepoRoot(), "config", "rbac", "leader_election_role.yaml"))
	if err != nil {
		return err
	}
	if len(roles) != 1 || roles[0].GetKind() != "Role" {
		return fmt.Errorf("config/rbac/leader_election_role.yaml: want one Role, got %d objects", len(roles))
	}
	role := roles[0]
	role.SetNamespace(namespace)
	binding := &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: role.GetName(), Namespace: namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.GetName()},
	}
	for _, u := range users {
		binding.Subjects = append(binding.Subjects, userSubject(u))
	}
	b, err := toUnstructured(binding)
	if err != nil {
		return err
	}
	return cluster.Apply(ctx, admin, role, b)
}

func userSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// AuditPolicy is an audit policy that logs, at Metadata level (no bodies, so the log costs the
// API server little), every request of users except reads: what remains are their writes
// (ReadWrites reads them back).
func AuditPolicy(users ...string) string {
	return `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted, Panic]
rules:
- level: None
  verbs: [get, list, watch]
- level: Metadata
  users: [` + strings.Join(users, ", ") + `]
- level: None
`
}
