package bundlegen

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
)

// managerContainer is the container whose image the bundle sets (config/manager).
const managerContainer = "manager"

// buildCSV fills the CSV base from config/manifests with what OLM needs to install the operator:
// name and version, the operator image, the Deployment with the RBAC bound to its ServiceAccount,
// the owned CRDs, and the samples of our own kinds as alm-examples. Everything else in the base
// is kept as written. The result is plain JSON-compatible data, so it serializes exactly as
// authored (no zero-valued fields added by Go types).
func buildCSV(c *collected, samples []*unstructured.Unstructured, opts Options) (map[string]interface{}, error) {
	csv := c.base.DeepCopy()
	csv.SetName(PackageName + ".v" + opts.Version)
	csv.SetNamespace("")
	if err := unstructured.SetNestedField(csv.Object, opts.Version, "spec", "version"); err != nil {
		return nil, err
	}

	deployments, image, err := csvDeployments(c.deployments, opts)
	if err != nil {
		return nil, err
	}
	install := map[string]interface{}{"deployments": deployments}
	if p := csvPermissions(c.permissions); len(p) > 0 {
		install["permissions"] = p
	}
	if p := csvPermissions(c.clusterPermissions); len(p) > 0 {
		install["clusterPermissions"] = p
	}
	if err := unstructured.SetNestedField(csv.Object, map[string]interface{}{"strategy": "deployment", "spec": install}, "spec", "install"); err != nil {
		return nil, err
	}

	owned, ownedKinds, err := ownedCRDs(csv, c.crds)
	if err != nil {
		return nil, err
	}
	if err := unstructured.SetNestedSlice(csv.Object, owned, "spec", "customresourcedefinitions", "owned"); err != nil {
		return nil, err
	}

	examples, err := almExamples(samples, ownedKinds)
	if err != nil {
		return nil, err
	}
	annotations := csv.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations["alm-examples"] = examples
	annotations["containerImage"] = image
	// Let OLM upgrade straight from any earlier version, so a catalog needs no replaces chain.
	annotations["olm.skipRange"] = ">=0.0.0 <" + opts.Version
	csv.SetAnnotations(annotations)
	return csv.Object, nil
}

// csvDeployments returns the CSV's install deployments, with the manager image set, and that image.
func csvDeployments(deps []*unstructured.Unstructured, opts Options) ([]interface{}, string, error) {
	var out []interface{}
	image := ""
	for _, d := range deps {
		spec, ok, err := unstructured.NestedMap(d.Object, "spec")
		if err != nil || !ok {
			return nil, "", fmt.Errorf("Deployment %s has no spec: %v", d.GetName(), err)
		}
		containers, _, err := unstructured.NestedSlice(spec, "template", "spec", "containers")
		if err != nil {
			return nil, "", fmt.Errorf("Deployment %s: %w", d.GetName(), err)
		}
		for i, ct := range containers {
			m, ok := ct.(map[string]interface{})
			if !ok || m["name"] != managerContainer {
				continue
			}
			if image != "" {
				return nil, "", fmt.Errorf("more than one %q container in config/manifests", managerContainer)
			}
			image = opts.Image
			if image == "" {
				current, _ := m["image"].(string)
				image = imageRepository(current) + ":v" + opts.Version
			}
			m["image"] = image
			containers[i] = m
		}
		if err := unstructured.SetNestedSlice(spec, containers, "template", "spec", "containers"); err != nil {
			return nil, "", err
		}
		entry := map[string]interface{}{"name": d.GetName(), "spec": spec}
		if labels := d.GetLabels(); len(labels) > 0 {
			l := map[string]interface{}{}
			for k, v := range labels {
				l[k] = v
			}
			entry["label"] = l
		}
		out = append(out, entry)
	}
	if image == "" {
		return nil, "", fmt.Errorf("no Deployment in config/manifests has a container named %q", managerContainer)
	}
	return out, image, nil
}

// imageRepository strips the tag and digest from an image reference.
func imageRepository(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

func csvPermissions(bySA map[string][]interface{}) []interface{} {
	var sas []string
	for sa := range bySA {
		sas = append(sas, sa)
	}
	sort.Strings(sas)
	var out []interface{}
	for _, sa := range sas {
		out = append(out, map[string]interface{}{"serviceAccountName": sa, "rules": bySA[sa]})
	}
	return out
}

// ownedCRDs lists one owned entry per served version of each CRD, taking the display name,
// description and descriptors from the base's entry for it. A base entry that matches no CRD is an
// error: it means the API changed and the base did not follow.
func ownedCRDs(csv *unstructured.Unstructured, crds []*unstructured.Unstructured) ([]interface{}, map[schema.GroupVersionKind]bool, error) {
	baseOwned, _, err := unstructured.NestedSlice(csv.Object, "spec", "customresourcedefinitions", "owned")
	if err != nil {
		return nil, nil, err
	}
	base := map[string]map[string]interface{}{}
	for _, o := range baseOwned {
		m, ok := o.(map[string]interface{})
		if !ok {
			return nil, nil, fmt.Errorf("CSV base: owned CRD entry is not an object")
		}
		base[fmt.Sprintf("%v/%v/%v", m["name"], m["version"], m["kind"])] = m
	}

	type entry struct {
		name, kind, version string
		obj                 map[string]interface{}
	}
	var entries []entry
	kinds := map[schema.GroupVersionKind]bool{}
	for _, u := range crds {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := fromUnstructured(u, crd); err != nil {
			return nil, nil, err
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			key := fmt.Sprintf("%s/%s/%s", crd.Name, v.Name, crd.Spec.Names.Kind)
			obj, ok := base[key]
			if ok {
				delete(base, key)
			} else {
				obj = map[string]interface{}{
					"name":        crd.Name,
					"version":     v.Name,
					"kind":        crd.Spec.Names.Kind,
					"displayName": crd.Spec.Names.Kind,
				}
				if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil && v.Schema.OpenAPIV3Schema.Description != "" {
					obj["description"] = v.Schema.OpenAPIV3Schema.Description
				}
			}
			entries = append(entries, entry{crd.Name, crd.Spec.Names.Kind, v.Name, obj})
			kinds[schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}] = true
		}
	}
	if len(base) > 0 {
		var stale []string
		for k := range base {
			stale = append(stale, k)
		}
		sort.Strings(stale)
		return nil, nil, fmt.Errorf("the CSV base describes owned CRDs that config/ does not install: %v", stale)
	}
	// operator-sdk's order: by name, then kind, then newest version first.
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.name != b.name {
			return a.name < b.name
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return version.CompareKubeAwareVersionStrings(a.version, b.version) > 0
	})
	var out []interface{}
	for _, e := range entries {
		out = append(out, e.obj)
	}
	return out, kinds, nil
}

// almExamples is the JSON list of the samples whose kinds the CSV owns, in a stable order. Other
// samples (Gateways, routes, pools) are for the demo and are not ours to show in OLM.
func almExamples(samples []*unstructured.Unstructured, owned map[schema.GroupVersionKind]bool) (string, error) {
	var examples []*unstructured.Unstructured
	for _, s := range samples {
		if owned[s.GroupVersionKind()] {
			examples = append(examples, s)
		}
	}
	sort.SliceStable(examples, func(i, j int) bool {
		a, b := examples[i], examples[j]
		if a.GetKind() != b.GetKind() {
			return a.GetKind() < b.GetKind()
		}
		return a.GetName() < b.GetName()
	})
	list := make([]interface{}, 0, len(examples))
	for _, e := range examples {
		list = append(list, e.Object)
	}
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return "", err
	}
	return string(b), nil
}
