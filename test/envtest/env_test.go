package envtest

import (
	"context"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestStartInstallsCRDs checks the environment serves every CRD the operator relies on.
func TestStartInstallsCRDs(t *testing.T) {
	env, cfg, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	s := runtime.NewScheme()
	_ = apiextensionsv1.AddToScheme(s)
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"inferencegatewayparameters.inferencepool-operator.io",
		"inferencepools.inference.networking.k8s.io",
		"gateways.gateway.networking.k8s.io",
		"httproutes.gateway.networking.k8s.io",
		"referencegrants.gateway.networking.k8s.io",
		"backendtlspolicies.gateway.networking.k8s.io",
		"backendtrafficpolicies.gateway.envoyproxy.io",
		"envoyextensionpolicies.gateway.envoyproxy.io",
		"clienttrafficpolicies.gateway.envoyproxy.io",
		"backends.gateway.envoyproxy.io",
	} {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, crd); err != nil {
			t.Errorf("CRD %s: %v", name, err)
		}
	}
}
