package stack

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
)

// ConformanceGatewayClass is the operator's GatewayClass the conformance suites (GIE's in
// test/conformance, Gateway API's in test/conformance/gatewayapi) run against; it uses the
// default parameters.
const ConformanceGatewayClass = "inferencepool-operator"

const conformanceGatewayClassYAML = `
apiVersion: inferencepool-operator.io/v1alpha1
kind: InferenceGatewayParameters
metadata:
  name: conformance
spec: {}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: ` + ConformanceGatewayClass + `
spec:
  controllerName: inferencepool-operator.io/gateway-controller
  parametersRef:
    group: inferencepool-operator.io
    kind: InferenceGatewayParameters
    name: conformance
`

// RunConformance is the TestMain of a conformance suite's package: it starts the stack,
// creates ConformanceGatewayClass, points KUBECONFIG at the cluster (the suites read their
// cluster from the kubeconfig, as they do on a real cluster), runs the package's tests and stops
// everything, keeping the cluster directory (every component's log, operator.log) when they
// fail. name says which suite in the progress and failure lines. It returns the exit code.
func RunConformance(m *testing.M, name string) (code int) {
	ctx := context.Background()
	s, err := Start(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "%s failed: cluster directory (logs of every component, operator.log) kept at %s\n", name, s.Cluster.Dir)
		}
		if err := s.Stop(code != 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}()
	objs, err := cluster.DecodeYAML([]byte(conformanceGatewayClassYAML))
	if err == nil {
		err = cluster.Apply(ctx, s.Config, objs...)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "creating GatewayClass %s: %v\n", ConformanceGatewayClass, err)
		return 1
	}
	if err := os.Setenv("KUBECONFIG", s.Cluster.Kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "%s: cluster, Envoy Gateway and the operator ready after %v\n", name, s.Ready.Round(time.Millisecond))
	return m.Run()
}
