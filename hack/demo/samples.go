package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"

	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// demoFieldManager is the field manager of the objects the demo applies for the user.
const demoFieldManager = "demo-user"

// renderSamples runs kustomize (built by hack/build-tool.sh) on dir and returns its objects.
func renderSamples(dir string) ([]*unstructured.Unstructured, error) {
	tool := exec.Command(filepath.Join(testenv.RepoRoot(), "hack", "build-tool.sh"), "kustomize")
	var stderr bytes.Buffer
	tool.Stderr = &stderr
	toolDir, err := tool.Output()
	if err != nil {
		return nil, fmt.Errorf("building kustomize: %v: %s", err, stderr.String())
	}
	build := exec.Command(filepath.Join(strings.TrimSpace(string(toolDir)), "kustomize"), "build", dir)
	stderr.Reset()
	build.Stderr = &stderr
	rendered, err := build.Output()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %v: %s", dir, err, stderr.String())
	}
	return decodeObjects(rendered)
}

// decodeObjects splits a multi-document YAML stream into objects, skipping empty documents.
func decodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// applySamples renders and server-side applies the samples in dir, as a user would with
// kubectl apply --server-side -k, and returns what it applied.
func applySamples(ctx context.Context, c client.Client, dir string, out io.Writer) ([]*unstructured.Unstructured, error) {
	objs, err := renderSamples(dir)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("%s renders no objects", dir)
	}
	fmt.Fprintf(out, "Applying %s:\n", dir)
	for _, obj := range objs {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj.DeepCopy()),
			client.FieldOwner(demoFieldManager), client.ForceOwnership); err != nil {
			return nil, fmt.Errorf("applying %s %s: %w", obj.GetKind(), describe(obj), err)
		}
		fmt.Fprintf(out, "  %s %s\n", obj.GetKind(), describe(obj))
	}
	return objs, nil
}

// describe is "namespace/name", or "name" for a cluster-scoped object.
func describe(obj client.Object) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

// standInForEnvoyGatewayClass creates the Envoy Gateway GatewayClass the samples' class serves
// through, and accepts it as Envoy Gateway would. Without --envoy-gateway no Envoy Gateway runs,
// and without an accepted class of its own the operator, rightly, accepts no class of ours
// (EnvoyGatewayClassNotFound), which would hide everything else the demo shows.
func standInForEnvoyGatewayClass(ctx context.Context, c client.Client, name string, out io.Writer) error {
	class := &gwapiv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       gwapiv1.GatewayClassSpec{ControllerName: translate.EnvoyGatewayControllerName},
	}
	// Create fills class from the API server's answer; only a class that exists already is read.
	err := c.Create(ctx, class)
	if apierrors.IsAlreadyExists(err) {
		err = c.Get(ctx, client.ObjectKeyFromObject(class), class)
	}
	if err != nil {
		return fmt.Errorf("creating the Envoy Gateway GatewayClass %q: %w", name, err)
	}
	meta.SetStatusCondition(&class.Status.Conditions, metav1.Condition{
		Type: string(gwapiv1.GatewayClassConditionStatusAccepted), Status: metav1.ConditionTrue,
		Reason: string(gwapiv1.GatewayClassReasonAccepted), ObservedGeneration: class.Generation,
		Message: "accepted by the demo, standing in for Envoy Gateway",
	})
	if err := c.Status().Update(ctx, class); err != nil {
		return fmt.Errorf("accepting the Envoy Gateway GatewayClass %q: %w", name, err)
	}
	fmt.Fprintf(out, "No Envoy Gateway runs in this demo: it creates Envoy Gateway's GatewayClass %q and accepts it as Envoy Gateway would.\n", name)
	return nil
}
