//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	// Registered for decoding the per-route configurations Envoy Gateway writes.
	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/basic_auth/v3"
	localratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/local_ratelimit/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/lua/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
	"github.com/inferencepool-operator/inferencepool-operator/test/xds"
)

// The users' Envoy Gateway policies, written against their own Gateway and HTTPRoute, on the
// real Envoy Gateway: what the operator carries over is accepted, and Envoy is told both the
// user's settings and the operator's on the inference route (xDS). Envoy Gateway orders HTTP
// filters by type (auth, then Lua, then ext_proc by index, then Wasm; internal/xds/translator/
// httpfilters.go), so the order is read off the connection manager's filter list.

// basicAuthYAML is a SecurityPolicy with basic auth on the user's route, and its users.
const basicAuthYAML = `
apiVersion: v1
kind: Secret
metadata:
  name: model-users
  namespace: {{.Namespace}}
stringData:
  .htpasswd: "alice:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M="
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata:
  name: model-auth
  namespace: {{.Namespace}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm}]
  basicAuth: {users: {name: model-users}}
`

// retriesYAML is a BackendTrafficPolicy with retries and a local rate limit on the user's route.
const retriesYAML = `
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: retries
  namespace: {{.Namespace}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm}]
  retry:
    numRetries: 3
  rateLimit:
    type: Local
    local:
      rules:
      - limit: {requests: 10, unit: Minute}
`

// clientTimeoutYAML is a ClientTrafficPolicy on the user's Gateway.
const clientTimeoutYAML = `
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata:
  name: client-timeout
  namespace: {{.Namespace}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  timeout: {http: {requestReceivedTimeout: 30s}}
`

// luaYAML is an EnvoyExtensionPolicy with an inline Lua filter on the user's route (MergeType,
// when set, merges it with the Gateway's).
const luaYAML = `
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyExtensionPolicy
metadata:
  name: lua-tag
  namespace: {{.Namespace}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm}]
  {{if .MergeType}}mergeType: {{.MergeType}}{{end}}
  lua:
  - type: Inline
    inline: |
      function envoy_on_request(request_handle)
        request_handle:headers():add("x-tagged", "1")
      end
`

// bodyBasedRoutingYAML is an EnvoyExtensionPolicy on the user's Gateway calling a body-based
// router (GIE's BBR reads the OpenAI "model" field into a header the routes can match).
const bodyBasedRoutingYAML = `
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyExtensionPolicy
metadata:
  name: body-based-routing
  namespace: {{.Namespace}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  extProc:
  - backendRefs: [{name: bbr, port: 9002}]
    processingMode: {request: {body: Buffered}}
`

// userPolicyAccepted waits until the user's policy (kind, name) has an entry of our controller
// naming the user's Gateway gw with Accepted=True: Envoy Gateway's verdict on what carries it.
func userPolicyAccepted(t *testing.T, c client.Client, ns, kind, name string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s %s/%s accepted for Gateway gw", kind, ns, name), func(ctx context.Context) error {
		u := newUnstructured(egv1a1.GroupVersion.String(), kind, ns, name)
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
			return err
		}
		ancestors, _, _ := unstructured.NestedSlice(u.Object, "status", "ancestors")
		for _, a := range ancestors {
			m := a.(map[string]any)
			ref, _, _ := unstructured.NestedMap(m, "ancestorRef")
			if m["controllerName"] != translate.ControllerName || ref["name"] != "gw" || ref["namespace"] != ns || ref["kind"] != "Gateway" {
				continue
			}
			conds, _, _ := unstructured.NestedSlice(m, "conditions")
			for _, cond := range conds {
				cm := cond.(map[string]any)
				if cm["type"] == "Accepted" && cm["status"] == "True" {
					return nil
				}
			}
			return fmt.Errorf("our entry for gw: %v", conds)
		}
		return fmt.Errorf("no entry of ours naming Gateway %s/gw: %v", ns, ancestors)
	})
}

// carrier waits for the operator's generated policy of kind that carries the user's policy
// name, accepted by Envoy Gateway, and returns its name.
func carrier(t *testing.T, c client.Client, k generatedKind, ns, source, name string) string {
	t.Helper()
	found := carrierOf(t, c, k, ns, source, name)
	waitVerdict(t, c, k.APIVersion, k.Kind, ns, found, metav1.ConditionTrue, "Accepted")
	return found
}

// carrierOf waits for the operator's generated policy of kind (from source) that carries the
// user's policy name, whatever Envoy Gateway's verdict, and returns its name.
func carrierOf(t *testing.T, c client.Client, k generatedKind, ns, source, name string) string {
	t.Helper()
	key := fmt.Sprintf("%s/%s/%s", k.Kind, ns, name)
	var found string
	eventually(t, fmt.Sprintf("a generated %s carrying %s", k.Kind, key), func(ctx context.Context) error {
		items, err := listGenerated(ctx, c, k, ns, source)
		if err != nil {
			return err
		}
		for _, u := range items {
			if slices.Contains(strings.Split(u.GetAnnotations()[translate.AnnotationCarries], "+"), key) {
				found = u.GetName()
				return nil
			}
		}
		return fmt.Errorf("none of %v carries it", names(items))
	})
	return found
}

// filterIndex returns the position of the first HTTP filter named prefix* in the proxy's
// routing listeners, and its name; -1 when absent.
func filterIndex(s *xds.Snapshot, prefix string) (int, string, error) {
	for _, l := range s.Listeners {
		filters, err := xds.HTTPFilters(l)
		if err != nil {
			return -1, "", err
		}
		for i, f := range filters {
			if strings.HasPrefix(f.Name, prefix) {
				return i, f.Name, nil
			}
		}
	}
	return -1, "", nil
}

// enabledOnRule checks the filter named prefix* runs on every route of the rule, and returns
// its position in the filter chain.
func enabledOnRule(s *xds.Snapshot, rule, prefix string) (int, error) {
	i, name, err := filterIndex(s, prefix)
	if err != nil {
		return -1, err
	}
	if i < 0 {
		return -1, fmt.Errorf("no listener has a filter %s*", prefix)
	}
	routes := s.RoutesWithPrefix(rule + "/")
	if len(routes) == 0 {
		return -1, fmt.Errorf("no route of %s (routes %v)", rule, s.RouteNames())
	}
	for _, r := range routes {
		on, err := xds.FilterEnabledOnRoute(r, name)
		if err != nil {
			return -1, err
		}
		if !on {
			return -1, fmt.Errorf("route %s does not enable %s", r.Name, name)
		}
	}
	return i, nil
}

// TestUserPolicies attaches the users' policies of the four kinds to their own Gateway and route
// in turn, and checks what Envoy is told on the inference rule.
func TestUserPolicies(t *testing.T) {
	c := newOperatorClient(t)
	ns := newNamespace(t, c)
	failureReport(t, c, ns)
	class := newInferenceClass(t, c, ns, "{}")
	applyTemplate(t, gatewayYAML, map[string]any{"Namespace": ns, "Name": "gw", "Class": class})
	model{Namespace: ns, Name: "pool", Replicas: 2}.apply(t)
	poolRoute{Namespace: ns, Pool: "pool", RuleName: "chat"}.apply(t)
	waitGatewayProgrammed(t, c, ns, "gw", 1)
	waitRouteAccepted(t, c, ns, "llm", ns, "gw")
	rule := ruleCluster(ns, "llm-eg", 0)
	ips := withPort(readyPodIPs(t, c, ns, "app=pool", 2), 8000)
	data := map[string]any{"Namespace": ns, "MergeType": ""}

	t.Run("basic auth on the route", func(t *testing.T) {
		applyTemplate(t, basicAuthYAML, data)
		cp := waitGenerated(t, c, generatedKind{egv1a1.GroupVersion.String(), "SecurityPolicy"}, ns, "model-auth", 1)
		waitAccepted(t, c, cp)
		userPolicyAccepted(t, c, ns, "SecurityPolicy", "model-auth")
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			_, err := enabledOnRule(s, rule, "envoy.filters.http.basic_auth/securitypolicy/"+ns+"/"+cp[0].GetName())
			return err
		})
	})

	t.Run("retries and a rate limit on the route", func(t *testing.T) {
		applyTemplate(t, retriesYAML, data)
		carrier(t, c, kindBackendTraffic, ns, "pool", "retries")
		userPolicyAccepted(t, c, ns, "BackendTrafficPolicy", "retries")
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			routes := s.RoutesWithPrefix(rule + "/")
			if len(routes) == 0 {
				return fmt.Errorf("no route of %s (routes %v)", rule, s.RouteNames())
			}
			for _, r := range routes {
				if n := r.GetRoute().GetRetryPolicy().GetNumRetries().GetValue(); n != 3 {
					return fmt.Errorf("route %s retries %d times, want 3", r.Name, n)
				}
				m, err := xds.TypedPerFilterConfig(r, "envoy.filters.http.local_ratelimit")
				if err != nil {
					return err
				}
				rl, ok := m.(*localratelimitv3.LocalRateLimit)
				if !ok || rl.GetTokenBucket().GetMaxTokens() != 10 || rl.GetTokenBucket().GetFillInterval().AsDuration() != time.Minute {
					return fmt.Errorf("route %s local rate limit %v, want 10 per minute", r.Name, m)
				}
			}
			// The operator's settings stay: the pool's cluster still follows the picker.
			return poolClusterIs(s, rule, leastRequest, ips)
		})
	})

	t.Run("client timeout on the Gateway", func(t *testing.T) {
		applyTemplate(t, clientTimeoutYAML, data)
		carrier(t, c, kindClientTraffic, ns, "gw", "client-timeout")
		userPolicyAccepted(t, c, ns, "ClientTrafficPolicy", "client-timeout")
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			routing := 0
			for _, l := range s.Listeners {
				hcms, err := xds.ConnectionManagers(l)
				if err != nil {
					return err
				}
				for _, h := range hcms {
					if h.GetRds() == nil {
						continue
					}
					routing++
					if got := h.GetRequestTimeout().AsDuration(); got != 30*time.Second {
						return fmt.Errorf("listener %s request_timeout %v, want 30s", l.Name, got)
					}
				}
			}
			if routing == 0 {
				return fmt.Errorf("no routing connection manager")
			}
			return destinationHeaderStripped(s)
		})
	})

	t.Run("Lua on the route, before the picker", func(t *testing.T) {
		applyTemplate(t, luaYAML, data)
		eep := carrier(t, c, kindEnvoyExtension, ns, "pool", "lua-tag")
		userPolicyAccepted(t, c, ns, "EnvoyExtensionPolicy", "lua-tag")
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			lua, err := enabledOnRule(s, rule, "envoy.filters.http.lua/envoyextensionpolicy/"+ns+"/"+eep+"/")
			if err != nil {
				return err
			}
			picker, err := enabledOnRule(s, rule, extProcFilterPrefix(ns, eep))
			if err != nil {
				return err
			}
			if lua >= picker {
				return fmt.Errorf("Lua filter at %d runs after the picker's ext_proc at %d", lua, picker)
			}
			// The route's basic auth (first subtest) runs before both.
			auth, err := enabledOnRule(s, rule, "envoy.filters.http.basic_auth/securitypolicy/"+ns+"/")
			if err != nil {
				return err
			}
			if auth >= lua {
				return fmt.Errorf("basic auth at %d runs after the Lua filter at %d", auth, lua)
			}
			return nil
		})
	})

	t.Run("body-based router on the Gateway, before the picker", func(t *testing.T) {
		applyTemplate(t, endpointPickerYAML, map[string]any{"Namespace": ns, "Name": "bbr", "Replicas": 1})
		applyTemplate(t, bodyBasedRoutingYAML, data)
		// The route's own Lua policy holds the route (no mergeType): merge it with the Gateway's.
		applyTemplate(t, luaYAML, map[string]any{"Namespace": ns, "MergeType": "StrategicMerge"})
		eep := carrier(t, c, kindEnvoyExtension, ns, "pool", "body-based-routing")
		userPolicyAccepted(t, c, ns, "EnvoyExtensionPolicy", "body-based-routing")
		proxyConfig(t, ns, "gw", func(s *xds.Snapshot) error {
			prefix := "envoy.filters.http.ext_proc/envoyextensionpolicy/" + ns + "/" + eep + "/extproc/"
			bbr, err := enabledOnRule(s, rule, prefix+"0")
			if err != nil {
				return err
			}
			picker, err := enabledOnRule(s, rule, prefix+"1")
			if err != nil {
				return err
			}
			lua, err := enabledOnRule(s, rule, "envoy.filters.http.lua/envoyextensionpolicy/"+ns+"/"+eep+"/")
			if err != nil {
				return err
			}
			if !(lua < bbr && bbr < picker) {
				return fmt.Errorf("filter order Lua %d, body-based router %d, picker %d: want the picker last", lua, bbr, picker)
			}
			return checkExtProcCalls(s, prefix+"0", "bbr", ns)
		})
	})

	t.Run("policy status names the user's Gateway", func(t *testing.T) {
		bp := &egv1a1.BackendTrafficPolicy{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "retries"}, bp); err != nil {
			t.Fatal(err)
		}
		for _, a := range bp.Status.Ancestors {
			if string(a.ControllerName) == translate.ControllerName && string(a.AncestorRef.Name) != "gw" {
				t.Errorf("ancestor %+v names a generated object, not the user's Gateway", a.AncestorRef)
			}
		}
	})
}

// checkExtProcCalls checks the ext_proc filter named name calls the Service svc of ns.
func checkExtProcCalls(s *xds.Snapshot, name, svc, ns string) error {
	_, full, err := filterIndex(s, name)
	if err != nil || full == "" {
		return fmt.Errorf("no filter %s (%v)", name, err)
	}
	var f *hcmv3.HttpFilter
	for _, l := range s.Listeners {
		filters, _ := xds.HTTPFilters(l)
		if f = xds.HTTPFilter(filters, full); f != nil {
			break
		}
	}
	ep, err := xds.ExtProc(f)
	if err != nil {
		return err
	}
	d, err := describeEPPCluster(s, ep.GetGrpcService().GetEnvoyGrpc().GetClusterName())
	if err != nil {
		return err
	}
	if len(d.Endpoints) != 1 {
		return fmt.Errorf("%s calls %+v, want the %s/%s pod", name, d, ns, svc)
	}
	return nil
}
