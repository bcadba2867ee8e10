//go:build benche2e

package benche2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/envoygateway"
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// operatorUser is the operator's identity here (a client certificate bound to
// config/rbac/role.yaml): the audit log tells its writes apart.
const operatorUser = "benche2e-operator"

// egUser is Envoy Gateway's identity (its ServiceAccount, as the chart installs it).
const egUser = "system:serviceaccount:" + envoygateway.Namespace + ":" + envoygateway.ServiceAccount

// env is one way's cluster: the system-test cluster with an audit log of every write, the real
// Envoy Gateway with its class "eg", every CRD, and for the operator's way the operator's
// binary as its own process.
type env struct {
	cluster  *cluster.Cluster
	eg       *envoygateway.EnvoyGateway
	op       *scale.OperatorProcess
	cfg      *rest.Config
	admin    client.Client
	auditLog string
}

// auditPolicy logs every write (at Metadata level: no bodies) but the leases' renewals, which
// are the same both ways and would only swell the log.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted, Panic]
rules:
- level: None
  verbs: [get, list, watch]
- level: None
  resources: [{group: coordination.k8s.io, resources: [leases]}]
- level: Metadata
`

// startEnv starts a way's cluster; dir keeps its audit log and the operator's log. operatorBin
// empty: no operator.
func startEnv(ctx context.Context, dir, operatorBin string, opArgs []string, pprof bool, progress io.Writer) (_ *env, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	e := &env{auditLog: filepath.Join(dir, "audit.log")}
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
		return nil, err
	}
	// The API server appends to its audit log: a previous run's writes would count as this one's.
	if err := os.Remove(e.auditLog); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	e.cluster, err = cluster.Start(ctx, cluster.Options{Progress: progress, APIServerArgs: []string{
		"--audit-policy-file=" + policy, "--audit-log-path=" + e.auditLog,
		// Synchronous: a write is in the log once its response is sent.
		"--audit-log-mode=blocking",
	}})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.stop(true))
		}
	}()
	e.cfg = e.cluster.RESTConfig()
	e.cfg.QPS = -1 // the harness's writes are not rate-limited on the client side
	if e.admin, err = client.New(e.cfg, client.Options{Scheme: controllers.NewScheme()}); err != nil {
		return e, err
	}
	if e.eg, err = envoygateway.Start(ctx, e.cluster, envoygateway.Options{Progress: progress}); err != nil {
		return e, fmt.Errorf("starting envoy gateway: %w", err)
	}
	crds, err := envtest.CRDPaths()
	if err != nil {
		return e, err
	}
	if err := cluster.ApplyFiles(ctx, e.cfg, crds...); err != nil {
		return e, fmt.Errorf("installing CRDs: %w", err)
	}
	if err := envoygateway.CreateGatewayClass(ctx, e.cfg, envoygateway.DefaultGatewayClass); err != nil {
		return e, err
	}
	if operatorBin == "" {
		return e, nil
	}
	if err := scale.BindClusterRole(ctx, e.cfg, operatorUser); err != nil {
		return e, err
	}
	creds, err := e.cluster.UserCredentials(operatorUser)
	if err != nil {
		return e, err
	}
	kubeconfig := filepath.Join(dir, "operator.kubeconfig")
	if err := e.cluster.WriteUserKubeconfig(kubeconfig, creds); err != nil {
		return e, err
	}
	e.op, err = scale.StartOperator(operatorBin, kubeconfig, filepath.Join(dir, "operator.log"), pprof, opArgs...)
	return e, err
}

// healthy fails when a component has exited.
func (e *env) healthy() error {
	errs := []error{e.cluster.Healthy(), e.eg.Healthy()}
	if e.op != nil {
		errs = append(errs, e.op.Running())
	}
	return errors.Join(errs...)
}

// stop stops everything; keep leaves the cluster's directory (component logs) in place.
func (e *env) stop(keep bool) error {
	var errs []error
	if keep {
		e.cluster.KeepDir()
	}
	if e.op != nil {
		errs = append(errs, e.op.Stop())
	}
	if e.eg != nil {
		errs = append(errs, e.eg.Stop())
	}
	if e.cluster != nil {
		errs = append(errs, e.cluster.Stop())
	}
	return errors.Join(errs...)
}
