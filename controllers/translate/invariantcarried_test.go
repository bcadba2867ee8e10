package translate_test

import (
	"strings"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// refTarget is the object a reference resolves to.
type refTarget struct {
	group, kind, namespace, name string
}

// backendTarget resolves a backend reference of an object in namespace (default kind Service).
func backendTarget(ref gwapiv1.BackendObjectReference, namespace string) refTarget {
	t := refTarget{kind: "Service", namespace: translate.RefNamespace(ref, namespace), name: string(ref.Name)}
	if ref.Group != nil {
		t.group = string(*ref.Group)
	}
	if ref.Kind != nil {
		t.kind = string(*ref.Kind)
	}
	return t
}

// secretTarget resolves a Secret reference of an object in namespace.
func secretTarget(ref gwapiv1.SecretObjectReference, namespace string) refTarget {
	t := refTarget{kind: "Secret", namespace: namespace, name: string(ref.Name)}
	if ref.Namespace != nil && *ref.Namespace != "" {
		t.namespace = string(*ref.Namespace)
	}
	if ref.Group != nil {
		t.group = string(*ref.Group)
	}
	if ref.Kind != nil {
		t.kind = string(*ref.Kind)
	}
	return t
}

// extProcRefs lists an ext_proc's backends: its backendRefs and the deprecated single backendRef.
func extProcRefs(ep egv1a1.ExtProc) []gwapiv1.BackendObjectReference {
	var out []gwapiv1.BackendObjectReference
	if ep.BackendRef != nil {
		out = append(out, *ep.BackendRef)
	}
	for _, r := range ep.BackendRefs {
		out = append(out, r.BackendObjectReference)
	}
	return out
}

// checkCarriedRef checks a reference of the operator's own policy obj (of kind fromKind): it
// points at what the user pointed at (a reference of one of the user's policies of that kind,
// resolved in the user's policy's namespace) or at a pool's endpoint picker; and, in another
// namespace, a generated ReferenceGrant allows it.
func checkCarriedRef(t *testing.T, snap *translate.Snapshot, obj client.Object, fromKind string, ref refTarget, out output) {
	t.Helper()
	if !userReferenced(snap, fromKind, ref) && !pickerTarget(snap, ref) {
		t.Errorf("%s references %s %s/%s, which none of the user's %ss references and no endpoint picker is", kindKey(obj), ref.kind, ref.namespace, ref.name, fromKind)
	}
	if ref.namespace != obj.GetNamespace() && !translate.ReferencePermitted(out.grants, egv1a1.GroupName, fromKind, obj.GetNamespace(), ref.group, ref.kind, ref.namespace, ref.name) {
		t.Errorf("%s references %s %s/%s without a generated ReferenceGrant allowing it", kindKey(obj), ref.kind, ref.namespace, ref.name)
	}
}

// userReferenced tells whether one of the user's policies of kind references ref.
func userReferenced(snap *translate.Snapshot, kind string, ref refTarget) bool {
	switch kind {
	case translate.KindEnvoyExtensionPolicy:
		for _, p := range snap.EnvoyExtensionPolicies {
			for _, ep := range p.Spec.ExtProc {
				for _, r := range extProcRefs(ep) {
					if backendTarget(r, p.Namespace) == ref {
						return true
					}
				}
			}
		}
	case translate.KindClientTrafficPolicy:
		for _, p := range snap.ClientTrafficPolicies {
			if p.Spec.TLS == nil || p.Spec.TLS.ClientValidation == nil {
				continue
			}
			for _, r := range p.Spec.TLS.ClientValidation.CACertificateRefs {
				if secretTarget(r, p.Namespace) == ref {
					return true
				}
			}
		}
	}
	return false
}

// pickerTarget tells whether ref is a pool's endpoint picker: its Service, the Backend the
// operator generates for it, or the placeholder of an unusable one.
func pickerTarget(snap *translate.Snapshot, ref refTarget) bool {
	if strings.HasPrefix(ref.name, "unresolved-endpointpicker.") {
		return true
	}
	for _, p := range snap.Pools {
		if p.Spec.EndpointPickerRef == nil || ref.namespace != p.Namespace {
			continue
		}
		if ref == (refTarget{kind: "Service", namespace: p.Namespace, name: string(p.Spec.EndpointPickerRef.Name)}) ||
			ref == (refTarget{group: "gateway.envoyproxy.io", kind: "Backend", namespace: p.Namespace, name: translate.EPPBackendName(p.Name)}) {
			return true
		}
	}
	return false
}
