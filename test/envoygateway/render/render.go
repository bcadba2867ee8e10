// Package render renders Envoy Gateway's install objects for the system tests from its Helm chart,
// as `helm template eg <chart> -n envoy-gateway-system` would, with Helm's Go SDK (there is no helm
// binary on the build machines). The chart is read from the Envoy Gateway module go.mod requires,
// so the objects follow its version. `make eg-manifests` writes them to test/envoygateway/manifests;
// test/envoygateway fails when the committed files differ from what it would write.
package render

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	"sigs.k8s.io/yaml"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// Values are the chart values the harness runs Envoy Gateway with (test/envoygateway/manifests/
// README.md says why each).
const Values = `
createNamespace: true
config:
  envoyGateway:
    provider:
      kubernetes:
        deploy:
          type: GatewayNamespace
        leaderElection:
          disable: true
    extensionApis:
      enableBackend: true
      enableLua: true
topologyInjector:
  enabled: false
crds:
  enabled: false
`

// files maps each chart template kept to the file it is written to, in the order the harness
// applies them. The controller's Deployment, the certgen Job and its RBAC, the
// PodDisruptionBudget, the HPA and the topology injector are left out: the harness runs the
// controller as a local process and runs certgen itself.
var files = map[string]string{
	"namespace.yaml":                    "00-namespace.yaml",
	"envoy-gateway-serviceaccount.yaml": "10-serviceaccount.yaml",
	"envoy-gateway-config.yaml":         "20-config.yaml",
	"envoy-gateway-rbac.yaml":           "30-rbac.yaml",
	"infra-manager-rbac.yaml":           "31-infra-manager-rbac.yaml",
	"leader-election-rbac.yaml":         "32-leader-election-rbac.yaml",
	"envoy-gateway-service.yaml":        "40-service.yaml",
}

// Namespace is the namespace Envoy Gateway is installed into.
const Namespace = "envoy-gateway-system"

// Render returns the manifests by file name.
func Render() (map[string][]byte, error) {
	dir, err := chartDir()
	if err != nil {
		return nil, err
	}
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	// The module holds the chart as its release process starts from: version placeholders, and
	// the values in values.tmpl.yaml.
	ch.Metadata.Version = translate.EnvoyGatewayVersion
	ch.Metadata.AppVersion = translate.EnvoyGatewayVersion
	base := map[string]any{}
	raw, err := os.ReadFile(filepath.Join(dir, "values.tmpl.yaml"))
	if err != nil {
		return nil, err
	}
	// Envoy Gateway's release fills these in (envsubst) as below.
	raw = []byte(strings.NewReplacer(
		"${GatewayImage}", "docker.io/envoyproxy/gateway:"+translate.EnvoyGatewayVersion,
		"${GatewayImagePullPolicy}", "IfNotPresent",
	).Replace(string(raw)))
	if err := yaml.Unmarshal(raw, &base); err != nil {
		return nil, fmt.Errorf("values.tmpl.yaml: %w", err)
	}
	ch.Values = base
	vals := map[string]any{}
	if err := yaml.Unmarshal([]byte(Values), &vals); err != nil {
		return nil, err
	}
	manifest, err := template(ch, vals)
	if err != nil {
		return nil, err
	}
	return split(manifest)
}

// chartDir is the chart in the Envoy Gateway module go.mod requires.
func chartDir() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/envoyproxy/gateway").Output()
	if err != nil {
		return "", fmt.Errorf("locating the Envoy Gateway module: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "charts", "gateway-helm"), nil
}

// template renders ch as helm template does (client-side, release "eg").
func template(ch *chart.Chart, vals map[string]any) (string, error) {
	in := action.NewInstall(action.NewConfiguration())
	in.DryRunStrategy = action.DryRunClient
	in.ReleaseName = "eg"
	in.Namespace = Namespace
	in.Replace = true
	ri, err := in.Run(ch, vals)
	if err != nil {
		return "", fmt.Errorf("rendering Envoy Gateway's chart: %w", err)
	}
	rel, ok := ri.(*release.Release)
	if !ok {
		return "", fmt.Errorf("install returned a %T", ri)
	}
	return rel.Manifest, nil
}

// split sorts the manifest's documents into the files they go to, by the template they came from
// (Helm's "# Source:" line), each with a header.
func split(manifest string) (map[string][]byte, error) {
	docs := map[string][]string{}
	for _, doc := range strings.Split(manifest, "\n---\n") {
		doc = strings.TrimSpace(strings.TrimPrefix(doc, "---"))
		if doc == "" {
			continue
		}
		first, rest, _ := strings.Cut(doc, "\n")
		src, ok := strings.CutPrefix(first, "# Source: gateway-helm/templates/")
		if !ok {
			return nil, fmt.Errorf("a rendered document without its source: %q", first)
		}
		name, kept := files[src]
		if !kept {
			continue
		}
		docs[name] = append(docs[name], strings.TrimSpace(rest))
	}
	out := map[string][]byte{}
	for src, name := range files {
		if len(docs[name]) == 0 {
			return nil, fmt.Errorf("the chart rendered nothing from templates/%s", src)
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "# Generated by make eg-manifests from Envoy Gateway %s's chart, templates/%s; do not edit.\n",
			translate.EnvoyGatewayVersion, src)
		b.WriteString(strings.Join(docs[name], "\n---\n"))
		b.WriteString("\n")
		out[name] = b.Bytes()
	}
	return out, nil
}

// Names lists the files Render returns, in order.
func Names() []string {
	var out []string
	for _, name := range files {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
