package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/client-go/discovery"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// setupUnit is one piece of the operator set up once the kinds it needs are served.
type setupUnit struct {
	name  string
	needs []*apiSet
	after []*setupUnit // set up only once these are
	setup func(ctx context.Context) error
	done  bool
}

// prerequisiteWatcher checks the prerequisites every interval (and when told), sets up the units
// whose kinds became served, and, when what the GatewayClasses report changes, reconciles them
// and their Gateways again. It runs on every replica (readiness), not only the leader's.
type prerequisiteWatcher struct {
	mgr      ctrl.Manager
	opts     Options
	dc       discovery.DiscoveryInterface
	units    []*setupUnit
	interval time.Duration
	// classEvents and gatewayEvents reach the GatewayClass and Gateway controllers.
	classEvents, gatewayEvents chan event.GenericEvent
}

func newPrerequisiteWatcher(mgr ctrl.Manager, opts Options) (*prerequisiteWatcher, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return nil, err
	}
	w := &prerequisiteWatcher{
		mgr: mgr, opts: opts, dc: dc, interval: opts.PrerequisiteCheckInterval,
		// Buffered, and sent to without blocking: a replica that is not the leader runs no
		// controller to read them, and a full buffer already means "reconcile everything".
		classEvents: make(chan event.GenericEvent, 1024), gatewayEvents: make(chan event.GenericEvent, 1024),
	}
	w.units = w.setupUnits()
	return w, nil
}

// ready tells whether u can be set up now.
func (w *prerequisiteWatcher) ready(u *setupUnit) bool {
	for _, a := range u.after {
		if !a.done {
			return false
		}
	}
	for _, set := range u.needs {
		if !w.opts.prereqs.has(set) {
			return false
		}
	}
	return true
}

// Start checks the prerequisites until ctx ends.
func (w *prerequisiteWatcher) Start(ctx context.Context) error {
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-w.opts.prereqs.changed:
			w.broadcast(ctx) // evidence of a disabled Backend API came or went
		}
		if err := w.reconcile(ctx); err != nil {
			log.FromContext(ctx).Error(err, "checking the operator's prerequisites")
		}
	}
}

// NeedLeaderElection is false: every replica's readiness says what is missing.
func (w *prerequisiteWatcher) NeedLeaderElection() bool { return false }

// errNotChecked wraps the error of a check of the prerequisites that got no answer from the API
// server, as opposed to an error setting something up.
var errNotChecked = errors.New("prerequisites not checked")

// reconcile checks the prerequisites, sets up what became possible, and tells the GatewayClass
// and Gateway controllers when something changed.
func (w *prerequisiteWatcher) reconcile(ctx context.Context) error {
	changed, err := w.opts.prereqs.check(w.dc)
	if err != nil {
		return fmt.Errorf("%w: %w", errNotChecked, err)
	}
	if !changed {
		return nil
	}
	logger := log.FromContext(ctx)
	for _, u := range w.units {
		if u.done || !w.ready(u) {
			continue
		}
		if err := u.setup(ctx); err != nil {
			return err
		}
		u.done = true
		logger.Info("set up", "part", u.name)
	}
	if missing := w.opts.prereqs.missingText(); missing != "" {
		logger.Info("waiting for prerequisites", "missing", missing)
	}
	select { // the change is broadcast here, not again by Start
	case <-w.opts.prereqs.changed:
	default:
	}
	w.broadcast(ctx)
	return nil
}

// broadcast reconciles our GatewayClasses and their Gateways again (their status reports the
// prerequisites), without blocking.
func (w *prerequisiteWatcher) broadcast(ctx context.Context) {
	if !w.opts.prereqs.has(&gatewayAPIs) {
		return
	}
	classes := &gwapiv1.GatewayClassList{}
	if err := w.mgr.GetClient().List(ctx, classes); err != nil {
		return
	}
	for i := range classes.Items {
		c := &classes.Items[i]
		if string(c.Spec.ControllerName) != translate.ControllerName {
			continue
		}
		send(w.classEvents, c)
		gateways := &gwapiv1.GatewayList{}
		if err := w.mgr.GetClient().List(ctx, gateways, client.MatchingFields{indexGatewayClass: c.Name}); err != nil {
			continue
		}
		for j := range gateways.Items {
			send(w.gatewayEvents, &gateways.Items[j])
		}
	}
}

func send(ch chan event.GenericEvent, obj client.Object) {
	select {
	case ch <- event.GenericEvent{Object: obj}:
	default:
	}
}
