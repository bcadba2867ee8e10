package inspect

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// Node is one line of a describe tree and what hangs under it. Broken marks a line that says
// something does not work; a tree with a broken line makes the plugin exit non-zero.
type Node struct {
	Text     string  `json:"text"`
	Broken   bool    `json:"broken,omitempty"`
	Children []*Node `json:"children,omitempty"`
}

func (n *Node) add(text string, broken bool) *Node {
	c := &Node{Text: text, Broken: broken}
	n.Children = append(n.Children, c)
	return c
}

// AnyBroken tells whether n or a line under it is broken.
func (n *Node) AnyBroken() bool {
	if n.Broken {
		return true
	}
	for _, c := range n.Children {
		if c.AnyBroken() {
			return true
		}
	}
	return false
}

// Describe builds the tree of the object of kind ("pool", "gateway" or "route", or their
// Kubernetes kinds) named nn.
func Describe(c *Cluster, kind string, nn types.NamespacedName) (*Node, error) {
	switch strings.ToLower(kind) {
	case "pool", "pools", "inferencepool", "inferencepools":
		return c.describePool(nn)
	case "gateway", "gateways", "gw":
		return c.describeGateway(nn)
	case "route", "routes", "httproute", "httproutes":
		return c.describeRoute(nn)
	}
	return nil, fmt.Errorf("unknown kind %q: pool, gateway or route", kind)
}

func (c *Cluster) describePool(nn types.NamespacedName) (*Node, error) {
	pool := c.Snap.Pool(nn)
	if pool == nil {
		return nil, fmt.Errorf("InferencePool %s not found", nn)
	}
	root := &Node{Text: "InferencePool " + nn.String()}
	parents := root.add("Parents (the operator's status)", false)
	ours := false
	for _, p := range pool.Status.Parents {
		v := conditionsVerdict(p.Conditions)
		parents.add(fmt.Sprintf("Gateway %s/%s: %s", p.ParentRef.Namespace, p.ParentRef.Name, v), !v.OK()).addProblems(v)
		ours = ours || string(p.ControllerName) == translate.ControllerName
	}
	desired := translate.ForPool(c.Snap, pool)
	if !ours && len(desired.Parents) == 0 {
		parents.Text += ": none (no route on a Gateway of an inferencepool-operator class uses the pool)"
	} else if !ours {
		var lines []parentLine
		for _, p := range desired.Parents {
			lines = append(lines, parentLine{fmt.Sprintf("Gateway %s/%s", p.ParentRef.Namespace, p.ParentRef.Name), conditionsVerdict(p.Conditions)})
		}
		addUnwritten(parents, "the pool's routes", lines)
	}
	pods := c.selectedPods(pool)
	ready := 0
	for i := range pods {
		if podReady(&pods[i]) {
			ready++
		}
	}
	var ports []string
	for _, tp := range pool.Spec.TargetPorts {
		ports = append(ports, fmt.Sprint(tp.Number))
	}
	podsNode := root.add(fmt.Sprintf("Pods: %d/%d ready (selector %s, target ports %s)", ready, len(pods), translate.SelectorString(pool), strings.Join(ports, ",")), ready == 0)
	for _, tp := range pool.Spec.TargetPorts {
		// A pod that declares no container port may serve any: only declared ports are known.
		serving := 0
		for i := range pods {
			if has, declares := declaresPort(&pods[i], int32(tp.Number)); podReady(&pods[i]) && (has || !declares) {
				serving++
			}
		}
		podsNode.add(fmt.Sprintf("port %d: %d ready", tp.Number, serving), serving == 0 && ready > 0)
	}
	if key, ok := translate.EPPServiceKey(pool); ok {
		mode := pool.Spec.EndpointPickerRef.FailureMode
		if mode == "" {
			mode = "FailClose"
		}
		text := fmt.Sprintf("Endpoint picker: Service %s port %d, failureMode %s", key, pool.Spec.EndpointPickerRef.Port.Number, mode)
		if c.Snap.Service(key) == nil {
			root.add(text+": the Service does not exist", true)
		} else {
			_, n := translate.ServiceEndpoints(c.Snap.EndpointSlices, key)
			root.add(fmt.Sprintf("%s: %d ready endpoints", text, n), n == 0)
		}
	} else {
		root.add("Endpoint picker: none (plain load balancing over the pods)", false)
	}
	routes := root.add("Routes", false)
	for _, r := range c.Snap.PoolRouteObjects(nn) {
		// The user's policies on each route, for its rules that use the pool: shown, not judged
		// here (one that does not apply breaks the route's describe, not the pool's).
		kind := refOf(r).Kind
		c.addPolicies(routes.add(kind+" "+r.GetNamespace()+"/"+r.GetName(), false), kind, types.NamespacedName{Namespace: r.GetNamespace(), Name: r.GetName()}, false)
	}
	c.addGenerated(root, desired.Objects)
	c.addFindings(root, refOf(pool))
	return root, nil
}

func (c *Cluster) describeGateway(nn types.NamespacedName) (*Node, error) {
	gw := c.Snap.Gateway(nn)
	if gw == nil {
		return nil, fmt.Errorf("Gateway %s not found", nn)
	}
	root := &Node{Text: "Gateway " + nn.String()}
	class := c.classOf(gw)
	switch {
	case class == nil:
		root.add(fmt.Sprintf("GatewayClass %s: not found", gw.Spec.GatewayClassName), true)
	case class.Spec.ControllerName != translate.ControllerName:
		root.add(fmt.Sprintf("GatewayClass %s: not an inferencepool-operator class (controller %s)", class.Name, class.Spec.ControllerName), false)
	default:
		v := verdictOf(class, "")
		root.add(fmt.Sprintf("GatewayClass %s: %s", class.Name, v), !v.OK()).addProblems(v)
	}
	v := verdictOf(gw, "")
	root.add("Status (mirrored from Envoy Gateway): "+v.String(), !v.OK()).addProblems(v)
	if gen := c.Snap.Gateway(types.NamespacedName{Namespace: gw.Namespace, Name: translate.GeneratedGatewayName(gw.Name)}); gen != nil {
		var addrs []string
		for _, a := range gen.Status.Addresses {
			addrs = append(addrs, a.Value)
		}
		if len(addrs) == 0 {
			addrs = []string{"none yet"}
		}
		root.add(fmt.Sprintf("Address: %s (Envoy Gateway class %s)", strings.Join(addrs, ", "), gen.Spec.GatewayClassName), false)
	}
	routes := root.add("Routes", false)
	for i := range c.Snap.HTTPRoutes {
		r := &c.Snap.HTTPRoutes[i]
		if ours(r) {
			continue
		}
		for _, g := range translate.ParentGateways(r) {
			if g == nn {
				routes.add("HTTPRoute "+r.Namespace+"/"+r.Name, false)
				break
			}
		}
	}
	if c.Snap.OurClass(string(gw.Spec.GatewayClassName)) {
		c.addGenerated(root, translate.ForGateway(c.Snap, gw).Objects)
	}
	c.addPolicies(root, "Gateway", nn, true)
	c.addFindings(root, refOf(gw))
	return root, nil
}

func (c *Cluster) describeRoute(nn types.NamespacedName) (*Node, error) {
	route := c.Snap.HTTPRoute(nn)
	if route == nil {
		return nil, fmt.Errorf("HTTPRoute %s not found", nn)
	}
	root := &Node{Text: "HTTPRoute " + nn.String()}
	parents := root.add("Parents", false)
	ours := false
	for _, p := range route.Status.Parents {
		v := conditionsVerdict(p.Conditions)
		ns := route.Namespace
		if p.ParentRef.Namespace != nil {
			ns = string(*p.ParentRef.Namespace)
		}
		parents.add(fmt.Sprintf("Gateway %s/%s (%s): %s", ns, p.ParentRef.Name, p.ControllerName, v), !v.OK()).addProblems(v)
		ours = ours || string(p.ControllerName) == translate.ControllerName
	}
	desired := translate.ForRoute(c.Snap, route)
	if !ours && len(desired.Parents) > 0 {
		var lines []parentLine
		for _, p := range desired.Parents {
			lines = append(lines, parentLine{"Gateway " + translate.ParentGateway(p.ParentRef, route.Namespace).String(), conditionsVerdict(p.Conditions)})
		}
		addUnwritten(parents, "the route", lines)
	}
	rules := root.add("Rules", false)
	for i, rule := range route.Spec.Rules {
		var backends []string
		for _, br := range rule.BackendRefs {
			kind := "Service"
			if br.Kind != nil {
				kind = string(*br.Kind)
			}
			w := ""
			if br.Weight != nil {
				w = fmt.Sprintf(" weight %d", *br.Weight)
			}
			backends = append(backends, fmt.Sprintf("%s %s/%s%s", kind, translate.RefNamespace(br.BackendObjectReference, route.Namespace), br.Name, w))
		}
		rules.add(fmt.Sprintf("%s → %s", translate.RuleNames(route)[i], strings.Join(backends, ", ")), false)
	}
	if c.Snap.OnOurGateways(route) {
		c.addGenerated(root, desired.Objects)
		pools := root.add("Pools", false)
		for _, p := range translate.PoolRefs(route) {
			if pool := c.Snap.Pool(p); pool != nil {
				sub := pools.add("InferencePool "+p.String(), false)
				c.addGenerated(sub, translate.ForPool(c.Snap, pool).Objects)
			} else {
				pools.add("InferencePool "+p.String()+": not found", true)
			}
		}
	}
	c.addPolicies(root, "HTTPRoute", nn, true)
	c.addFindings(root, refOf(route))
	return root, nil
}

// addGenerated lists the objects the operator should have generated, each with Envoy Gateway's
// verdict on it (or that it is missing).
func (c *Cluster) addGenerated(root *Node, desired []client.Object) {
	gen := root.add("Generated", false)
	refs := make([]Ref, 0, len(desired))
	for _, d := range desired {
		refs = append(refs, refOf(d))
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	for _, r := range refs {
		got := c.find(r)
		switch {
		case got == nil && c.kindRead(r.Kind):
			gen.add(r.String()+": missing", true)
		case got == nil:
			gen.add(r.String(), false)
		default:
			v := verdictOf(got, translate.EnvoyGatewayControllerName)
			text := r.String()
			if len(v.Conditions) > 0 {
				text += ": " + v.String()
			}
			gen.add(text, !v.OK()).addProblems(v)
		}
	}
}

// addPolicies lists the user's policies whose targetRefs name the object (kind nn), with the
// operator's verdict on each; judge marks those not applied as broken.
func (c *Cluster) addPolicies(root *Node, kind string, nn types.NamespacedName, judge bool) {
	var lines []*Node
	for _, pk := range translate.PolicyKinds {
		for _, p := range c.Snap.ObjectsOf(pk) {
			if ours(p) || p.GetNamespace() != nn.Namespace {
				continue
			}
			for _, t := range (translate.UserPolicy{Object: p, Kind: pk}).Targets().GetTargetRefs() {
				if string(t.Kind) == kind && string(t.Name) == nn.Name {
					v := verdictOf(p, translate.ControllerName)
					n := &Node{Text: fmt.Sprintf("%s %s: %s", pk, p.GetName(), v), Broken: judge && !v.OK()}
					if judge {
						n.addProblems(v)
					}
					lines = append(lines, n)
					break
				}
			}
		}
	}
	if len(lines) > 0 {
		pol := root.add("Your policies", false)
		pol.Children = lines
	}
}

// addFindings adds analyze's findings on obj.
func (c *Cluster) addFindings(root *Node, obj Ref) {
	var fs []Finding
	for _, f := range Analyze(c, obj.Namespace) {
		if f.Object == obj {
			fs = append(fs, f)
		}
	}
	if len(fs) == 0 {
		return
	}
	n := root.add("Findings", false)
	for _, f := range fs {
		n.add(fmt.Sprintf("%s %s (%s): %s. Fix: %s", f.Code, f.Name, f.Severity, f.Message, f.Fix), f.Severity == Error)
	}
}

// addProblems adds the messages of v's problems under n (n's line names the conditions).
func (n *Node) addProblems(v Verdict) *Node {
	for _, p := range v.Problems {
		if _, msg, ok := strings.Cut(p, "): "); ok {
			p = msg
		}
		n.add(p, true)
	}
	return n
}

// parentLine is one status entry as describe shows it.
type parentLine struct {
	text    string
	verdict Verdict
}

// addUnwritten says on parents that the operator has written no status entry yet, and shows
// what it would write now: a new route's or pool's first status waits for Envoy Gateway's
// verdict on what (at most --first-status-wait after its creation; design.md §21).
func addUnwritten(parents *Node, what string, lines []parentLine) {
	parents.Text += fmt.Sprintf(": none of the operator's yet (written once Envoy Gateway has judged %s, at most --first-status-wait after its creation); now it would say", what)
	for _, l := range lines {
		parents.add(l.text+": "+l.verdict.String(), !l.verdict.OK()).addProblems(l.verdict)
	}
}
