package controllers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// The operator needs CRDs it does not install: Gateway API's (which Envoy Gateway's chart
// brings), Envoy Gateway's, GIE's InferencePool, and BackendTLSPolicy for one TLS mode. A
// controller whose kinds are not served cannot start (controller-runtime would wait for their
// caches and then stop the whole manager: a crash loop). So the operator starts each controller
// once the API server serves its kinds, keeps checking for the others, reports what is missing
// on its GatewayClasses (translate/gateway_class_prerequisites.go) and in its readiness check, and serves as
// soon as they appear, without a restart.

// apiSet is a set of kinds the operator needs together.
type apiSet struct {
	// check names the readiness check that fails while the set is missing (the probe's output
	// names failed checks, and withholds their errors).
	check   string
	name    string
	missing translate.MissingAPI // how a GatewayClass reports it ("" when it cannot: see below)
	kinds   []schema.GroupVersionKind
}

var (
	// gatewayAPIs are Gateway API's kinds. Without them no GatewayClass can even say so.
	gatewayAPIs = apiSet{check: "gateway-api-crds", name: "Gateway API CRDs (gateway.networking.k8s.io: GatewayClass, Gateway, HTTPRoute, ReferenceGrant; install Envoy Gateway v1.9.1, whose chart brings them)", kinds: []schema.GroupVersionKind{
		gwapiv1.SchemeGroupVersion.WithKind("GatewayClass"), gwapiv1.SchemeGroupVersion.WithKind("Gateway"),
		gwapiv1.SchemeGroupVersion.WithKind("HTTPRoute"), gwapiv1beta1.SchemeGroupVersion.WithKind("ReferenceGrant"),
	}}
	// operatorAPIs is the operator's own CRD, which every install path installs with it.
	operatorAPIs = apiSet{check: "operator-crd", name: "the InferenceGatewayParameters CRD (inferencepool-operator.io; install the operator's CRD)", kinds: []schema.GroupVersionKind{
		v1alpha1.GroupVersion.WithKind(v1alpha1.Kind),
	}}
	envoyGatewayAPIs = apiSet{check: "envoy-gateway-crds", missing: translate.MissingEnvoyGateway, kinds: []schema.GroupVersionKind{
		egv1a1.GroupVersion.WithKind(egv1a1.KindBackendTrafficPolicy), egv1a1.GroupVersion.WithKind(egv1a1.KindEnvoyExtensionPolicy),
		egv1a1.GroupVersion.WithKind(egv1a1.KindClientTrafficPolicy), egv1a1.GroupVersion.WithKind(egv1a1.KindSecurityPolicy),
		egv1a1.GroupVersion.WithKind(egv1a1.KindBackend),
	}}
	inferencePoolAPIs = apiSet{check: "inferencepool-crd", missing: translate.MissingInferencePool, kinds: []schema.GroupVersionKind{
		schema.GroupVersionKind{Group: giev1.GroupVersion.Group, Version: giev1.GroupVersion.Version, Kind: translate.InferencePoolKind},
	}}
	backendTLSPolicyAPIs = apiSet{missing: translate.MissingBackendTLSPolicy, kinds: []schema.GroupVersionKind{
		gwapiv1.SchemeGroupVersion.WithKind("BackendTLSPolicy"),
	}}
	// copiedRouteAPIs: one set per route kind served by copy (copied_route_controller.go); each
	// is optional, as Envoy Gateway's watches of them are.
	copiedRouteAPIs = func() map[string]*apiSet {
		out := map[string]*apiSet{}
		for _, k := range translate.CopiedRouteKinds {
			out[k.Kind] = &apiSet{name: "the " + k.Kind + " CRD (gateway.networking.k8s.io)", kinds: []schema.GroupVersionKind{gwapiv1.SchemeGroupVersion.WithKind(k.Kind)}}
		}
		return out
	}()
	allAPISets = append([]*apiSet{&gatewayAPIs, &operatorAPIs, &envoyGatewayAPIs, &inferencePoolAPIs, &backendTLSPolicyAPIs}, routeSets()...)
)

// routeSets lists copiedRouteAPIs in CopiedRouteKinds' order.
func routeSets() []*apiSet {
	out := make([]*apiSet, 0, len(translate.CopiedRouteKinds))
	for _, k := range translate.CopiedRouteKinds {
		out = append(out, copiedRouteAPIs[k.Kind])
	}
	return out
}

func (a *apiSet) String() string {
	if a.missing != "" {
		return translate.MissingAPIMessage(a.missing)
	}
	return a.name + " are not installed"
}

// prerequisites is what the API server serves of the operator's prerequisites, and evidence of
// Envoy Gateway settings it lacks, shared by the reconcilers.
type prerequisites struct {
	mu      sync.RWMutex
	served  map[*apiSet]bool
	checked bool
	// indexed: the sets whose generated kinds have their field indexes (pruning uses them).
	indexed map[*apiSet]bool
	// backendDisabled: Envoy Gateway class → evidence that its Envoy Gateway has the Backend
	// API off (translate.Snapshot.BackendAPIDisabled).
	backendDisabled map[string]string
	// changed is told (without blocking) when what the GatewayClasses report changes.
	changed chan struct{}
}

func newPrerequisites() *prerequisites {
	return &prerequisites{served: map[*apiSet]bool{}, indexed: map[*apiSet]bool{}, backendDisabled: map[string]string{}, changed: make(chan struct{}, 1)}
}

// has tells whether every kind of set is served.
func (p *prerequisites) has(set *apiSet) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.served[set]
}

// missingAPIs lists the sets a GatewayClass reports, when missing.
func (p *prerequisites) missingAPIs() []translate.MissingAPI {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []translate.MissingAPI
	for _, set := range allAPISets {
		if set.missing != "" && !p.served[set] {
			out = append(out, set.missing)
		}
	}
	return out
}

// backendAPIDisabled is a copy of the evidence of Backend APIs switched off.
func (p *prerequisites) backendAPIDisabled() map[string]string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make(map[string]string, len(p.backendDisabled))
	for k, v := range p.backendDisabled {
		out[k] = v
	}
	return out
}

// setBackendDisabled records (evidence != "") or clears the evidence for an Envoy Gateway
// class; the GatewayClasses are told when it appears or goes.
func (p *prerequisites) setBackendDisabled(egClass, evidence string) {
	p.mu.Lock()
	_, had := p.backendDisabled[egClass]
	if evidence != "" {
		p.backendDisabled[egClass] = evidence
	} else {
		delete(p.backendDisabled, egClass)
	}
	p.mu.Unlock()
	if had != (evidence != "") {
		p.notify()
	}
}

func (p *prerequisites) notify() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// check asks the API server which sets it serves. It returns whether that changed.
func (p *prerequisites) check(dc discovery.DiscoveryInterface) (bool, error) {
	served := map[*apiSet]bool{}
	resources := map[schema.GroupVersion]map[string]bool{}
	for _, set := range allAPISets {
		ok := true
		for _, gvk := range set.kinds {
			kinds, found := resources[gvk.GroupVersion()]
			if !found {
				kinds = map[string]bool{}
				list, err := dc.ServerResourcesForGroupVersion(gvk.GroupVersion().String())
				switch {
				case apierrors.IsNotFound(err):
				case err != nil:
					return false, fmt.Errorf("discovering %s: %w", gvk.GroupVersion(), err)
				default:
					for _, r := range list.APIResources {
						kinds[r.Kind] = true
					}
				}
				resources[gvk.GroupVersion()] = kinds
			}
			ok = ok && kinds[gvk.Kind]
		}
		served[set] = ok
	}
	p.mu.Lock()
	changed := !p.checked
	for _, set := range allAPISets {
		changed = changed || p.served[set] != served[set]
	}
	p.served, p.checked = served, true
	p.mu.Unlock()
	if changed {
		p.notify()
	}
	return changed, nil
}

// readyz returns the readiness check of set: failing, with what to install, while the set is
// not served. (TLS mode Verify's BackendTLSPolicy has none: only its classes need it.)
func (p *prerequisites) readyz(set *apiSet) func(*http.Request) error {
	return func(*http.Request) error {
		p.mu.RLock()
		defer p.mu.RUnlock()
		if !p.checked {
			return errors.New("prerequisites not checked yet")
		}
		if !p.served[set] {
			return errors.New(set.String())
		}
		return nil
	}
}

// missingText says what is missing, for the log ("" when nothing).
func (p *prerequisites) missingText() string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var missing []string
	for _, set := range allAPISets {
		if !p.served[set] && set.check != "" {
			missing = append(missing, set.String())
		}
	}
	sort.Strings(missing)
	return strings.Join(missing, "; ")
}

// markIndexed records that the field indexes of set's generated kinds are registered.
func (p *prerequisites) markIndexed(set *apiSet) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.indexed[set] = true
}

// isIndexed tells whether set's field indexes are registered (markIndexed): only then may a
// reconcile list its kinds by them.
func (p *prerequisites) isIndexed(set *apiSet) bool {
	if p == nil {
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.indexed[set]
}

// objectServed tells whether the API server serves obj's kind: the operator writes nothing of a
// kind whose CRD is missing (the apply would fail on every reconcile), and prunes nothing of it.
func (p *prerequisites) objectServed(obj client.Object) bool {
	if set := writeGatedSetOf(obj); set != nil {
		return p.has(set)
	}
	return true
}

// listServed tells whether the kind of list is served and indexed (pruning skips the others:
// nothing of theirs can exist yet).
func (p *prerequisites) listServed(list client.ObjectList) bool {
	if set := writeGatedSetOf(list); set != nil {
		p.mu.RLock()
		defer p.mu.RUnlock()
		return p.indexed[set]
	}
	return true
}

// writeGatedSets hold the generated kinds the operator can run without: it writes and prunes
// them only while they are served. Without the other sets it serves nothing at all.
var writeGatedSets = []*apiSet{&envoyGatewayAPIs, &backendTLSPolicyAPIs}

// kindsScheme names the kinds of the operator's objects.
var kindsScheme = NewScheme()

// writeGatedSetOf is the set of writeGatedSets holding obj's kind (a list's: its items' kind),
// nil when none does.
func writeGatedSetOf(obj runtime.Object) *apiSet {
	gvks, _, err := kindsScheme.ObjectKinds(obj)
	if err != nil {
		return nil
	}
	gvk := gvks[0]
	if _, isList := obj.(client.ObjectList); isList {
		gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	}
	for _, set := range writeGatedSets {
		if slices.Contains(set.kinds, gvk) {
			return set
		}
	}
	return nil
}
