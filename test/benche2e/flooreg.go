//go:build benche2e

package benche2e

import (
	"context"
	"errors"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// rawWay is the raw writer of the way "raw writer with Envoy Gateway" (rawWithEG): the
// operator's writes made by the harness on the operator way's cluster, Envoy Gateway running,
// no operator.
type rawWay struct {
	cfg *rest.Config
	// before is what the operator would have written before the clock (the generated Gateway,
	// its ClientTrafficPolicy, the statuses of the class and the Gateway), as last written.
	before *scale.Expected
	// snap is the inputs listed once before is written, to which the clock's user objects are
	// added as their creation returned them (real UIDs, for the owner references).
	snap *translate.Snapshot
}

// rawResult is what the raw writer did on the clock.
type rawResult struct {
	// UserWrites is the time of the user's writes (the same parallel writers as the operator's
	// way); Compute that of translating them into what to write (the operator's translation,
	// test/scale); RawWrites that of the writes, one request at a time (scale.RawWrite).
	UserWrites, Compute, RawWrites time.Duration
	// Objects and Statuses are the numbers of generated objects and statuses written, by
	// Writers raw writers side by side (1: one sequential writer).
	Objects, Statuses, Writers int
}

// prepareRaw writes, as the raw writer, what the operator would have written for the Gateway
// before the clock starts: the generated Gateway (Envoy Gateway then starts its proxy) and the
// statuses of the operator's class and the user's Gateway.
func prepareRaw(ctx context.Context, e *env) (*rawWay, error) {
	if err := scale.BindClusterRole(ctx, e.cfg, rawUser); err != nil {
		return nil, err
	}
	creds, err := e.cluster.UserCredentials(rawUser)
	if err != nil {
		return nil, err
	}
	r := &rawWay{cfg: e.cluster.UserConfig(creds)}
	r.cfg.QPS = -1
	if r.before, err = scale.Expect(ctx, e.admin); err != nil {
		return nil, err
	}
	if _, err := scale.RawWrite(ctx, r.cfg, r.before); err != nil {
		return nil, err
	}
	return r, nil
}

// settle runs once Envoy Gateway serves the Gateway's listener: the user's Gateway status then
// mirrors Envoy Gateway's verdict on the generated one, as the operator's would before the
// clock. It lists the inputs for the clock's translation afterwards, so that the user's
// Gateway's resource version is the one the raw writer's status update needs.
func (r *rawWay) settle(ctx context.Context, c client.Client) error {
	now, err := scale.Expect(ctx, c)
	if err != nil {
		return err
	}
	if _, err := scale.RawWrite(ctx, r.cfg, now.Only(now.ChangedSince(r.before))); err != nil {
		return err
	}
	if r.before, err = scale.Expect(ctx, c); err != nil {
		return err
	}
	r.snap, err = scale.ListSnapshot(ctx, c)
	return err
}

// write is the raw writer on the clock, once the user's objects are created (created holds them
// as their creation returned them): it translates the inputs with them and writes, one request
// at a time, what the operator would write for the pools: the generated objects, then the
// statuses of the user's routes, pools and Gateway. With writers > 1, that many raw writers
// write side by side, each the items of a share of the pools in the same order.
func (r *rawWay) write(ctx context.Context, created [][]client.Object, writers int) (rawResult, error) {
	res := rawResult{Writers: max(writers, 1)}
	start := time.Now()
	for _, objs := range created {
		for _, obj := range objs {
			r.snap.Add(obj)
		}
	}
	all, err := scale.ExpectOf(r.snap)
	if err != nil {
		return res, err
	}
	pools := all.Only(all.ChangedSince(r.before))
	for _, it := range pools.Items {
		if it.Status {
			res.Statuses++
		} else {
			res.Objects++
		}
	}
	res.Compute = time.Since(start)
	if writers <= 1 {
		res.RawWrites, err = scale.RawWrite(ctx, r.cfg, pools)
		return res, err
	}
	// Side by side, each writer a share of the pools, as the operator's concurrent reconciles.
	start = time.Now()
	shares := pools.Shards(writers)
	errs := make([]error, len(shares))
	var wg sync.WaitGroup
	for i, share := range shares {
		wg.Go(func() { _, errs[i] = scale.RawWrite(ctx, r.cfg, share) })
	}
	wg.Wait()
	res.RawWrites = time.Since(start)
	return res, errors.Join(errs...)
}
