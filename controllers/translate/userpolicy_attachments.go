package translate

// attachments says, for one policy kind, which user policy holds each target. Envoy Gateway
// attaches one policy of a kind per target (a Gateway, a listener, a route, a rule): the oldest
// keeps it and the others are Conflicted there. The operator decides this on the user's
// policies, before carrying them over, so the copies never conflict among themselves and the
// winner is the one the user would get from Envoy Gateway.
type attachments struct {
	holder   map[PolicyTarget]UserPolicy
	won      map[string][]PolicyTarget // by policy key
	lost     map[string][]lostTarget   // by policy key
	problems map[string][]targetProblem
}

// lostTarget is a target a policy names but an older policy of its kind holds.
type lostTarget struct {
	target PolicyTarget
	winner UserPolicy
}

// attachmentsOf computes (once per snapshot) the attachments of kind. A Snapshot must not change
// once translated.
func (s *Snapshot) attachmentsOf(kind string) *attachments {
	if a, ok := s.attached[kind]; ok {
		return a
	}
	a := &attachments{holder: map[PolicyTarget]UserPolicy{}, won: map[string][]PolicyTarget{},
		lost: map[string][]lostTarget{}, problems: map[string][]targetProblem{}}
	for _, p := range s.UserPolicies(kind) {
		targets, problems := s.resolveTargets(p)
		key := p.Key()
		a.problems[key] = problems
		for _, t := range targets {
			if h, taken := a.holder[t]; taken {
				a.lost[key] = append(a.lost[key], lostTarget{target: t, winner: h})
				continue
			}
			a.holder[t] = p
			a.won[key] = append(a.won[key], t)
		}
	}
	if s.attached == nil {
		s.attached = map[string]*attachments{}
	}
	s.attached[kind] = a
	return a
}

// ruleHolders are the user's policies of a kind that apply to one rule of a route, by Envoy
// Gateway's precedence: the policy holding the rule, else the one holding the route (own); and
// the one holding the listener of the route's first served parentRef, else that Gateway
// (parent). Without own, parent applies to the rule as it is; with own, parent applies only
// when own has a mergeType (merged under own).
type ruleHolders struct {
	own    *UserPolicy
	parent *UserPolicy
}

func (s *Snapshot) ruleHolders(kind string, route poolRoute, rule string) ruleHolders {
	a := s.attachmentsOf(kind)
	var h ruleHolders
	routeNN := route.nn()
	if p, ok := a.holder[PolicyTarget{Kind: route.kind, NN: routeNN, Section: rule}]; ok {
		h.own = &p
	} else if p, ok := a.holder[PolicyTarget{Kind: route.kind, NN: routeNN}]; ok {
		h.own = &p
	}
	if parents := route.servedParents(s); len(parents) > 0 {
		gw := ParentGateway(parents[0], route.namespace())
		// The listener the route attaches to: the one its parentRef names, or the Gateway's only
		// one. (On a Gateway of several listeners Envoy Gateway resolves it per listener; one
		// rule-level policy can only follow the Gateway-level one there.)
		listener := ""
		if parents[0].SectionName != nil {
			listener = string(*parents[0].SectionName)
		} else if g := s.Gateway(gw); g != nil && len(g.Spec.Listeners) == 1 {
			listener = string(g.Spec.Listeners[0].Name)
		}
		if listener != "" {
			if p, ok := a.holder[PolicyTarget{Kind: "Gateway", NN: gw, Section: listener}]; ok {
				h.parent = &p
			}
		}
		if h.parent == nil {
			if p, ok := a.holder[PolicyTarget{Kind: "Gateway", NN: gw}]; ok {
				h.parent = &p
			}
		}
	}
	return h
}

// applies lists the policies whose settings reach the rule: own, and parent when own is absent
// or merges with it.
func (h ruleHolders) applies() []UserPolicy {
	var out []UserPolicy
	if h.own != nil {
		out = append(out, *h.own)
	}
	if h.parent != nil && (h.own == nil || mergeTypeOf(*h.own) != nil) {
		out = append(out, *h.parent)
	}
	return out
}

// key identifies the holders, for grouping the rules whose carried settings are the same.
func (h ruleHolders) key() string {
	var k string
	for _, p := range h.applies() {
		if k != "" {
			k += "+"
		}
		k += p.Key()
	}
	return k
}
