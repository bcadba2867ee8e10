package translate

import (
	"sort"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
// another namespace, and the object (in that namespace) that owns the grant allowing it.
type grantNeed struct {
	FromKind, FromNamespace string
	ToGroup, ToKind         string
	ToNamespace, ToName     string
	Owner                   ownerID
}

// ownerID identifies an owner of a generated grant (comparable, unlike objects).
type ownerID struct {
	APIVersion, Kind, Name string
	UID                    types.UID
}

// policyOwner identifies the user's policy p as an owner.
func policyOwner(p UserPolicy) ownerID {
	return ownerID{APIVersion: egv1a1.GroupVersion.String(), Kind: p.Kind, Name: p.Object.GetName(), UID: p.Object.GetUID()}
}

// rehomeBackendRefs makes refs (of the user's policy p, carried into a policy in ns) explicit
// about their namespace, and returns the grants an EnvoyExtensionPolicy in ns needs to use them,
// owned by p. ok is false when a ref names a third namespace: p's own ReferenceGrant there
// cannot cover the generated policy, and the operator only grants from p's namespace.
func rehomeBackendRefs(refs []egv1a1.BackendRef, p UserPolicy, ns string) (needs []grantNeed, ok bool) {
	for i := range refs {
		ref := &refs[i].BackendObjectReference
		target := p.Object.GetNamespace()
		if ref.Namespace != nil && *ref.Namespace != "" {
			target = string(*ref.Namespace)
		}
		if target == ns {
			continue
		}
		if target != p.Object.GetNamespace() {
			return nil, false
		}
		ref.Namespace = ptrTo(gwapiv1.Namespace(target))
		group, kind := "", "Service"
		if ref.Group != nil {
			group = string(*ref.Group)
		}
		if ref.Kind != nil {
			kind = string(*ref.Kind)
		}
		needs = append(needs, grantNeed{FromKind: KindEnvoyExtensionPolicy, FromNamespace: ns, ToGroup: group, ToKind: kind, ToNamespace: target, ToName: string(ref.Name), Owner: policyOwner(p)})
	}
	return needs, true
}

// rehomeSecretRef does the same for a Secret (or ConfigMap) reference of p carried into a
// policy of fromKind in ns.
func rehomeSecretRef(ref *gwapiv1.SecretObjectReference, p UserPolicy, fromKind, ns string) (needs []grantNeed, ok bool) {
	if ref == nil {
		return nil, true
	}
	target := p.Object.GetNamespace()
	if ref.Namespace != nil && *ref.Namespace != "" {
		target = string(*ref.Namespace)
	}
	if target == ns {
		return nil, true
	}
	if target != p.Object.GetNamespace() {
		return nil, false
	}
	ref.Namespace = ptrTo(gwapiv1.Namespace(target))
	group, kind := "", "Secret"
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	return []grantNeed{{FromKind: fromKind, FromNamespace: ns, ToGroup: group, ToKind: kind, ToNamespace: target, ToName: string(ref.Name), Owner: policyOwner(p)}}, true
}

// rehomeWasm re-homes the Secret references of a Wasm extension's code source.
func rehomeWasm(w *egv1a1.Wasm, p UserPolicy, ns string) (needs []grantNeed, ok bool) {
	var refs []*gwapiv1.SecretObjectReference
	if src := w.Code.Image; src != nil {
		refs = append(refs, src.PullSecretRef)
		if src.TLS != nil {
			refs = append(refs, &src.TLS.CACertificateRef)
		}
	}
	if w.Code.HTTP != nil && w.Code.HTTP.TLS != nil {
		refs = append(refs, &w.Code.HTTP.TLS.CACertificateRef)
	}
	for _, ref := range refs {
		n, ok := rehomeSecretRef(ref, p, KindEnvoyExtensionPolicy, ns)
		if !ok {
			return nil, false
		}
		needs = append(needs, n...)
	}
	return needs, true
}

// grantNeeds collects grant needs, without duplicates.
type grantNeeds map[grantNeed]bool

func (g grantNeeds) add(needs ...grantNeed) {
	for _, n := range needs {
		g[n] = true
	}
}

// objects renders one ReferenceGrant per target namespace and referencing (kind, namespace),
// generated from src and owned by the owners of its needs.
func (g grantNeeds) objects(src Source) []client.Object {
	type key struct{ fromKind, fromNS, toNS string }
	byKey := map[key][]grantNeed{}
	for n := range g {
		k := key{n.FromKind, n.FromNamespace, n.ToNamespace}
		byKey[k] = append(byKey[k], n)
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
		var to []gwapiv1beta1.ReferenceGrantTo
		var owners []metav1.OwnerReference
		for _, n := range byKey[k] {
			t := gwapiv1beta1.ReferenceGrantTo{Group: gwapiv1.Group(n.ToGroup), Kind: gwapiv1.Kind(n.ToKind), Name: ptrTo(gwapiv1.ObjectName(n.ToName))}
			if !contains(to, t) {
				to = append(to, t)
			}
			o := metav1.OwnerReference{APIVersion: n.Owner.APIVersion, Kind: n.Owner.Kind, Name: n.Owner.Name, UID: n.Owner.UID}
			if !containsOwner(owners, o) {
				owners = append(owners, o)
			}
		}
		sort.Slice(to, func(i, j int) bool {
			if to[i].Kind != to[j].Kind {
				return to[i].Kind < to[j].Kind
			}
			return *to[i].Name < *to[j].Name
		})
		sort.Slice(owners, func(i, j int) bool { return owners[i].Kind+"/"+owners[i].Name < owners[j].Kind+"/"+owners[j].Name })
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

func containsOwner(list []metav1.OwnerReference, o metav1.OwnerReference) bool {
	for _, x := range list {
		if x.UID == o.UID && x.Kind == o.Kind && x.Name == o.Name {
			return true
		}
	}
	return false
}
