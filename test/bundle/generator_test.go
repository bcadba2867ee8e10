package bundle

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/inferencepool-operator/inferencepool-operator/hack/bundle/bundlegen"
)

// A small config/ tree that exercises every rule of the generator, independent of the
// project's own configuration.
const (
	fakeCSVBase = `apiVersion: operators.coreos.com/v1alpha1
kind: ClusterServiceVersion
metadata:
  name: placeholder.v0.0.0
  annotations:
    capabilities: Basic Install
spec:
  displayName: Widgets
  description: Makes widgets.
  installModes:
  - type: AllNamespaces
    supported: true
  customresourcedefinitions:
    owned:
    - name: widgets.example.com
      version: v1
      kind: Widget
      displayName: Widget
      description: A widget, described in the base.
  install:
    strategy: deployment
    spec:
      deployments: []
  version: 0.0.0
`
	fakeObjects = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object}}
  - name: v1beta1
    served: false
    storage: false
    schema: {openAPIV3Schema: {type: object}}
---
apiVersion: v1
kind: Namespace
metadata: {name: widgets-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: op, namespace: widgets-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: other, namespace: widgets-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: op, namespace: widgets-system, labels: {app: op}}
spec:
  selector: {matchLabels: {app: op}}
  template:
    metadata: {labels: {app: op}}
    spec:
      serviceAccountName: op
      containers:
      - name: manager
        image: registry.example.com/widgets/op:latest
      - name: sidecar
        image: registry.example.com/sidecar:1
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r1, namespace: widgets-system}
rules:
- {apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: a-r1, namespace: widgets-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r1}
subjects:
- {kind: ServiceAccount, name: op, namespace: widgets-system}
- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: c1}
rules:
- {apiGroups: [example.com], resources: [widgets], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: c1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: c1}
subjects:
- {kind: ServiceAccount, name: op, namespace: widgets-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: c2}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b-c2, namespace: widgets-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: c2}
subjects:
- {kind: ServiceAccount, name: op, namespace: widgets-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: unbound}
rules:
- {nonResourceURLs: [/metrics], verbs: [get]}
---
apiVersion: v1
kind: Service
metadata: {name: metrics, namespace: widgets-system}
spec:
  selector: {app: op}
  ports: [{port: 8443}]
`
	fakeScorecard = `apiVersion: scorecard.operatorframework.io/v1alpha3
kind: Configuration
metadata: {name: config}
stages: []
`
	fakeSamples = `apiVersion: example.com/v1
kind: Widget
metadata: {name: b}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-an-example}
`
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func fakeTree(objects string) map[string]string {
	return map[string]string{
		"config/manifests/kustomization.yaml": "resources: [csv.yaml, objects.yaml, scorecard.yaml]\n",
		"config/manifests/csv.yaml":           fakeCSVBase,
		"config/manifests/objects.yaml":       objects,
		"config/manifests/scorecard.yaml":     fakeScorecard,
		"config/samples/kustomization.yaml":   "resources: [samples.yaml]\n",
		"config/samples/samples.yaml":         fakeSamples,
	}
}

// TestGeneratorSplitsManifestsLikeOperatorSDK checks the generator's rules on a small tree: RBAC
// bound to the Deployment's ServiceAccount becomes CSV permissions (Roles and ClusterRoles bound by
// RoleBindings) and clusterPermissions (ClusterRoleBindings), and disappears from the manifests;
// what is bound to anyone else, or to nobody, stays a manifest; the Deployment's ServiceAccount and
// the Namespace are left to OLM; the manager image is retagged; owned CRDs list served versions;
// only samples of owned kinds become alm-examples.
func TestGeneratorSplitsManifestsLikeOperatorSDK(t *testing.T) {
	root := writeTree(t, fakeTree(fakeObjects))
	files, err := bundlegen.Generate(bundlegen.Options{Root: root, Version: "2.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	var manifests []string
	for _, p := range files.Paths() {
		if m, ok := strings.CutPrefix(p, "bundle/manifests/"); ok {
			manifests = append(manifests, m)
		}
	}
	want := []string{
		"a-r1_rbac.authorization.k8s.io_v1_rolebinding.yaml", // still binds alice
		"example.com_widgets.yaml",
		"inferencepool-operator.clusterserviceversion.yaml",
		"metrics_v1_service.yaml",
		"other_v1_serviceaccount.yaml",
		"unbound_rbac.authorization.k8s.io_v1_clusterrole.yaml",
	}
	sort.Strings(manifests)
	if strings.Join(manifests, " ") != strings.Join(want, " ") {
		t.Fatalf("bundle manifests:\n got  %v\n want %v", manifests, want)
	}
	if strings.Contains(string(files["bundle/manifests/metrics_v1_service.yaml"]), "namespace:") {
		t.Error("the Service keeps its namespace; OLM installs it in the operator's")
	}
	rb := string(files["bundle/manifests/a-r1_rbac.authorization.k8s.io_v1_rolebinding.yaml"])
	if !strings.Contains(rb, "alice") || strings.Contains(rb, "name: op") {
		t.Errorf("the kept RoleBinding should bind only alice:\n%s", rb)
	}

	csv := &v1alpha1.ClusterServiceVersion{}
	if err := yaml.UnmarshalStrict(files["bundle/manifests/inferencepool-operator.clusterserviceversion.yaml"], csv); err != nil {
		t.Fatal(err)
	}
	spec := csv.Spec.InstallStrategy.StrategySpec
	rulesOf := func(perms []v1alpha1.StrategyDeploymentPermissions) string {
		if len(perms) != 1 || perms[0].ServiceAccountName != "op" {
			t.Fatalf("permissions %+v, want one entry for op", perms)
		}
		var out []string
		for _, r := range perms[0].Rules {
			out = append(out, strings.Join(r.Resources, ",")+strings.Join(r.NonResourceURLs, ","))
		}
		return strings.Join(out, " ")
	}
	if got := rulesOf(spec.Permissions); got != "leases configmaps" {
		t.Errorf("permissions: %s, want r1's leases then c2's configmaps (binding name order)", got)
	}
	if got := rulesOf(spec.ClusterPermissions); got != "widgets" {
		t.Errorf("clusterPermissions: %s, want c1's widgets", got)
	}
	if len(spec.DeploymentSpecs) != 1 {
		t.Fatalf("deployments %+v", spec.DeploymentSpecs)
	}
	containers := spec.DeploymentSpecs[0].Spec.Template.Spec.Containers
	if containers[0].Image != "registry.example.com/widgets/op:v2.0.0" || containers[1].Image != "registry.example.com/sidecar:1" {
		t.Errorf("images %s, %s: want the manager retagged v2.0.0 and the sidecar untouched", containers[0].Image, containers[1].Image)
	}
	if csv.Annotations["containerImage"] != "registry.example.com/widgets/op:v2.0.0" {
		t.Errorf("containerImage %q", csv.Annotations["containerImage"])
	}
	owned := csv.Spec.CustomResourceDefinitions.Owned
	if len(owned) != 1 || owned[0].Version != "v1" || owned[0].Description != "A widget, described in the base." {
		t.Errorf("owned CRDs %+v: want v1 only (v1beta1 is not served), with the base's description", owned)
	}
	examples := strings.Join(strings.Fields(csv.Annotations["alm-examples"]), "")
	if !strings.Contains(examples, `"name":"a"`) || strings.Contains(examples, "ConfigMap") ||
		strings.Index(examples, `"name":"a"`) > strings.Index(examples, `"name":"b"`) {
		t.Errorf("alm-examples %s: want the Widgets a then b, and no ConfigMap", examples)
	}
}

// TestGeneratorRefusesWhatTheBundleCannotCarry: kinds OLM cannot install, and CSV descriptions of
// CRDs that config/ no longer has, are errors rather than silently dropped.
func TestGeneratorRefusesWhatTheBundleCannotCarry(t *testing.T) {
	pod := fakeObjects + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: stray, namespace: widgets-system}\nspec: {containers: [{name: c, image: x}]}\n"
	if _, err := bundlegen.Generate(bundlegen.Options{Root: writeTree(t, fakeTree(pod)), Version: "1.0.0"}); err == nil || !strings.Contains(err.Error(), "Pod") {
		t.Errorf("a Pod in config/manifests: err %v, want an error naming it", err)
	}
	noCRD := strings.Replace(fakeObjects, "widgets.example.com", "gadgets.example.com", 1)
	if _, err := bundlegen.Generate(bundlegen.Options{Root: writeTree(t, fakeTree(noCRD)), Version: "1.0.0"}); err == nil || !strings.Contains(err.Error(), "widgets.example.com") {
		t.Errorf("a base describing a CRD config/ lacks: err %v, want an error naming it", err)
	}
}
