//go:build bench

package bench

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// rawWrite is the yardstick: one goroutine writes what the operator must write for e, one
// request at a time, with no client-side rate limit: each generated object by server-side apply
// (the operator's field manager, forced, the same payload as controllers.Applier), then each
// status by an update of the status subresource (as the operator's status writer). The payloads
// are prepared before the clock starts: what is timed is the API server's cost of the writes,
// the least any writer of these objects pays.
func rawWrite(ctx context.Context, cfg *rest.Config, e *expected) (time.Duration, error) {
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return 0, err
	}
	var applies []*unstructured.Unstructured
	var statuses []client.Object
	now := metav1.Now()
	for _, it := range e.items {
		if it.status {
			statuses = append(statuses, e.withStatus(it.ref, now))
			continue
		}
		u, err := applyPayload(e.objects[it.ref])
		if err != nil {
			return 0, err
		}
		applies = append(applies, u)
	}
	start := time.Now()
	for _, u := range applies {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
			client.FieldOwner(translate.FieldManager), client.ForceOwnership); err != nil {
			return 0, fmt.Errorf("raw writer: applying %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	for _, obj := range statuses {
		if err := c.Status().Update(ctx, obj); err != nil {
			return 0, fmt.Errorf("raw writer: status of %T %s: %w", obj, obj.GetName(), err)
		}
	}
	return time.Since(start), nil
}

// runRaw times the sequential raw writer, checks it wrote what the operator must write, and
// counts its writes (which also checks the audit counting: it can only write each item once).
func runRaw(ctx context.Context, s *server, admin client.Client, res *Result, logf func(string, ...any)) error {
	e, err := expect(ctx, admin)
	if err != nil {
		return err
	}
	res.Objects, res.Statuses = e.counts()
	logf("raw writer: %d objects and %d statuses", res.Objects, res.Statuses)
	res.RawLoad[0] = loadAverage()
	if res.Raw, err = rawWrite(ctx, s.config(rawUser), e); err != nil {
		return err
	}
	res.RawLoad[1] = loadAverage()
	trackCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr, err := startTracker(trackCtx, s.admin)
	if err != nil {
		return err
	}
	if err := tr.expect(e); err != nil {
		return err
	}
	if _, err := tr.wait(ctx, time.Minute); err != nil {
		return fmt.Errorf("the raw writer's result differs from the expected one: %w", err)
	}
	ws, err := readWrites(s.auditLog, rawUser)
	if err != nil {
		return err
	}
	resource, err := resources(admin)
	if err != nil {
		return err
	}
	res.RawWrites = countWrites(ws, e.items, resource)
	return nil
}
