// Package versions_test holds the releases the operator names (controllers/translate/versions.go)
// to the modules it is built against and to what its docs, chart and workflows say, so that an
// upgrade is one change of the constants and go.mod followed by what this test points at
// (docs/envoy-gateway.md, "Upgrading Envoy Gateway").
package versions_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// requires reads the versions a go.mod requires.
func requires(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(envtest.RepoRoot(), path))
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range f.Require {
		out[r.Mod.Path] = r.Mod.Version
	}
	return out
}

func TestConstantsMatchModules(t *testing.T) {
	root := requires(t, "go.mod")
	eg := requires(t, "hack/tools/envoy-gateway/go.mod")
	for _, c := range []struct{ file, module, constant string }{
		{"go.mod", "github.com/envoyproxy/gateway", translate.EnvoyGatewayVersion},
		{"hack/tools/envoy-gateway/go.mod", "github.com/envoyproxy/gateway", translate.EnvoyGatewayVersion},
		{"go.mod", "sigs.k8s.io/gateway-api-inference-extension", translate.InferenceExtensionVersion},
		{"go.mod", "sigs.k8s.io/gateway-api", translate.GatewayAPIVersion},
	} {
		got := root[c.module]
		if c.file != "go.mod" {
			got = eg[c.module]
		}
		if got != c.constant {
			t.Errorf("%s requires %s %s; controllers/translate/versions.go says %s", c.file, c.module, got, c.constant)
		}
	}
}

// stated finds the Envoy Gateway releases a text states: "Envoy Gateway v1.9.1", "EG v1.9.1",
// "gateway-helm --version v1.9.1", "EG_VERSION: v1.9.1".
var stated = regexp.MustCompile(`(?:Envoy Gateway|EG|gateway-helm --version|EG_VERSION:) (v\d+\.\d+\.\d+)`)

func TestDocsStateTheEnvoyGatewayRelease(t *testing.T) {
	root := envtest.RepoRoot()
	out, err := exec.Command("git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, name := range strings.Fields(string(out)) {
		if !strings.HasSuffix(name, ".md") && !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".txt") && !strings.HasSuffix(name, ".go") {
			continue
		}
		if strings.Contains(name, "/testdata/") {
			continue // golden outputs follow the messages
		}
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			continue
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range stated.FindAllStringSubmatch(line, -1) {
				found++
				if m[1] != translate.EnvoyGatewayVersion {
					t.Errorf("%s:%d states Envoy Gateway %s; the operator is built against %s", name, i+1, m[1], translate.EnvoyGatewayVersion)
				}
			}
		}
	}
	if found < 10 {
		t.Errorf("found only %d statements of the Envoy Gateway release: the pattern no longer matches the docs", found)
	}
}
