//go:build e2e

package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"
)

// With --envoy-gateway the demo runs the real Envoy Gateway (test/stack, root needed): the
// statuses it prints are EG's verdicts, so the sample Gateway ends Programmed with an address,
// and the route and pool Accepted. Run by make test-e2e, one EG per machine at a time.
func TestDemoWithEnvoyGateway(t *testing.T) {
	bin, dir := buildDemo(t), t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, demoArgs(dir, "--once", "--envoy-gateway", "--yaml")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo --once --envoy-gateway: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()

	var gw struct{ Status gwapiv1.GatewayStatus }
	mustBlock(t, out, "Gateway default/inference-gateway (generation 1)", &gw)
	for _, typ := range []string{"Accepted", "Programmed"} {
		if !meta.IsStatusConditionTrue(gw.Status.Conditions, typ) {
			t.Errorf("Gateway %s is not True: %+v", typ, gw.Status.Conditions)
		}
	}
	if len(gw.Status.Addresses) == 0 {
		t.Error("the Gateway has no address")
	}

	var route struct{ Status gwapiv1.HTTPRouteStatus }
	mustBlock(t, out, "HTTPRoute default/llm-route (generation 1)", &route)
	if len(route.Status.Parents) != 1 || !meta.IsStatusConditionTrue(route.Status.Parents[0].Conditions, "Accepted") {
		t.Errorf("the route is not accepted: %+v", route.Status.Parents)
	}

	var pool struct{ Status giev1.InferencePoolStatus }
	mustBlock(t, out, "InferencePool default/"+samplePool+" (generation 1)", &pool)
	if len(pool.Status.Parents) != 1 || !meta.IsStatusConditionTrue(pool.Status.Parents[0].Conditions, "Accepted") {
		t.Errorf("the pool is not accepted: %+v", pool.Status.Parents)
	}
	if c := meta.FindStatusCondition(pool.Status.Parents[0].Conditions, "Accepted"); c != nil && c.Reason != "Accepted" {
		t.Errorf("pool Accepted reason %q", c.Reason)
	}
}

// mustBlock parses the YAML printed under head into v.
func mustBlock(t *testing.T, out, head string, v any) {
	t.Helper()
	body, ok := block(out, head)
	if !ok {
		t.Fatalf("no %q in the output:\n%s", head, out)
	}
	// The block is one YAML document: "status:" and indented lines; the demo's own messages
	// (after the last block) are not part of it.
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		if i > 0 && l != "" && !strings.HasPrefix(l, " ") {
			lines = lines[:i]
			break
		}
	}
	body = strings.Join(lines, "\n")
	if err := yaml.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%s: %v\n%s", head, err, body)
	}
}
