package helm

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/inferencepool-operator/inferencepool-operator/test/installtest"
)

// TestChartRBACEqualsConfigRBAC: config/rbac (role.yaml generated from the markers in
// controllers/rbac.go, plus the leader-election and metrics roles) is the one source of the
// operator's permissions; the chart grants exactly those rules to the manager's ServiceAccount,
// cluster-wide and in the release namespace as config/rbac does, and ships the roles nothing binds
// to it (metrics-reader) with the same rules. Checked on what Helm renders, so a template that
// drops or renames a rule fails here even when the generated files are up to date.
func TestChartRBACEqualsConfigRBAC(t *testing.T) {
	want := installtest.ConfigRBAC(t)
	if len(want.Cluster) == 0 || len(want.Namespaced) == 0 || len(want.Unbound) == 0 {
		t.Fatalf("config/rbac gives %s %d cluster and %d namespaced rules and %d unbound roles; expected some of each",
			installtest.ConfigServiceAccount, len(want.Cluster), len(want.Namespaced), len(want.Unbound))
	}
	objs := render(t)
	got := installtest.BoundRBAC(t, "the chart", objs, serviceAccount)
	installtest.SameRules(t, "the chart's cluster rules", got.Cluster, want.Cluster)
	installtest.SameRules(t, "the chart's namespaced rules", got.Namespaced, want.Namespaced)

	// The unbound roles, by name without the chart's prefix.
	unbound := map[string][]rbacv1.PolicyRule{}
	for key, rules := range got.Unbound {
		kind, name, _ := strings.Cut(key, "/")
		unbound[kind+"/"+strings.TrimPrefix(name, releaseName+"-")] = rules
	}
	if strings.Join(installtest.Keys(unbound), ",") != strings.Join(installtest.Keys(want.Unbound), ",") {
		t.Errorf("the chart's unbound roles are %v; config/rbac's are %v", installtest.Keys(unbound), installtest.Keys(want.Unbound))
	}
	for key, rules := range want.Unbound {
		installtest.SameRules(t, "the chart's "+key, unbound[key], rules)
	}

	// Namespaced permissions apply in the release namespace, to the ServiceAccount there.
	for _, u := range append(ofKind(objs, "Role"), ofKind(objs, "RoleBinding")...) {
		if u.GetNamespace() != namespace {
			t.Errorf("%s %s in namespace %q, want the release namespace %s", u.GetKind(), u.GetName(), u.GetNamespace(), namespace)
		}
	}
	for _, u := range append(ofKind(objs, "ClusterRoleBinding"), ofKind(objs, "RoleBinding")...) {
		b := &rbacv1.RoleBinding{}
		installtest.MustConvert(t, u, b)
		for _, s := range b.Subjects {
			if s.Namespace != namespace {
				t.Errorf("%s %s binds %s/%s, want the release namespace %s", u.GetKind(), u.GetName(), s.Namespace, s.Name, namespace)
			}
		}
	}
}
