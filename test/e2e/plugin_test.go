//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inferencepool-operator/inferencepool-operator/pkg/inspect"
	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// The kubectl plugin on the real Envoy Gateway cluster: each problem analyze knows is planted
// (except Envoy Gateway's Backend API being off, which needs another Envoy Gateway
// configuration: the golden case covers it), and `analyze -o json` must find exactly those;
// a healthy pool gets nothing and its describe exits 0.

// buildPlugin builds the plugin's binary once per test.
func buildPlugin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kubectl-inferencepool")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/kubectl-inferencepool")
	cmd.Dir = testenv.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// plugin runs the plugin with the cluster's admin kubeconfig; it returns stdout and the exit code.
func plugin(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--kubeconfig", env.cluster.Kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if stderr.Len() > 0 && code != 1 {
		t.Fatalf("%v: exit %d, stderr %s", args, code, stderr.String())
	}
	return stdout.String(), code
}

func TestPluginFindsPlantedProblems(t *testing.T) {
	bin := buildPlugin(t)
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	models := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, "{}")
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "gw", "Class": class})
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "eg-gw", "Class": "eg"})

	// A healthy pool, and one route per problem (each to its own pool).
	model{Namespace: ns, Name: "good", Replicas: 2}.apply(t)
	route := func(name string, rule routeRule) {
		t.Helper()
		httpRoute{Namespace: ns, Name: name, Rules: []routeRule{rule}}.apply(t)
	}
	pool := func(name string) routeRule {
		return routeRule{Name: "chat", Backends: []routeBackend{{Name: name}}}
	}
	route("good", pool("good"))

	model{Namespace: ns, Name: "nopods", Replicas: 1, Selector: "nobody"}.apply(t)
	route("nopods", pool("nopods"))
	model{Namespace: ns, Name: "otherport", Replicas: 1, Ports: []int{9000}}.apply(t)
	route("otherport", pool("otherport"))
	model{Namespace: ns, Name: "noepp", Replicas: 1, NoEPP: true}.apply(t)
	route("noepp", pool("noepp"))
	eppdown := model{Namespace: ns, Name: "eppdown", Replicas: 1}
	eppdown.apply(t)
	route("eppdown", pool("eppdown"))
	model{Namespace: ns, Name: "eppport", Replicas: 1, EPPPort: 9003}.apply(t)
	route("eppport", pool("eppport"))
	applyTemplate(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: on-eg, namespace: {{.Namespace}}}
spec:
  parentRefs: [{name: eg-gw}]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: good}]
`, map[string]any{"Namespace": ns})
	model{Namespace: models, Name: "remote", Replicas: 1}.apply(t)
	route("remote", routeRule{Name: "chat", Backends: []routeBackend{{Name: "remote", Namespace: models}}})
	model{Namespace: ns, Name: "second", Replicas: 1}.apply(t)
	route("two-pools", routeRule{Name: "chat", Backends: []routeBackend{{Name: "good", Weight: 50}, {Name: "second", Weight: 50}}})
	route("short", routeRule{Name: "chat", Timeouts: "{request: 30s}", Backends: []routeBackend{{Name: "good"}}})
	applyTemplate(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: {{.Class}}-broken}
spec:
  controllerName: inferencepool-operator.io/gateway-controller
  parametersRef: {group: inferencepool-operator.io, kind: InferenceGatewayParameters, name: {{.Class}}-no-such-parameters}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: first, namespace: {{.Namespace}}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: good}]
  timeout: {tcp: {connectTimeout: 5s}}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: on-generated, namespace: {{.Namespace}}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw-eg}]
  cors: {allowOrigins: ["https://example.com"]}
`, map[string]any{"Class": class, "Namespace": ns})
	// The newer of two policies on one route is Conflicted.
	applyTemplate(t, `
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: second, namespace: {{.Namespace}}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: good}]
  timeout: {tcp: {connectTimeout: 6s}}
`, map[string]any{"Namespace": ns})
	// A class whose Envoy Gateway class does not exist (named after ns, as the test's class is).
	classWithTypo := ns + "-typo"
	applyTemplate(t, inferenceClassYAML, map[string]any{"Class": classWithTypo, "Params": "{envoyGatewayClassName: eg-typo}"})
	t.Cleanup(func() {
		for _, name := range []string{class + "-broken", classWithTypo} {
			_ = c.Delete(context.Background(), newUnstructured("gateway.networking.k8s.io/v1", "GatewayClass", "", name))
		}
		_ = c.Delete(context.Background(), newUnstructured("inferencepool-operator.io/v1alpha1", "InferenceGatewayParameters", "", classWithTypo))
	})
	waitGatewayProgrammed(t, c, ns, "gw", 9)
	scale(t, c, ns, eppdown.eppName(), 0)

	want := []string{
		"IPO101 InferencePool/" + ns + "/nopods",
		"IPO103 InferencePool/" + ns + "/otherport",
		"IPO111 InferencePool/" + ns + "/noepp",
		"IPO112 InferencePool/" + ns + "/eppdown",
		"IPO113 InferencePool/" + ns + "/eppport",
		"IPO121 HTTPRoute/" + ns + "/on-eg",
		"IPO122 HTTPRoute/" + ns + "/remote",
		"IPO123 HTTPRoute/" + ns + "/two-pools",
		"IPO124 HTTPRoute/" + ns + "/short",
		"IPO131 GatewayClass/" + class + "-broken",
		"IPO132 GatewayClass/" + classWithTypo,
		"IPO141 BackendTrafficPolicy/" + ns + "/second",
		"IPO142 SecurityPolicy/" + ns + "/on-generated",
	}
	slices.Sort(want)
	eventually(t, "analyze finds exactly the planted problems", func(context.Context) error {
		out, code := plugin(t, bin, "analyze", "-n", ns, "-o", "json")
		var fs []inspect.Finding
		if err := json.Unmarshal([]byte(out), &fs); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		var got []string
		for _, f := range fs {
			// Cluster-scoped findings of other tests' classes are not this test's.
			if f.Object.Namespace == "" && !strings.HasPrefix(f.Object.Name, class) {
				continue
			}
			got = append(got, f.Code+" "+f.Object.String())
		}
		slices.Sort(got)
		if !slices.Equal(got, want) || code != 1 {
			return fmt.Errorf("exit %d, findings\n  %s\nwant\n  %s\n(%s)", code, strings.Join(got, "\n  "), strings.Join(want, "\n  "), out)
		}
		return nil
	})

	// A healthy pool: its tree has no broken line, and describe exits 0; a broken one exits 1
	// and marks the line.
	out, code := plugin(t, bin, "describe", "pool", "good", "-n", ns)
	if code != 0 || strings.Contains(out, "✗") || !strings.Contains(out, "Pods: 2/2 ready") {
		t.Errorf("describe pool good: exit %d\n%s", code, out)
	}
	out, code = plugin(t, bin, "describe", "pool", "nopods", "-n", ns)
	if code != 1 || !strings.Contains(out, "✗ Pods: 0/0 ready") || !strings.Contains(out, "IPO101") {
		t.Errorf("describe pool nopods: exit %d, want 1 with the pods line broken and IPO101\n%s", code, out)
	}
	out, code = plugin(t, bin, "describe", "route", "good", "-n", ns, "-o", "yaml")
	if code != 1 || !strings.Contains(out, "BackendTrafficPolicy second") {
		t.Errorf("describe route good -o yaml: exit %d, want 1 with the conflicted policy\n%s", code, out)
	}
	out, _ = plugin(t, bin, "version")
	if !strings.Contains(out, "plugin: dev") {
		t.Errorf("version: %s", out)
	}
}
