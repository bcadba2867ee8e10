package translate

import (
	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// A user's policy P that attaches to our Gateways or routes is carried over as a copy: same
// spec, in P's namespace (its Secret and ConfigMap references resolve as before, and the
// operator needs no access to them), targeting the generated Gateway or HTTPRoute that stands
// for each target (sectionName kept: listener names and the user's rule names carry over).
// Envoy Gateway then applies its own precedence and merging to the copies as it would to the
// originals. Left out of the copy are the targets the operator's own policies hold, which carry
// P's settings themselves: rules that use a pool (BackendTrafficPolicy, EnvoyExtensionPolicy)
// and the Gateway (ClientTrafficPolicy, while the destination header is stripped).

// CarriedPolicyName is the name of the copy of the user's policy name.
func CarriedPolicyName(name string) string { return DNS1035Name(name, "eg") }

// PolicyResult is what one user policy translates to.
type PolicyResult struct {
	// Objects are the copy (none when every target is held by the operator's own policies or
	// none is ours) and the ReferenceGrants its cross-namespace targets need.
	Objects []client.Object
	// Ancestors are the policy's status entries of our controller, one per Gateway of ours it
	// reaches (and listener, as Envoy Gateway reports them).
	Ancestors []gwapiv1.PolicyAncestorStatus
}

// ForUserPolicy renders the copy of the user's policy p and its status entries.
func ForUserPolicy(s *Snapshot, p UserPolicy) PolicyResult {
	copied := s.copiedTargets(p)
	var res PolicyResult
	if len(copied) > 0 {
		obj, grants := carriedCopy(s, p, copied)
		res.Objects = append([]client.Object{obj}, grants...)
	}
	res.Ancestors = policyAncestors(s, p, copied, res.Objects)
	return res
}

// PolicyReachesOurs tells whether p names any target of ours (held, lost to an older policy, or
// unusable): only then does the operator write its status and generate from it.
func (s *Snapshot) PolicyReachesOurs(p UserPolicy) bool {
	a, key := s.attachmentsOf(p.Kind), p.Key()
	return len(a.won[key])+len(a.lost[key])+len(a.problems[key]) > 0
}

// copiedTargets lists the targets p holds that its copy targets.
func (s *Snapshot) copiedTargets(p UserPolicy) []PolicyTarget {
	var out []PolicyTarget
	for _, t := range s.attachmentsOf(p.Kind).won[p.Key()] {
		if s.heldByOperator(p.Kind, t) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// heldByOperator tells whether the operator's own policy of kind holds target t (and carries
// the settings of the user's policy holding it).
func (s *Snapshot) heldByOperator(kind string, t PolicyTarget) bool {
	switch kind {
	case KindBackendTrafficPolicy, KindEnvoyExtensionPolicy:
		if t.Section == "" {
			return false
		}
		if h, ok := s.attachmentsOf(kind).holder[t]; ok && sharesBuckets(h) {
			return false
		}
		route, ok := s.poolRoute(t.Kind, t.NN)
		if !ok {
			return false
		}
		for i, name := range route.ruleNames {
			if name == t.Section {
				return len(route.rulePools(s, i)) > 0
			}
		}
	case KindClientTrafficPolicy:
		if t.Section != "" {
			return false
		}
		_, settings, ok := s.OurServedGateway(t.NN)
		return ok && settings.ClientTrafficPolicyGenerated()
	}
	return false
}

// carriedCopy renders the copy of p targeting the generated objects of targets: by targetRefs in
// p's namespace, by a targetSelector matching the generated object's labels elsewhere (targetRefs
// are local), with the ReferenceGrant Envoy Gateway then requires in the target's namespace.
func carriedCopy(s *Snapshot, p UserPolicy, targets []PolicyTarget) (client.Object, []client.Object) {
	ns := p.Object.GetNamespace()
	var refs egv1a1.PolicyTargetReferences
	grants := grantNeeds{}
	for _, t := range targets {
		name := GeneratedRouteName(t.NN.Name)
		if t.Kind == "Gateway" {
			name = GeneratedGatewayName(t.NN.Name)
		}
		if t.NN.Namespace == ns {
			ref := gwapiv1.LocalPolicyTargetReferenceWithSectionName{
				LocalPolicyTargetReference: gwapiv1.LocalPolicyTargetReference{Group: gwapiv1.GroupName, Kind: gwapiv1.Kind(t.Kind), Name: gwapiv1.ObjectName(name)},
			}
			if t.Section != "" {
				ref.SectionName = ptrTo(gwapiv1.SectionName(t.Section))
			}
			refs.TargetRefs = append(refs.TargetRefs, ref)
			continue
		}
		src := Source{Kind: t.Kind, Namespace: t.NN.Namespace, Name: t.NN.Name}
		refs.TargetSelectors = append(refs.TargetSelectors, egv1a1.TargetSelector{
			Group:       ptrTo(gwapiv1.Group(gwapiv1.GroupName)),
			Kind:        gwapiv1.Kind(t.Kind),
			Namespaces:  &egv1a1.TargetSelectorNamespaces{From: egv1a1.TargetNamespaceFromAll},
			MatchLabels: src.Labels(),
		})
		// The grant lives with the target, which owns it (ownerReferences cannot cross
		// namespaces to the policy).
		var target client.Object = s.Gateway(t.NN)
		if r, ok := s.userRoute(t.Kind, t.NN); ok {
			target = r.obj
		}
		grants.add(grantNeed{FromKind: p.Kind, FromNamespace: ns, ToGroup: gwapiv1.GroupName, ToKind: t.Kind, ToNamespace: t.NN.Namespace, ToName: name,
			Owner: ownerID{APIVersion: gwapiv1.GroupVersion.String(), Kind: t.Kind, Name: t.NN.Name, UID: target.GetUID()}})
	}
	meta := objectMeta(p.Source(), ns, CarriedPolicyName(p.Object.GetName()),
		controllerRef(egv1a1.GroupVersion.String(), p.Kind, p.Object))
	obj := PolicyKindOf(p.Kind).carry(p.Object, meta)
	refsOf, _, _ := policyParts(obj)
	// What a copy changes beyond its targets depends on what the kind means.
	if c, ok := obj.(*egv1a1.BackendTrafficPolicy); ok {
		if use, ok := s.poolRulesServed(p); ok {
			// Its shared buckets span pool rules: the copy serves them, with the pool's
			// load balancing (sharesBuckets).
			c.Spec, _ = poolTrafficSpec(ruleHolders{own: &p}, use.route.kind, ns, use.settings, true)
		}
	}
	if c, ok := obj.(*egv1a1.ClientTrafficPolicy); ok {
		// A listener's policy replaces the Gateway's on that listener: it removes the
		// destination header too, wherever the class strips it, and sets the retry buffer.
		strips, retries := s.clientSettingsOf(targets)
		if strips {
			removeDestinationHeader(&c.Spec)
		}
		setRetryBuffer(&c.Spec, retries)
	}
	*refsOf = refs
	return obj, grants.objects(p.Source())
}

// poolRulesServed tells whether p's copy serves rules that use a pool (p shares buckets and is
// the rule's own holder), with the first such rule: its class's settings and its route's kind
// decide the copy's pool settings.
func (s *Snapshot) poolRulesServed(p UserPolicy) (poolUse, bool) {
	if !sharesBuckets(p) {
		return poolUse{}, false
	}
	for _, u := range s.ownPoolRules(p) {
		return u, true
	}
	return poolUse{}, false
}

// ownPoolRules lists the rules that use a pool on which p (of kind BackendTrafficPolicy or
// EnvoyExtensionPolicy) is the rule's own holder (rule- or route-level).
func (s *Snapshot) ownPoolRules(p UserPolicy) []poolUse {
	var out []poolUse
	for _, t := range s.attachmentsOf(p.Kind).won[p.Key()] {
		route, ok := s.poolRoute(t.Kind, t.NN)
		if !ok {
			continue
		}
		parents := route.servedParents(s)
		if len(parents) == 0 {
			continue
		}
		gw, settings, _ := s.OurServedGateway(ParentGateway(parents[0], route.namespace()))
		for i, name := range route.ruleNames {
			if (t.Section != "" && t.Section != name) || len(route.rulePools(s, i)) == 0 {
				continue
			}
			if h := s.ruleHolders(p.Kind, route, name); h.own != nil && h.own.Key() == p.Key() {
				out = append(out, poolUse{route: route, ruleName: name, class: string(gw.Spec.GatewayClassName), settings: settings})
			}
		}
	}
	return out
}

// clientSettingsOf tells whether the class of any targeted Gateway strips the destination
// header, and the settings of the first one that retries (NumRetries 0 when none does).
func (s *Snapshot) clientSettingsOf(targets []PolicyTarget) (strips bool, retries Settings) {
	for _, t := range targets {
		_, settings, ok := s.OurServedGateway(t.NN)
		if !ok {
			continue
		}
		strips = strips || settings.StripClientDestinationHeader
		if retries.NumRetries == 0 && settings.NumRetries > 0 {
			retries = settings
		}
	}
	return strips, retries
}
