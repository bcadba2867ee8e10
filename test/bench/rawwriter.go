//go:build bench

package bench

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// runRaw times the sequential raw writer, checks it wrote what the operator must write, and
// counts its writes (which also checks the audit counting: it can only write each item once).
func runRaw(ctx context.Context, s *server, admin client.Client, res *Result, logf func(string, ...any)) error {
	e, err := scale.Expect(ctx, admin)
	if err != nil {
		return err
	}
	res.Objects, res.Statuses = e.Counts()
	logf("raw writer: %d objects and %d statuses", res.Objects, res.Statuses)
	res.RawLoad[0] = scale.LoadAverage()
	if res.Raw, err = scale.RawWrite(ctx, s.config(rawUser), e); err != nil {
		return err
	}
	res.RawLoad[1] = scale.LoadAverage()
	trackCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr, err := scale.StartTracker(trackCtx, s.admin)
	if err != nil {
		return err
	}
	if err := tr.Expect(e); err != nil {
		return err
	}
	if _, err := tr.Wait(ctx, time.Minute); err != nil {
		return fmt.Errorf("the raw writer's result differs from the expected one: %w", err)
	}
	ws, err := scale.ReadWrites(s.auditLog, rawUser)
	if err != nil {
		return err
	}
	resource, err := scale.Resources(admin)
	if err != nil {
		return err
	}
	res.RawWrites = scale.CountWrites(ws, e.Items, resource)
	return nil
}
