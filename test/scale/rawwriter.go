package scale

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

// RawWrite is the yardstick: one goroutine writes what the operator must write for e, one
// request at a time, with no client-side rate limit: each generated object by server-side apply
// (the operator's field manager, forced, the same payload as controllers.Applier), then each
// status by an update of the status subresource (as the operator's status writer). The payloads
// are prepared before the clock starts: what is timed is the API server's cost of the writes,
// the least any writer of these objects pays.
func RawWrite(ctx context.Context, cfg *rest.Config, e *Expected) (time.Duration, error) {
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return 0, err
	}
	var applies []*unstructured.Unstructured
	var statuses []client.Object
	now := metav1.Now()
	for _, it := range e.Items {
		if it.Status {
			statuses = append(statuses, e.withStatus(it.Ref, now))
			continue
		}
		u, err := applyPayload(e.objects[it.Ref])
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
