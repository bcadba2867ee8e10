package chartgen

import (
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/inferencepool-operator/inferencepool-operator/hack/bundle/bundlegen"
)

// configServiceAccount is the operator's ServiceAccount in config/rbac, before config/default's
// prefix. The chart's own template creates it (serviceAccount.create, .name, .annotations), and
// every binding to it becomes a binding to the chart's ServiceAccount.
const configServiceAccount = "controller-manager"

// Placeholders in the marshalled YAML, replaced by template actions afterwards (a template action is
// not a YAML string sigs.k8s.io/yaml would leave alone).
const (
	roleRefPlaceholder          = "__ROLE_REF_NAME__"
	subjectNamePlaceholder      = "__SERVICE_ACCOUNT_NAME__"
	subjectNamespacePlaceholder = "__SERVICE_ACCOUNT_NAMESPACE__"
)

// addRBAC turns every object of config/rbac (kustomize-rendered, so exactly what its kustomization
// lists) into templates/rbac/<name>.yaml: the same rules and bindings, named with the chart's
// prefix, namespaced objects in the release namespace, subjects the chart's ServiceAccount.
func addRBAC(root string, files bundlegen.Files) error {
	objs, err := bundlegen.Render(root, rbacSourceDir)
	if err != nil {
		return err
	}
	sawServiceAccount := false
	for _, obj := range objs {
		if obj.GroupVersionKind().Group == "" && obj.GetKind() == "ServiceAccount" {
			if obj.GetName() != configServiceAccount {
				return fmt.Errorf("%s: ServiceAccount %q; the chart knows only %q", rbacSourceDir, obj.GetName(), configServiceAccount)
			}
			sawServiceAccount = true
			continue
		}
		body, err := rbacTemplate(obj)
		if err != nil {
			return fmt.Errorf("%s: %s %s: %w", rbacSourceDir, obj.GetKind(), obj.GetName(), err)
		}
		p := rbacDir + "/" + obj.GetName() + ".yaml"
		if _, dup := files[p]; dup {
			return fmt.Errorf("%s: two objects named %s", rbacSourceDir, obj.GetName())
		}
		files[p] = body
	}
	if !sawServiceAccount {
		return fmt.Errorf("%s has no ServiceAccount %q", rbacSourceDir, configServiceAccount)
	}
	return nil
}

func rbacTemplate(obj *unstructured.Unstructured) ([]byte, error) {
	if obj.GroupVersionKind().Group != rbacv1.GroupName {
		return nil, fmt.Errorf("not an RBAC object; the chart generator handles only RBAC here")
	}
	if len(obj.GetLabels()) > 0 || len(obj.GetAnnotations()) > 0 {
		return nil, fmt.Errorf("has labels or annotations, which the chart would drop")
	}
	namespaced := obj.GetNamespace() != ""
	body := map[string]interface{}{}
	var replacements []string
	switch obj.GetKind() {
	case "Role", "ClusterRole":
		role := &rbacv1.ClusterRole{}
		if err := fromUnstructured(obj, role); err != nil {
			return nil, err
		}
		if role.AggregationRule != nil {
			return nil, fmt.Errorf("aggregationRule is not supported")
		}
		body["rules"] = role.Rules
	case "RoleBinding", "ClusterRoleBinding":
		b := &rbacv1.RoleBinding{}
		if err := fromUnstructured(obj, b); err != nil {
			return nil, err
		}
		roleRef := b.RoleRef
		replacements = append(replacements, roleRefPlaceholder, include("name", fmt.Sprintf("(list . %q)", roleRef.Name)))
		roleRef.Name = roleRefPlaceholder
		body["roleRef"] = roleRef
		if len(b.Subjects) != 1 || b.Subjects[0].Kind != rbacv1.ServiceAccountKind || b.Subjects[0].Name != configServiceAccount {
			return nil, fmt.Errorf("subjects %+v: the chart binds only the operator's ServiceAccount %q", b.Subjects, configServiceAccount)
		}
		body["subjects"] = []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: subjectNamePlaceholder, Namespace: subjectNamespacePlaceholder}}
		replacements = append(replacements,
			subjectNamePlaceholder, include("serviceAccountName", "."),
			subjectNamespacePlaceholder, "{{ .Release.Namespace }}")
	default:
		return nil, fmt.Errorf("kind %s is not supported", obj.GetKind())
	}
	if err := onlyFields(obj, body); err != nil {
		return nil, err
	}
	y, err := yaml.Marshal(body)
	if err != nil {
		return nil, err
	}
	var out strings.Builder
	out.WriteString(templateHeader(rbacSourceDir))
	fmt.Fprintf(&out, "apiVersion: %s\nkind: %s\n", obj.GetAPIVersion(), obj.GetKind())
	out.WriteString(metadataBlock(obj.GetName(), namespaced, ""))
	out.WriteString(strings.NewReplacer(replacements...).Replace(string(y)))
	return []byte(out.String()), nil
}

// onlyFields fails when obj has a top-level field the template does not carry, so a new field in
// config/rbac cannot be dropped silently.
func onlyFields(obj *unstructured.Unstructured, body map[string]interface{}) error {
	var extra []string
	for k := range obj.Object {
		if _, ok := body[k]; !ok && k != "apiVersion" && k != "kind" && k != "metadata" {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		return fmt.Errorf("fields %v are not carried into the chart", extra)
	}
	return nil
}
