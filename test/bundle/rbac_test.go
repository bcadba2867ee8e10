package bundle

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/inferencepool-operator/inferencepool-operator/test/installtest"
)

// TestBundleRBACEqualsConfigRBAC: config/rbac (role.yaml generated from the markers in
// controllers/rbac.go, plus the leader-election and metrics roles) is the one source of the
// operator's permissions; the CSV grants exactly those rules to exactly the Deployment's
// ServiceAccount, and the roles nothing binds to it (metrics-reader) ship as bundle manifests
// with the same rules.
func TestBundleRBACEqualsConfigRBAC(t *testing.T) {
	want := installtest.ConfigRBAC(t)
	wantCluster, wantNamespaced, unbound := want.Cluster, want.Namespaced, want.Unbound
	if len(wantCluster) == 0 || len(wantNamespaced) == 0 {
		t.Fatalf("config/rbac binds %d cluster and %d namespaced rules to %s; expected both", len(wantCluster), len(wantNamespaced), installtest.ConfigServiceAccount)
	}
	csv := committedCSV(t)
	spec := csv.Spec.InstallStrategy.StrategySpec
	if len(spec.DeploymentSpecs) != 1 {
		t.Fatalf("CSV has %d deployments, want 1", len(spec.DeploymentSpecs))
	}
	sa := spec.DeploymentSpecs[0].Spec.Template.Spec.ServiceAccountName
	if sa != "inferencepool-operator-"+installtest.ConfigServiceAccount {
		t.Errorf("CSV deployment runs as %q", sa)
	}
	check := func(what string, perms []v1alpha1.StrategyDeploymentPermissions, want []rbacv1.PolicyRule) {
		if len(perms) != 1 || perms[0].ServiceAccountName != sa {
			t.Errorf("CSV %s: want one entry, for %s; got %+v", what, sa, perms)
			return
		}
		installtest.SameRules(t, "CSV "+what, perms[0].Rules, want)
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
		t.Errorf("bundle ships roles %v; config/rbac's unbound roles are %v", installtest.Keys(shipped), installtest.Keys(unbound))
	}
	for key, rules := range unbound {
		got, ok := shipped[key]
		if !ok {
			t.Errorf("config/rbac's %s is not in the bundle", key)
			continue
		}
		installtest.SameRules(t, key, got, rules)
	}
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
