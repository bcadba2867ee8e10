package translate_test

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/api/v1alpha1"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// envoyGatewayClassNames are the Envoy Gateway classes the generated snapshots' parameters and
// default name.
func envoyGatewayClassNames() []string { return []string{"eg", "envoy-gateway", long(253, 'e')} }

// genEnvoyGatewayClasses makes, for most Envoy Gateway class names the classes may use and that
// no class has yet, Envoy Gateway's class: mostly accepted by Envoy Gateway, sometimes not (yet).
// Without an accepted one nothing is ever served.
func (g *generator) genEnvoyGatewayClasses() {
	for _, name := range envoyGatewayClassNames() {
		if slices.Contains(g.classes, name) || g.c.oneIn(10) {
			continue
		}
		g.classes = append(g.classes, name)
		class := gwapiv1.GatewayClass{ObjectMeta: g.meta("", name), Spec: gwapiv1.GatewayClassSpec{ControllerName: translate.EnvoyGatewayControllerName}}
		class.Namespace = ""
		switch g.c.intn(10) {
		case 0: // no verdict yet
		case 1:
			class.Status.Conditions = g.conditionsOf(class.Generation, metav1.ConditionFalse, "InvalidParameters")
		default:
			class.Status.Conditions = g.conditionsOf(class.Generation, metav1.ConditionTrue, "Accepted")
		}
		g.snap.GatewayClasses = append(g.snap.GatewayClasses, class)
	}
}

func (g *generator) conditionsOf(generation int64, status metav1.ConditionStatus, reason string) []metav1.Condition {
	return []metav1.Condition{{Type: "Accepted", Status: status, Reason: reason, Message: "by the generator",
		ObservedGeneration: generation, LastTransitionTime: metav1.Unix(1, 0)}}
}

// genMistakes, once the generated objects are in place (genEGState), mostly makes one of the
// mistakes a user or an install can make with the class of a served Gateway: its parameters
// deleted, a parametersRef typo, its Envoy Gateway class deleted or no longer accepted, the class
// itself deleted. None of them may take down what is served (checkLastKnownGood).
func (g *generator) genMistakes() {
	c := g.c
	if c.oneIn(3) {
		return
	}
	snap := copySnapshot(g.snap) // GatewayServing memoizes: judge on a copy
	var class *gwapiv1.GatewayClass
	for i := range snap.Gateways {
		if v := snap.GatewayServing(&snap.Gateways[i]); v.State == translate.Served {
			name := string(snap.Gateways[i].Spec.GatewayClassName)
			class = &g.snap.GatewayClasses[slices.IndexFunc(g.snap.GatewayClasses, func(cl gwapiv1.GatewayClass) bool { return cl.Name == name })]
			egClass := v.Settings.EnvoyGatewayClassName
			switch c.intn(5) {
			case 0:
				if ref := class.Spec.ParametersRef; ref != nil {
					g.snap.Parameters = slices.DeleteFunc(g.snap.Parameters, func(p v1alpha1.InferenceGatewayParameters) bool { return p.Name == ref.Name })
				}
			case 1:
				if ref := class.Spec.ParametersRef; ref != nil {
					ref.Name = "typo"
				}
			case 2:
				g.snap.GatewayClasses = slices.DeleteFunc(g.snap.GatewayClasses, func(cl gwapiv1.GatewayClass) bool { return cl.Name == egClass })
			case 3:
				for j := range g.snap.GatewayClasses {
					if eg := &g.snap.GatewayClasses[j]; eg.Name == egClass {
						eg.Status.Conditions = g.conditionsOf(eg.Generation, metav1.ConditionFalse, "InvalidParameters")
					}
				}
			case 4:
				g.snap.GatewayClasses = slices.DeleteFunc(g.snap.GatewayClasses, func(cl gwapiv1.GatewayClass) bool { return cl.Name == name })
			}
			return
		}
	}
}
