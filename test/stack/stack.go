// Package stack starts everything the system tests and the conformance run share: a local
// cluster from source (test/cluster), the real Envoy Gateway controller with its GatewayClass
// "eg" (test/envoygateway), every CRD the operator uses, and the operator itself
// (test/operator), and stops them in reverse order.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/envoygateway"
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/operator"
)

// Stack is a running cluster with Envoy Gateway and the operator.
type Stack struct {
	Cluster  *cluster.Cluster
	EG       *envoygateway.EnvoyGateway
	Operator *operator.Operator
	// Config is the cluster's admin rest config.
	Config *rest.Config
	// ClusterUp is how long the cluster took; Ready how long everything took.
	ClusterUp, Ready time.Duration
}

// Start starts the stack, reporting progress to progress. On error, what was started is
// stopped again (its directory kept for the logs).
func Start(ctx context.Context, progress io.Writer) (_ *Stack, err error) {
	start := time.Now()
	s := &Stack{}
	if s.Cluster, err = cluster.Start(ctx, cluster.Options{Progress: progress}); err != nil {
		return nil, fmt.Errorf("starting cluster: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Stop(true))
		}
	}()
	s.ClusterUp = time.Since(start)
	s.Config = s.Cluster.RESTConfig()
	if s.EG, err = envoygateway.Start(ctx, s.Cluster, envoygateway.Options{Progress: progress}); err != nil {
		return s, fmt.Errorf("starting envoy gateway: %w", err)
	}
	// The operator's and GIE's CRDs too (Envoy Gateway's are already there).
	crds, err := envtest.CRDPaths()
	if err != nil {
		return s, err
	}
	if err := cluster.ApplyFiles(ctx, s.Config, crds...); err != nil {
		return s, fmt.Errorf("installing CRDs: %w", err)
	}
	if err := envoygateway.CreateGatewayClass(ctx, s.Config, envoygateway.DefaultGatewayClass); err != nil {
		return s, fmt.Errorf("creating GatewayClass %s: %w", envoygateway.DefaultGatewayClass, err)
	}
	// The operator, with its own ServiceAccount and RBAC; its log goes next to the others.
	if s.Operator, err = operator.Start(ctx, s.Config, operator.Options{LogFile: filepath.Join(s.Cluster.Dir, "operator.log")}); err != nil {
		return s, fmt.Errorf("starting the operator: %w", err)
	}
	s.Ready = time.Since(start)
	return s, nil
}

// Stop stops the operator, Envoy Gateway and the cluster. keep leaves the cluster directory
// (every component's log, operator.log) in place for a failed run.
func (s *Stack) Stop(keep bool) error {
	var errs []error
	if keep {
		s.Cluster.KeepDir()
	}
	if s.Operator != nil {
		if err := s.Operator.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping the operator: %w", err))
		}
	}
	if s.EG != nil {
		if err := s.EG.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping envoy gateway: %w", err))
		}
	}
	if err := s.Cluster.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("stopping cluster: %w", err))
	}
	return errors.Join(errs...)
}
