//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

const caConfigMapYAML = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: epp-ca
  namespace: {{.Namespace}}
data:
  ca.crt: |
{{.CA}}
`

// TestEndpointPickerTLSModes checks the two TLS modes that do not use a Backend: Verify (the
// EPP Service with a BackendTLSPolicy carrying the CA and hostname, so Envoy verifies the EPP)
// and Disabled (plaintext HTTP/2 straight to the EPP Service). InsecureSkipVerify, the default,
// is TestSampleSetup's.
func TestEndpointPickerTLSModes(t *testing.T) {
	t.Run("Verify", func(t *testing.T) {
		c := newOperatorClient(t)
		ns := newNamespace(t, c)
		failureReport(t, c, ns)
		applyTemplate(t, caConfigMapYAML, map[string]any{"Namespace": ns, "CA": indent(selfSignedCA(t), "    ")})
		class := newInferenceClass(t, c, ns,
			`{endpointPicker: {tls: {mode: Verify, caCertificateRefs: [{group: "", kind: ConfigMap, name: epp-ca}], hostname: epp.internal}}}`)
		eppName := singlePoolScenario(t, c, ns, class)
		eppPod := withPort(readyPodIPs(t, c, ns, "app=pool-epp", 1), 9002)

		policy := waitGenerated(t, c, kindBackendTLSPolicy, ns, "pool", 1)
		waitAccepted(t, c, policy)
		targets, _, _ := unstructured.NestedSlice(policy[0].Object, "spec", "targetRefs")
		if fmt.Sprint(targets) != fmt.Sprint([]any{map[string]any{"group": "", "kind": "Service", "name": "pool-epp"}}) {
			t.Errorf("BackendTLSPolicy targets %v, want the EPP Service", targets)
		}
		waitGenerated(t, c, kindBackend, ns, "pool", 0)
		epp := describeEPPClusterEventually(t, ns, eppName, func(e eppCluster) error {
			if !e.TLS || !e.Verified || e.SNI != "epp.internal" || !e.HTTP2 || !slices.Equal(e.Endpoints, eppPod) {
				return fmt.Errorf("%+v; want verified TLS with SNI epp.internal, HTTP/2, the EPP pod %v", e, eppPod)
			}
			// Health checks go through the endpoint's TLS socket (Envoy's
			// HealthCheck.transport_socket_match_criteria unset: the cluster's match applies).
			if e.GRPCHealthService != v1alpha1.DefaultHealthCheckService || !e.Outlier {
				return fmt.Errorf("%+v; want a gRPC health check of %s and outlier detection", e, v1alpha1.DefaultHealthCheckService)
			}
			return nil
		})
		t.Logf("EPP cluster %s: %+v", eppName, epp)
	})

	t.Run("Disabled", func(t *testing.T) {
		c := newOperatorClient(t)
		ns := newNamespace(t, c)
		failureReport(t, c, ns)
		class := newInferenceClass(t, c, ns, `{endpointPicker: {tls: {mode: Disabled}}}`)
		eppName := singlePoolScenario(t, c, ns, class)
		eppPod := withPort(readyPodIPs(t, c, ns, "app=pool-epp", 1), 9002)

		waitGenerated(t, c, kindBackend, ns, "pool", 0)
		waitGenerated(t, c, kindBackendTLSPolicy, ns, "pool", 0)
		epp := describeEPPClusterEventually(t, ns, eppName, func(e eppCluster) error {
			if e.TLS || !e.HTTP2 || !slices.Equal(e.Endpoints, eppPod) {
				return fmt.Errorf("%+v; want plaintext HTTP/2 to the EPP pod %v", e, eppPod)
			}
			if e.GRPCHealthService != v1alpha1.DefaultHealthCheckService || !e.Outlier {
				return fmt.Errorf("%+v; want a gRPC health check of %s and outlier detection", e, v1alpha1.DefaultHealthCheckService)
			}
			return nil
		})
		t.Logf("EPP cluster %s: %+v", eppName, epp)
	})
}

// singlePoolScenario applies a Gateway gw of class, a pool "pool" (3 model servers, an EPP
// "pool-epp") and a route llm to it, all in ns; waits until everything is accepted and the
// proxy's configuration routes by the EPP; and returns the EPP's cluster.
func singlePoolScenario(t *testing.T, c client.Client, ns, class string) string {
	t.Helper()
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "gw", "Class": class})
	model{Namespace: ns, Name: "pool"}.apply(t)
	poolRoute{Namespace: ns, GatewayNamespace: ns, PoolNamespace: ns}.apply(t)
	waitGatewayProgrammed(t, c, ns, "gw", 1)
	waitRouteAccepted(t, c, ns, "llm", ns, "gw")
	waitPoolStatus(t, c, ns, "pool", ns, "gw", "True", "ResolvedRefs")
	for _, k := range policyKindsOfAPool {
		waitAccepted(t, c, waitGenerated(t, c, k, ns, "pool", 1))
	}
	eep := waitGenerated(t, c, kindEnvoyExtension, ns, "pool", 1)[0].GetName()
	ips := withPort(readyPodIPs(t, c, ns, "app=pool", 3), 8000)
	rule := ruleCluster(ns, "llm-eg", 0)
	var cluster string
	proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
		if err := poolClusterIs(s, rule, "envoy.load_balancing_policies.least_request", ips); err != nil {
			return err
		}
		ep, err := extProcOnRule(s, ns, eep, rule)
		if err != nil {
			return err
		}
		cluster, err = extProcSettings(ep, 10*time.Second)
		return err
	})
	return cluster
}

// describeEPPClusterEventually reads the proxy's configuration until the EPP cluster satisfies
// check, and returns its description.
func describeEPPClusterEventually(t *testing.T, ns, cluster string, check func(eppCluster) error) eppCluster {
	t.Helper()
	var d eppCluster
	proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
		var err error
		if d, err = describeEPPCluster(s, cluster); err != nil {
			return err
		}
		return check(d)
	})
	return d
}

// selfSignedCA returns a PEM CA certificate (the BackendTLSPolicy's trust anchor; no EPP
// serves with it here, there is no data plane).
func selfSignedCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "epp test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}
