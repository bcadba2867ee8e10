//go:build benche2e

package benche2e

import (
	"context"
	"fmt"
	"io"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/envoygateway"
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// rawUser is the raw writer's identity, bound to the operator's ClusterRole.
const rawUser = "benche2e-raw-writer"

// floorResult is the raw writer's part of the floor.
type floorResult struct {
	// UserWrites is the time of the user's per-pool writes, one request at a time; RawWrites
	// that of what the operator must write for them (generated objects by server-side apply,
	// then the statuses of the routes and pools), one request at a time (scale.RawWrite).
	UserWrites, RawWrites time.Duration
	// Objects and Statuses are the numbers of generated objects and statuses written.
	Objects, Statuses int
}

func (f floorResult) writes() time.Duration { return f.UserWrites + f.RawWrites }

// runFloor measures the writes of the operator's way made by one sequential writer, on an API
// server of its own (the same binary and flags as the cluster's, every CRD, no other
// component: nothing competes with it), as make bench's raw writer does for the operator alone.
func runFloor(ctx context.Context, n int, progress io.Writer) (_ floorResult, err error) {
	var res floorResult
	c, err := cluster.Start(ctx, cluster.Options{APIServerOnly: true, Progress: progress})
	if err != nil {
		return res, err
	}
	defer func() {
		if serr := c.Stop(); err == nil {
			err = serr
		}
	}()
	cfg := c.RESTConfig()
	cfg.QPS = -1
	if err := envoygateway.InstallCRDs(ctx, c); err != nil {
		return res, err
	}
	crds, err := envtest.CRDPaths()
	if err != nil {
		return res, err
	}
	if err := cluster.ApplyFiles(ctx, cfg, crds...); err != nil {
		return res, err
	}
	if err := scale.BindClusterRole(ctx, cfg, rawUser); err != nil {
		return res, err
	}
	admin, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		return res, err
	}
	// Before the clock: what exists in the cluster before the per-pool writes, minus the pods
	// (nothing here reads them) plus the endpoint pickers' EndpointSlices the
	// controller-manager would write, and Envoy Gateway's class, accepted as it would be.
	shared, perPool := prerequisites(n)
	shared = append(shared, acceptedEGClass())
	shared = append(shared, operatorGateway(false)...)
	for _, obj := range shared {
		if err := admin.Create(ctx, obj); err != nil {
			return res, fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
		if gc, ok := obj.(*gwapiv1.GatewayClass); ok && gc.Name == envoygateway.DefaultGatewayClass {
			gc.Status = acceptedEGClass().Status
			if err := admin.Status().Update(ctx, gc); err != nil {
				return res, err
			}
		}
	}
	for i, objs := range perPool {
		for _, obj := range append(objs[2:], eppSlice(i)) { // not the pods
			if err := admin.Create(ctx, obj); err != nil {
				return res, fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
			}
		}
	}
	// What the generated Gateway's setup wrote (the Gateway, its ClientTrafficPolicy, the
	// statuses of the class and the Gateway) is setup in the measured ways too: only the items
	// of the pools count.
	before, err := scale.Expect(ctx, admin)
	if err != nil {
		return res, err
	}
	if _, err := scale.RawWrite(ctx, cfg, before); err != nil {
		return res, err
	}

	start := time.Now()
	for i := range n {
		for _, obj := range operatorPool(i) {
			if err := admin.Create(ctx, obj); err != nil {
				return res, fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
			}
		}
	}
	res.UserWrites = time.Since(start)
	all, err := scale.Expect(ctx, admin)
	if err != nil {
		return res, err
	}
	pools := all.Only(all.ChangedSince(before))
	for _, it := range pools.Items {
		if it.Status {
			res.Statuses++
		} else {
			res.Objects++
		}
	}
	raw := c.UserConfig(mustCreds(c.UserCredentials(rawUser)))
	raw.QPS = -1
	if res.RawWrites, err = scale.RawWrite(ctx, raw, pools); err != nil {
		return res, err
	}
	return res, nil
}

func acceptedEGClass() *gwapiv1.GatewayClass {
	return &gwapiv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: envoygateway.DefaultGatewayClass},
		Spec:       gwapiv1.GatewayClassSpec{ControllerName: translate.EnvoyGatewayControllerName},
		Status: gwapiv1.GatewayClassStatus{Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue,
			Reason: "Accepted", Message: "accepted by the harness, as Envoy Gateway would", LastTransitionTime: metav1.Unix(1, 0), ObservedGeneration: 1}}},
	}
}

// eppSlice is the EndpointSlice the controller-manager would write for pool i's endpoint
// picker: one ready endpoint (the operator reads its readiness).
func eppSlice(i int) *discoveryv1.EndpointSlice {
	ready := true
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: eppName(i) + "-1", Namespace: namespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: eppName(i)}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{fmt.Sprintf("10.%d.%d.%d", 128+i>>16, i>>8&255, i&255)},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr("grpc"), Port: ptr(int32(eppPort))}},
	}
}

func mustCreds(c cluster.Credentials, err error) cluster.Credentials {
	if err != nil {
		panic(err)
	}
	return c
}
