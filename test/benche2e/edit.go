//go:build benche2e

package benche2e

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// editPort gives pool 0 a new target port, the way each way's user would (through the
// operator: the pool's targetPorts; by hand: the Service's port and the route's backendRef,
// in that order), and returns the time from the first write to the new port in the pool's
// cluster's endpoints.
func editPort(ctx context.Context, e *env, xc *xds.Client, w way, pool servedPool) (time.Duration, error) {
	const newPort = targetPort + 1
	ip, _, err := net.SplitHostPort(pool.endpoint)
	if err != nil {
		return 0, err
	}
	want := []servedPool{{route: pool.route, endpoint: net.JoinHostPort(ip, strconv.Itoa(newPort))}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	seen := make(chan error, 1)
	var at time.Time
	// The watch starts before the edit; its first complete snapshot is the old one.
	go func() {
		seen <- xc.Watch(ctx, func(s *xds.Snapshot) (bool, error) {
			if n, _ := served(s, want); n == 1 {
				at = time.Now()
				return true, nil
			}
			return false, nil
		})
	}()
	sent := time.Now()
	if err := editWrites(ctx, e.admin, w, newPort); err != nil {
		return 0, err
	}
	if err := <-seen; err != nil {
		return 0, fmt.Errorf("waiting for port %d in xDS: %w", newPort, err)
	}
	return at.Sub(sent), nil
}

func editWrites(ctx context.Context, c client.Client, w way, port int32) error {
	name := client.ObjectKey{Namespace: namespace, Name: poolName(0)}
	if w.operator {
		pool := &giev1.InferencePool{}
		if err := c.Get(ctx, name, pool); err != nil {
			return err
		}
		patch := client.MergeFrom(pool.DeepCopy())
		pool.Spec.TargetPorts = []giev1.Port{{Number: giev1.PortNumber(port)}}
		return c.Patch(ctx, pool, patch)
	}
	svc := &corev1.Service{}
	if err := c.Get(ctx, name, svc); err != nil {
		return err
	}
	patch := client.MergeFrom(svc.DeepCopy())
	svc.Spec.Ports[0].Port, svc.Spec.Ports[0].TargetPort = port, intstr.FromInt32(port)
	if err := c.Patch(ctx, svc, patch); err != nil {
		return err
	}
	route := &gwapiv1.HTTPRoute{}
	if err := c.Get(ctx, name, route); err != nil {
		return err
	}
	rpatch := client.MergeFrom(route.DeepCopy())
	route.Spec.Rules[0].BackendRefs[0].Port = ptr(gwapiv1.PortNumber(port))
	return c.Patch(ctx, route, rpatch)
}
