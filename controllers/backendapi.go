package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// Envoy Gateway's Backend API is off by default, and nothing the operator can read says so: with
// it off, Envoy Gateway neither watches Backends (they never get a status) nor accepts a policy
// referencing one ("ExtProc: backend <ns>/<name> not found."). So the pool reconciler reads
// Envoy Gateway's verdicts on the EnvoyExtensionPolicies it generated: one refused for a
// Backend of the operator's that exists and that Envoy Gateway never judged is evidence that the
// Envoy Gateway serving that class has the Backend API off. The GatewayClasses using it report
// it (translate.ReasonEnvoyGatewayBackendDisabled); an accepted one clears it.

// backendGrace is how long a Backend may go without Envoy Gateway's verdict before its silence
// counts: Envoy Gateway judges a new Backend within a second when its API is on.
const backendGrace = 10 * time.Second

// observeBackendAPI records what Envoy Gateway's verdicts on src's generated
// EnvoyExtensionPolicies say of its Backend API. It returns when to look again (a Backend too
// young to tell yet), or 0.
func observeBackendAPI(ctx context.Context, c client.Reader, prereqs *prerequisites, src translate.Source, now time.Time) (time.Duration, error) {
	if prereqs == nil {
		return 0, nil
	}
	eeps := &egv1a1.EnvoyExtensionPolicyList{}
	if err := c.List(ctx, eeps, client.MatchingFields{indexSource: src.String()}); err != nil {
		return 0, err
	}
	var again time.Duration
	for i := range eeps.Items {
		eep := &eeps.Items[i]
		backend := operatorBackend(eep)
		if backend == nil {
			continue
		}
		for _, anc := range eep.Status.Ancestors {
			acc := meta.FindStatusCondition(anc.Conditions, string(gwapiv1.PolicyConditionAccepted))
			if string(anc.ControllerName) == translate.ControllerName || acc == nil || acc.ObservedGeneration < eep.Generation {
				continue
			}
			egClass, err := ancestorClass(ctx, c, anc.AncestorRef, eep.Namespace)
			if err != nil || egClass == "" {
				continue
			}
			if acc.Status == metav1.ConditionTrue {
				prereqs.setBackendDisabled(egClass, "")
				continue
			}
			if !strings.Contains(acc.Message, "backend") || !strings.Contains(acc.Message, "not found") {
				continue
			}
			b := &egv1a1.Backend{}
			if err := c.Get(ctx, *backend, b); err != nil || len(b.Status.Conditions) > 0 {
				continue // no Backend, or Envoy Gateway sees Backends: not the API being off
			}
			if age := now.Sub(b.CreationTimestamp.Time); age < backendGrace {
				if wait := backendGrace - age; again == 0 || wait < again {
					again = wait
				}
				continue
			}
			prereqs.setBackendDisabled(egClass, fmt.Sprintf("it refused EnvoyExtensionPolicy %s/%s with %q and never judged Backend %s", eep.Namespace, eep.Name, acc.Message, backend))
		}
	}
	return again, nil
}

// operatorBackend returns the operator's EPP Backend an EnvoyExtensionPolicy calls, if any.
func operatorBackend(eep *egv1a1.EnvoyExtensionPolicy) *types.NamespacedName {
	for _, ep := range eep.Spec.ExtProc {
		for _, ref := range ep.BackendRefs {
			if ref.Kind != nil && *ref.Kind == egv1a1.KindBackend {
				ns := eep.Namespace
				if ref.Namespace != nil {
					ns = string(*ref.Namespace)
				}
				return &types.NamespacedName{Namespace: ns, Name: string(ref.Name)}
			}
		}
	}
	return nil
}

// ancestorClass is the GatewayClass of the Gateway an ancestorRef (of a policy in ns) names.
func ancestorClass(ctx context.Context, c client.Reader, ref gwapiv1.ParentReference, ns string) (string, error) {
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	gw := &gwapiv1.Gateway{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: string(ref.Name)}, gw); err != nil {
		return "", client.IgnoreNotFound(err)
	}
	return string(gw.Spec.GatewayClassName), nil
}
