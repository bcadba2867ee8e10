package translate

import (
	"sort"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwapiv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
)

// Settings carried from a user's policy into a generated one in another namespace keep pointing
// at the same objects: a reference without a namespace gets the user's policy's namespace, and a
// ReferenceGrant in that namespace lets the generated policy's kind, from its namespace, reach
// the object (Envoy Gateway checks ReferenceGrants for cross-namespace backendRefs and Secret
// references of policies, as for the user's own).

// grantNeed is one object a generated policy of kind FromKind in FromNamespace references in
// another namespace.
type grantNeed struct {
	FromKind, FromNamespace string
	ToGroup, ToKind         string
	ToNamespace, ToName     string
}

// rehomeBackendRefs makes refs (of a policy from ownerNS, now in ns) explicit about their
// namespace, and returns the grants an EnvoyExtensionPolicy in ns needs to use them.
func rehomeBackendRefs(refs []egv1a1.BackendRef, ownerNS, ns string) []grantNeed {
	var needs []grantNeed
	for i := range refs {
		ref := &refs[i].BackendObjectReference
		target := ownerNS
		if ref.Namespace != nil && *ref.Namespace != "" {
			target = string(*ref.Namespace)
		}
		if target == ns {
			continue
		}
		ref.Namespace = ptrTo(gwapiv1.Namespace(target))
		group, kind := "", "Service"
		if ref.Group != nil {
			group = string(*ref.Group)
		}
		if ref.Kind != nil {
			kind = string(*ref.Kind)
		}
		needs = append(needs, grantNeed{FromKind: KindEnvoyExtensionPolicy, FromNamespace: ns, ToGroup: group, ToKind: kind, ToNamespace: target, ToName: string(ref.Name)})
	}
	return needs
}

// rehomeSecretRef does the same for a Secret (or ConfigMap) reference of a policy of fromKind.
func rehomeSecretRef(ref *gwapiv1.SecretObjectReference, fromKind, ownerNS, ns string) []grantNeed {
	if ref == nil {
		return nil
	}
	target := ownerNS
	if ref.Namespace != nil && *ref.Namespace != "" {
		target = string(*ref.Namespace)
	}
	if target == ns {
		return nil
	}
	ref.Namespace = ptrTo(gwapiv1.Namespace(target))
	group, kind := "", "Secret"
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	return []grantNeed{{FromKind: fromKind, FromNamespace: ns, ToGroup: group, ToKind: kind, ToNamespace: target, ToName: string(ref.Name)}}
}

// rehomeWasm re-homes the Secret references of a Wasm extension's code source.
func rehomeWasm(w *egv1a1.Wasm, ownerNS, ns string) []grantNeed {
	var needs []grantNeed
	for _, src := range []*egv1a1.ImageWasmCodeSource{w.Code.Image} {
		if src == nil {
			continue
		}
		needs = append(needs, rehomeSecretRef(src.PullSecretRef, KindEnvoyExtensionPolicy, ownerNS, ns)...)
		if src.TLS != nil {
			needs = append(needs, rehomeSecretRef(&src.TLS.CACertificateRef, KindEnvoyExtensionPolicy, ownerNS, ns)...)
		}
	}
	if w.Code.HTTP != nil && w.Code.HTTP.TLS != nil {
		needs = append(needs, rehomeSecretRef(&w.Code.HTTP.TLS.CACertificateRef, KindEnvoyExtensionPolicy, ownerNS, ns)...)
	}
	return needs
}

// grantNeeds collects grant needs, without duplicates.
type grantNeeds map[grantNeed]bool

func (g grantNeeds) add(needs ...grantNeed) {
	for _, n := range needs {
		g[n] = true
	}
}

// objects renders one ReferenceGrant per target namespace and referencing (kind, namespace),
// generated from src (owned by owner, of ownerAPIVersion, where it lives in the grant's
// namespace: ownerReferences cannot cross namespaces).
func (g grantNeeds) objects(src Source, owner metav1.Object, ownerAPIVersion string) []client.Object {
	type key struct{ fromKind, fromNS, toNS string }
	byKey := map[key][]gwapiv1beta1.ReferenceGrantTo{}
	for n := range g {
		k := key{n.FromKind, n.FromNamespace, n.ToNamespace}
		byKey[k] = append(byKey[k], gwapiv1beta1.ReferenceGrantTo{Group: gwapiv1.Group(n.ToGroup), Kind: gwapiv1.Kind(n.ToKind), Name: ptrTo(gwapiv1.ObjectName(n.ToName))})
	}
	keys := make([]key, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.toNS != b.toNS {
			return a.toNS < b.toNS
		}
		if a.fromNS != b.fromNS {
			return a.fromNS < b.fromNS
		}
		return a.fromKind < b.fromKind
	})
	var out []client.Object
	for _, k := range keys {
		to := byKey[k]
		sort.Slice(to, func(i, j int) bool {
			if to[i].Kind != to[j].Kind {
				return to[i].Kind < to[j].Kind
			}
			return *to[i].Name < *to[j].Name
		})
		var owners []metav1.OwnerReference
		if owner != nil && owner.GetNamespace() == k.toNS {
			owners = append(owners, ownerRef(ownerAPIVersion, src.Kind, owner))
		}
		name := CompoundName("ipool", []string{src.Kind, src.Namespace, src.Name, k.fromKind, k.fromNS}, "grant")
		out = append(out, &gwapiv1beta1.ReferenceGrant{
			TypeMeta:   metav1.TypeMeta{APIVersion: gwapiv1beta1.GroupVersion.String(), Kind: "ReferenceGrant"},
			ObjectMeta: objectMeta(src, k.toNS, name, owners...),
			Spec: gwapiv1beta1.ReferenceGrantSpec{
				From: []gwapiv1beta1.ReferenceGrantFrom{{Group: egv1a1.GroupName, Kind: gwapiv1.Kind(k.fromKind), Namespace: gwapiv1.Namespace(k.fromNS)}},
				To:   to,
			},
		})
	}
	return out
}
