package bundlegen

import (
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// collected is config/manifests sorted into what goes where in the bundle.
type collected struct {
	base        *unstructured.Unstructured // the ClusterServiceVersion base
	scorecard   *unstructured.Unstructured
	crds        []*unstructured.Unstructured
	deployments []*unstructured.Unstructured

	// permissions and clusterPermissions per ServiceAccount of a Deployment: the rules of the
	// Roles (and ClusterRoles bound by RoleBindings) and of the ClusterRoles bound by
	// ClusterRoleBindings to it, in role name order. OLM creates the ServiceAccounts, roles and
	// bindings from these.
	permissions        map[string][]interface{}
	clusterPermissions map[string][]interface{}

	// extras are written to bundle/manifests as they are, without a namespace (OLM installs them
	// in the operator's namespace): Services, and RBAC not bound to a Deployment's ServiceAccount.
	extras []*unstructured.Unstructured
}

// extraKinds are the kinds this generator passes into the bundle as plain manifests: kinds OLM
// can install from a registry+v1 bundle. Anything else in config/manifests is an error rather
// than a silent omission.
var extraKinds = map[schema.GroupKind]bool{
	{Kind: "Service"}:                                        true,
	{Kind: "ConfigMap"}:                                      true,
	{Group: rbacv1.GroupName, Kind: "Role"}:                  true,
	{Group: rbacv1.GroupName, Kind: "ClusterRole"}:           true,
	{Group: rbacv1.GroupName, Kind: "RoleBinding"}:           true,
	{Group: rbacv1.GroupName, Kind: "ClusterRoleBinding"}:    true,
	{Group: "policy", Kind: "PodDisruptionBudget"}:           true,
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"}:      true,
	{Group: "monitoring.coreos.com", Kind: "ServiceMonitor"}: true,
	{Group: "monitoring.coreos.com", Kind: "PrometheusRule"}: true,
}

func collect(objs []*unstructured.Unstructured) (*collected, error) {
	c := &collected{permissions: map[string][]interface{}{}, clusterPermissions: map[string][]interface{}{}}
	var (
		roles, clusterRoles               []*unstructured.Unstructured
		roleBindings, clusterRoleBindings []*unstructured.Unstructured
		serviceAccounts, others           []*unstructured.Unstructured
	)
	for _, obj := range objs {
		gk := obj.GroupVersionKind().GroupKind()
		switch {
		case gk == schema.GroupKind{Group: "operators.coreos.com", Kind: "ClusterServiceVersion"}:
			if c.base != nil {
				return nil, fmt.Errorf("config/manifests renders two ClusterServiceVersions")
			}
			c.base = obj
		case gk == schema.GroupKind{Group: "scorecard.operatorframework.io", Kind: "Configuration"}:
			c.scorecard = obj
		case gk == schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:
			c.crds = append(c.crds, obj)
		case gk == schema.GroupKind{Group: "apps", Kind: "Deployment"}:
			c.deployments = append(c.deployments, obj)
		case gk == schema.GroupKind{Kind: "Namespace"}:
			// OLM installs into the namespace of the OperatorGroup.
		case gk == schema.GroupKind{Kind: "ServiceAccount"}:
			serviceAccounts = append(serviceAccounts, obj)
		case gk == schema.GroupKind{Group: rbacv1.GroupName, Kind: "Role"}:
			roles = append(roles, obj)
		case gk == schema.GroupKind{Group: rbacv1.GroupName, Kind: "ClusterRole"}:
			clusterRoles = append(clusterRoles, obj)
		case gk == schema.GroupKind{Group: rbacv1.GroupName, Kind: "RoleBinding"}:
			roleBindings = append(roleBindings, obj)
		case gk == schema.GroupKind{Group: rbacv1.GroupName, Kind: "ClusterRoleBinding"}:
			clusterRoleBindings = append(clusterRoleBindings, obj)
		case extraKinds[gk]:
			others = append(others, obj)
		default:
			return nil, fmt.Errorf("config/manifests renders %s %s, which the bundle cannot carry", gk, obj.GetName())
		}
	}
	if c.base == nil {
		return nil, fmt.Errorf("config/manifests renders no ClusterServiceVersion base")
	}
	if len(c.deployments) == 0 {
		return nil, fmt.Errorf("config/manifests renders no Deployment")
	}

	// The ServiceAccounts OLM creates for the CSV's deployments.
	deploymentSAs := map[string]bool{}
	for _, d := range c.deployments {
		dep := &appsv1.Deployment{}
		if err := fromUnstructured(d, dep); err != nil {
			return nil, err
		}
		sa := dep.Spec.Template.Spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		deploymentSAs[sa] = true
	}
	for _, sa := range serviceAccounts {
		if !deploymentSAs[sa.GetName()] {
			others = append(others, sa)
		}
	}

	// Bindings to the deployments' ServiceAccounts become CSV permissions; the roles they bind are
	// then consumed unless something else binds them too.
	consumedRoles, consumedClusterRoles := map[string]bool{}, map[string]bool{}
	applied := map[string]bool{} // "<cluster>/<sa>/<roleRef kind>/<name>": a role counts once per SA
	roleRules, err := rulesByName(roles)
	if err != nil {
		return nil, err
	}
	clusterRoleRules, err := rulesByName(clusterRoles)
	if err != nil {
		return nil, err
	}
	bound := func(bindings []*unstructured.Unstructured, cluster bool) error {
		for _, b := range bindings {
			subjects, ref, err := bindingOf(b)
			if err != nil {
				return err
			}
			var rest []rbacv1.Subject
			var sas []string
			for _, s := range subjects {
				if s.Kind == rbacv1.ServiceAccountKind && deploymentSAs[s.Name] {
					sas = append(sas, s.Name)
				} else {
					rest = append(rest, s)
				}
			}
			if len(sas) > 0 {
				var rules []interface{}
				switch {
				case ref.Kind == "Role" && !cluster:
					r, ok := roleRules[ref.Name]
					if !ok {
						return fmt.Errorf("RoleBinding %s binds Role %s, which config/manifests does not render", b.GetName(), ref.Name)
					}
					rules = r
					consumedRoles[ref.Name] = true
				case ref.Kind == "ClusterRole":
					r, ok := clusterRoleRules[ref.Name]
					if !ok {
						return fmt.Errorf("%s %s binds ClusterRole %s, which config/manifests does not render", b.GetKind(), b.GetName(), ref.Name)
					}
					rules = r
					consumedClusterRoles[ref.Name] = true
				default:
					return fmt.Errorf("%s %s: unsupported roleRef kind %s", b.GetKind(), b.GetName(), ref.Kind)
				}
				for _, sa := range sas {
					key := fmt.Sprintf("%t/%s/%s/%s", cluster, sa, ref.Kind, ref.Name)
					if applied[key] {
						continue
					}
					applied[key] = true
					if cluster {
						c.clusterPermissions[sa] = append(c.clusterPermissions[sa], rules...)
					} else {
						c.permissions[sa] = append(c.permissions[sa], rules...)
					}
				}
			}
			if len(rest) > 0 {
				// Keep the binding for its other subjects, as operator-sdk does.
				kept := b.DeepCopy()
				var out []interface{}
				for _, s := range rest {
					m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&s)
					if err != nil {
						return err
					}
					out = append(out, m)
				}
				if err := unstructured.SetNestedSlice(kept.Object, out, "subjects"); err != nil {
					return err
				}
				others = append(others, kept)
			}
		}
		return nil
	}
	// Bindings are applied in name order so the concatenated rules have a stable order.
	sortByName(roleBindings)
	sortByName(clusterRoleBindings)
	if err := bound(roleBindings, false); err != nil {
		return nil, err
	}
	if err := bound(clusterRoleBindings, true); err != nil {
		return nil, err
	}
	for _, r := range roles {
		if !consumedRoles[r.GetName()] {
			others = append(others, r)
		}
	}
	for _, r := range clusterRoles {
		if !consumedClusterRoles[r.GetName()] {
			others = append(others, r)
		}
	}

	for _, obj := range others {
		o := obj.DeepCopy()
		o.SetNamespace("")
		c.extras = append(c.extras, o)
	}
	sortByName(c.crds)
	sortByName(c.deployments)
	return c, nil
}

func rulesByName(roles []*unstructured.Unstructured) (map[string][]interface{}, error) {
	out := map[string][]interface{}{}
	for _, r := range roles {
		if _, dup := out[r.GetName()]; dup {
			return nil, fmt.Errorf("two %ss named %s", r.GetKind(), r.GetName())
		}
		rules, _, err := unstructured.NestedSlice(r.Object, "rules")
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err)
		}
		out[r.GetName()] = rules
	}
	return out, nil
}

func bindingOf(b *unstructured.Unstructured) ([]rbacv1.Subject, rbacv1.RoleRef, error) {
	rb := &rbacv1.RoleBinding{} // ClusterRoleBinding has the same subjects and roleRef
	if err := fromUnstructured(b, rb); err != nil {
		return nil, rbacv1.RoleRef{}, err
	}
	if rb.RoleRef.APIGroup != "" && rb.RoleRef.APIGroup != rbacv1.GroupName {
		return nil, rbacv1.RoleRef{}, fmt.Errorf("%s %s: roleRef apiGroup %s", b.GetKind(), b.GetName(), rb.RoleRef.APIGroup)
	}
	return rb.Subjects, rb.RoleRef, nil
}

func fromUnstructured(u *unstructured.Unstructured, into interface{}) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}

func sortByName(objs []*unstructured.Unstructured) {
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].GetName() < objs[j].GetName() })
}
