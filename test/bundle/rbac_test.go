package bundle

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// The operator's ServiceAccount in config/rbac, before config/default's name prefix.
const configServiceAccount = "controller-manager"

// configRBAC reads config/rbac's YAML files directly (not through kustomize or the generator) and
// returns the rules bound to the operator's ServiceAccount: through ClusterRoleBindings (cluster
// permissions) and RoleBindings (namespaced permissions), plus the roles nothing binds to it.
func configRBAC(t *testing.T) (cluster, namespaced []rbacv1.PolicyRule, unbound map[string][]rbacv1.PolicyRule) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(), "config", "rbac", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no config/rbac/*.yaml: %v", err)
	}
	roles := map[string][]rbacv1.PolicyRule{} // "<kind>/<name>"
	type binding struct {
		kind string
		rb   rbacv1.RoleBinding
	}
	var bindings []binding
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		for _, u := range readYAMLDocs(t, f) {
			switch u.GetKind() {
			case "Role", "ClusterRole":
				r := &rbacv1.ClusterRole{}
				mustConvert(t, u, r)
				roles[u.GetKind()+"/"+u.GetName()] = r.Rules
			case "RoleBinding", "ClusterRoleBinding":
				rb := rbacv1.RoleBinding{}
				mustConvert(t, u, &rb)
				bindings = append(bindings, binding{u.GetKind(), rb})
			}
		}
	}
	used := map[string]bool{}
	for _, b := range bindings {
		toUs := false
		for _, s := range b.rb.Subjects {
			toUs = toUs || (s.Kind == rbacv1.ServiceAccountKind && s.Name == configServiceAccount)
		}
		if !toUs {
			continue
		}
		key := b.rb.RoleRef.Kind + "/" + b.rb.RoleRef.Name
		rules, ok := roles[key]
		if !ok {
			t.Fatalf("%s %s binds %s, which config/rbac does not define", b.kind, b.rb.Name, key)
		}
		used[key] = true
		if b.kind == "ClusterRoleBinding" {
			cluster = append(cluster, rules...)
		} else {
			namespaced = append(namespaced, rules...)
		}
	}
	unbound = map[string][]rbacv1.PolicyRule{}
	for key, rules := range roles {
		if !used[key] {
			unbound[key] = rules
		}
	}
	return cluster, namespaced, unbound
}

func mustConvert(t *testing.T, u *unstructured.Unstructured, into interface{}) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

// canonical turns rules into sorted strings, so two rule lists compare as multisets.
func canonical(t *testing.T, rules []rbacv1.PolicyRule) []string {
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

func sameRules(t *testing.T, what string, got, want []rbacv1.PolicyRule) {
	t.Helper()
	g, w := canonical(t, got), canonical(t, want)
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("%s differ from config/rbac:\n bundle:\n  %s\n config/rbac:\n  %s", what, strings.Join(g, "\n  "), strings.Join(w, "\n  "))
	}
}

// TestBundleRBACEqualsConfigRBAC: config/rbac (role.yaml generated from the markers in
// controllers/rbac.go, plus the leader-election and metrics roles) is the one source of the
// operator's permissions; the CSV grants exactly those rules to exactly the Deployment's
// ServiceAccount, and the roles nothing binds to it (metrics-reader) ship as bundle manifests
// with the same rules.
func TestBundleRBACEqualsConfigRBAC(t *testing.T) {
	wantCluster, wantNamespaced, unbound := configRBAC(t)
	if len(wantCluster) == 0 || len(wantNamespaced) == 0 {
		t.Fatalf("config/rbac binds %d cluster and %d namespaced rules to %s; expected both", len(wantCluster), len(wantNamespaced), configServiceAccount)
	}
	csv := committedCSV(t)
	spec := csv.Spec.InstallStrategy.StrategySpec
	if len(spec.DeploymentSpecs) != 1 {
		t.Fatalf("CSV has %d deployments, want 1", len(spec.DeploymentSpecs))
	}
	sa := spec.DeploymentSpecs[0].Spec.Template.Spec.ServiceAccountName
	if sa != "inferencepool-operator-"+configServiceAccount {
		t.Errorf("CSV deployment runs as %q", sa)
	}
	check := func(what string, perms []v1alpha1.StrategyDeploymentPermissions, want []rbacv1.PolicyRule) {
		if len(perms) != 1 || perms[0].ServiceAccountName != sa {
			t.Errorf("CSV %s: want one entry, for %s; got %+v", what, sa, perms)
			return
		}
		sameRules(t, "CSV "+what, perms[0].Rules, want)
	}
	check("clusterPermissions", spec.ClusterPermissions, wantCluster)
	check("permissions", spec.Permissions, wantNamespaced)

	// The unbound roles, by name without config/default's prefix.
	shipped := map[string][]rbacv1.PolicyRule{}
	manifests, err := filepath.Glob(filepath.Join(bundleDir(), "manifests", "*_rbac.authorization.k8s.io_v1_*role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range manifests {
		for _, u := range readYAMLDocs(t, f) {
			r := &rbacv1.ClusterRole{}
			mustConvert(t, u, r)
			shipped[u.GetKind()+"/"+strings.TrimPrefix(u.GetName(), "inferencepool-operator-")] = r.Rules
		}
	}
	if len(shipped) != len(unbound) {
		t.Errorf("bundle ships roles %v; config/rbac's unbound roles are %v", keys(shipped), keys(unbound))
	}
	for key, rules := range unbound {
		got, ok := shipped[key]
		if !ok {
			t.Errorf("config/rbac's %s is not in the bundle", key)
			continue
		}
		sameRules(t, key, got, rules)
	}
}

func keys(m map[string][]rbacv1.PolicyRule) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// secretsAllowed lists the features that truly need access to Secrets, by rule ("<group>/<resource>:
// <why>"). None does: TLS material stays with Envoy Gateway, and the EPP CA certificates of TLS mode
// Verify are ConfigMaps that Envoy Gateway reads, not the operator. A feature that needs Secrets must
// say so here and in docs/install.md.
var secretsAllowed = map[string]string{}

// TestRBACIsLeastPrivilege: no wildcard verbs, resources, groups or URLs; no escalate, bind or
// impersonate; no Secrets unless listed above. Checked on everything config/default installs and
// on the CSV.
func TestRBACIsLeastPrivilege(t *testing.T) {
	type source struct {
		name  string
		rules []rbacv1.PolicyRule
	}
	var sources []source
	for _, u := range render(t, "config/default") {
		if u.GetKind() == "Role" || u.GetKind() == "ClusterRole" {
			r := &rbacv1.ClusterRole{}
			mustConvert(t, u, r)
			if r.AggregationRule != nil {
				t.Errorf("%s %s aggregates other roles; its permissions are not visible here", u.GetKind(), u.GetName())
			}
			sources = append(sources, source{"config/default " + u.GetKind() + " " + u.GetName(), r.Rules})
		}
	}
	spec := committedCSV(t).Spec.InstallStrategy.StrategySpec
	for _, p := range append(append([]v1alpha1.StrategyDeploymentPermissions{}, spec.Permissions...), spec.ClusterPermissions...) {
		sources = append(sources, source{"CSV permissions of " + p.ServiceAccountName, p.Rules})
	}
	if len(sources) < 4 {
		t.Fatalf("found only %d sets of rules", len(sources))
	}
	for _, s := range sources {
		for _, r := range s.rules {
			for _, field := range [][]string{r.Verbs, r.Resources, r.APIGroups, r.NonResourceURLs, r.ResourceNames} {
				for _, v := range field {
					if strings.Contains(v, "*") {
						t.Errorf("%s: wildcard %q in %+v", s.name, v, r)
					}
				}
			}
			for _, v := range r.Verbs {
				if v == "escalate" || v == "bind" || v == "impersonate" {
					t.Errorf("%s: verb %q in %+v", s.name, v, r)
				}
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					if res == "secrets" || strings.HasPrefix(res, "secrets/") {
						if _, ok := secretsAllowed[g+"/"+res]; !ok {
							t.Errorf("%s: access to %s in %+v; no feature needs Secrets (see secretsAllowed)", s.name, res, r)
						}
					}
				}
			}
		}
	}
}
