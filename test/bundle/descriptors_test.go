package bundle

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

const selectDescriptor = "urn:alm:descriptor:com.tectonic.ui:select:"

// TestCSVDescriptorsMatchCRD keeps the hand-written UI metadata in the CSV base honest as the API
// changes: every owned CRD version has a description, every spec/status descriptor path names a
// field of the CRD's schema, every top-level spec field has a descriptor (what scorecard's
// olm-spec-descriptors test asks), and a select descriptor offers exactly the field's enum.
func TestCSVDescriptorsMatchCRD(t *testing.T) {
	crds := map[string]*apiextensionsv1.CustomResourceDefinition{}
	files, _ := filepath.Glob(filepath.Join(repoRoot(), "config", "crd", "bases", "*.yaml"))
	for _, f := range files {
		for _, u := range readYAMLDocs(t, f) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			mustConvert(t, u, crd)
			crds[crd.Name] = crd
		}
	}
	csv := committedCSV(t)
	owned := csv.Spec.CustomResourceDefinitions.Owned
	if len(owned) == 0 || len(owned) < len(crds) {
		t.Fatalf("CSV owns %d CRD versions; config/crd has %d CRDs", len(owned), len(crds))
	}
	for _, o := range owned {
		if o.Description == "" || o.DisplayName == "" {
			t.Errorf("owned %s %s: empty description or display name", o.Name, o.Version)
		}
		crd, ok := crds[o.Name]
		if !ok {
			t.Errorf("CSV owns %s, which config/crd does not define", o.Name)
			continue
		}
		var schema *apiextensionsv1.JSONSchemaProps
		for _, v := range crd.Spec.Versions {
			if v.Name == o.Version && v.Schema != nil {
				schema = v.Schema.OpenAPIV3Schema
			}
		}
		if schema == nil || o.Kind != crd.Spec.Names.Kind {
			t.Errorf("CSV owns %s %s %s; the CRD has no such kind and version with a schema", o.Name, o.Version, o.Kind)
			continue
		}

		described := map[string]bool{}
		for _, d := range o.SpecDescriptors {
			described[d.Path] = true
			checkDescriptor(t, o.Kind+" spec", schema.Properties["spec"], d.Path, d.XDescriptors)
		}
		for _, d := range o.StatusDescriptors {
			checkDescriptor(t, o.Kind+" status", schema.Properties["status"], d.Path, d.XDescriptors)
		}
		var top []string
		for name := range schema.Properties["spec"].Properties {
			top = append(top, name)
		}
		sort.Strings(top)
		for _, name := range top {
			if !described[name] {
				t.Errorf("%s: spec field %s has no specDescriptor in config/manifests/bases", o.Kind, name)
			}
		}
	}
}

func checkDescriptor(t *testing.T, what string, root apiextensionsv1.JSONSchemaProps, path string, xds []string) {
	t.Helper()
	field := root
	for _, seg := range strings.Split(path, ".") {
		if field.Type == "array" && field.Items != nil && field.Items.Schema != nil {
			field = *field.Items.Schema
		}
		next, ok := field.Properties[seg]
		if !ok {
			t.Errorf("%s descriptor %q: no field %q in the CRD schema", what, path, seg)
			return
		}
		field = next
	}
	var selects []string
	for _, xd := range xds {
		if v, ok := strings.CutPrefix(xd, selectDescriptor); ok {
			selects = append(selects, v)
		}
	}
	if len(selects) == 0 {
		return
	}
	var enum []string
	for _, e := range field.Enum {
		enum = append(enum, strings.Trim(string(e.Raw), `"`))
	}
	sort.Strings(selects)
	sort.Strings(enum)
	if strings.Join(selects, ",") != strings.Join(enum, ",") {
		t.Errorf("%s descriptor %q offers %v; the field's enum is %v", what, path, selects, enum)
	}
}
