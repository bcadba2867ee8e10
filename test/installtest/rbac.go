package installtest

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ConfigServiceAccount is the operator's ServiceAccount in config/rbac, before config/default's
// name prefix.
const ConfigServiceAccount = "controller-manager"

// RBAC is the permissions a set of manifests gives one ServiceAccount.
type RBAC struct {
	// Cluster are the rules of the roles bound to it by ClusterRoleBindings.
	Cluster []rbacv1.PolicyRule
	// Namespaced are the rules of the roles bound to it by RoleBindings.
	Namespaced []rbacv1.PolicyRule
	// Unbound are the roles nothing binds to it (metrics-reader, for Prometheus), by
	// "<kind>/<name>".
	Unbound map[string][]rbacv1.PolicyRule
}

// ConfigRBAC reads config/rbac's YAML files directly (not through kustomize or a generator) and
// returns what they give the operator's ServiceAccount: the one source of its permissions.
func ConfigRBAC(t testing.TB) RBAC {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(RepoRoot(), "config", "rbac", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no config/rbac/*.yaml: %v", err)
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		if filepath.Base(f) != "kustomization.yaml" {
			objs = append(objs, ReadYAMLDocs(t, f)...)
		}
	}
	return BoundRBAC(t, "config/rbac", objs, ConfigServiceAccount)
}

// BoundRBAC returns what the roles and bindings among objs give the ServiceAccount named
// serviceAccount. A binding of it to a role objs do not define fails the test.
func BoundRBAC(t testing.TB, what string, objs []*unstructured.Unstructured, serviceAccount string) RBAC {
	t.Helper()
	roles := map[string][]rbacv1.PolicyRule{} // "<kind>/<name>"
	type binding struct {
		kind string
		rb   rbacv1.RoleBinding
	}
	var bindings []binding
	for _, u := range objs {
		switch u.GetKind() {
		case "Role", "ClusterRole":
			r := &rbacv1.ClusterRole{}
			MustConvert(t, u, r)
			roles[u.GetKind()+"/"+u.GetName()] = r.Rules
		case "RoleBinding", "ClusterRoleBinding":
			rb := rbacv1.RoleBinding{}
			MustConvert(t, u, &rb)
			bindings = append(bindings, binding{u.GetKind(), rb})
		}
	}
	out := RBAC{Unbound: map[string][]rbacv1.PolicyRule{}}
	used := map[string]bool{}
	for _, b := range bindings {
		toUs := false
		for _, s := range b.rb.Subjects {
			toUs = toUs || (s.Kind == rbacv1.ServiceAccountKind && s.Name == serviceAccount)
		}
		if !toUs {
			continue
		}
		key := b.rb.RoleRef.Kind + "/" + b.rb.RoleRef.Name
		rules, ok := roles[key]
		if !ok {
			t.Fatalf("%s: %s %s binds %s, which is not defined there", what, b.kind, b.rb.Name, key)
		}
		used[key] = true
		if b.kind == "ClusterRoleBinding" {
			out.Cluster = append(out.Cluster, rules...)
		} else {
			out.Namespaced = append(out.Namespaced, rules...)
		}
	}
	for key, rules := range roles {
		if !used[key] {
			out.Unbound[key] = rules
		}
	}
	return out
}

// canonical turns rules into sorted strings, so two rule lists compare as multisets.
func canonical(t testing.TB, rules []rbacv1.PolicyRule) []string {
	t.Helper()
	var out []string
	for _, r := range rules {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

// SameRules fails the test when got (from the install path named what) and config/rbac's want
// are not the same rules, in any order.
func SameRules(t testing.TB, what string, got, want []rbacv1.PolicyRule) {
	t.Helper()
	g, w := canonical(t, got), canonical(t, want)
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("%s differ from config/rbac:\n got:\n  %s\n config/rbac:\n  %s", what, strings.Join(g, "\n  "), strings.Join(w, "\n  "))
	}
}

// Keys returns the sorted keys of a role map.
func Keys(m map[string][]rbacv1.PolicyRule) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
