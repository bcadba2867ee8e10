package translate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Last known good (design.md §16).
//
// Deleting or re-pointing a generated Envoy Gateway Gateway makes Envoy Gateway delete its Envoy
// Deployment and Service: a cold fleet and a new address. So a Gateway of ours that has been
// served keeps being served when its GatewayClass stops being usable (parameters missing or
// invalid, the Envoy Gateway class missing or not accepted, a prerequisite missing, the class
// itself deleted): it is translated with the class settings it was last served with, which every
// generated Gateway records (AnnotationClassSettings). Changes to the Gateway, its routes and
// pools still apply, with those settings; changes to the class and its parameters wait until
// the class is usable again. Only the user removing or moving the Gateway, a route or a pool
// removes what was generated for it.

// AnnotationClassSettings, on a generated Gateway, records the settings of the user's Gateway's
// class it was generated with (JSON of Settings): what the Gateway is served with while that
// class is not usable, across operator restarts.
const AnnotationClassSettings = "inferencepool-operator.io/class-settings"

// ConditionLastKnownGood is the Gateway condition (True) of a Gateway served with the settings
// its class last had while the class cannot serve it; absent otherwise.
const ConditionLastKnownGood = "inferencepool-operator.io/LastKnownGood"

// ReasonLastKnownGood is the reason of the Warning event on a Gateway that is held.
const ReasonLastKnownGood = "ServingLastKnownGood"

// Reasons of ConditionLastKnownGood.
const (
	// ReasonGatewayClassNotAccepted: the class exists and is not accepted.
	ReasonGatewayClassNotAccepted = "GatewayClassNotAccepted"
	// ReasonGatewayClassNotFound: no GatewayClass has the Gateway's gatewayClassName any more.
	ReasonGatewayClassNotFound = "GatewayClassNotFound"
)

// ServingState says whether and how a Gateway is served by the operator.
type ServingState int

const (
	// NotOurs: the Gateway is of another controller's class, or is a generated one.
	NotOurs ServingState = iota
	// Pending: the Gateway is of our class, the class cannot serve it, and nothing was ever
	// generated for it.
	Pending
	// Served: the Gateway's class is usable; it is served with the class's settings.
	Served
	// Held: the Gateway's class cannot serve it now (or is gone); it is served with the
	// settings it was last served with.
	Held
)

// Serving is how one Gateway is served.
type Serving struct {
	State ServingState
	// Settings are what the Gateway is served with (Served and Held).
	Settings Settings
	// Reason and Message say why the class cannot serve the Gateway (Pending and Held): the
	// class's own Accepted reason and message, or ReasonGatewayClassNotFound.
	Reason, Message string
	// Recorded is false for a Held Gateway whose generated Gateway carries no settings (it was
	// generated before they were recorded): Settings were recovered from what it shows.
	Recorded bool
	// OnHold lists the setting changes the class's parameters ask for and wait (Held), when
	// they resolve (paramsResolve).
	OnHold        []string
	paramsResolve bool
}

// served tells whether what the Gateway serves is generated (Served or Held).
func (v Serving) served() bool { return v.State == Served || v.State == Held }

// classVerdict is whether one of our classes can serve its Gateways, memoized per snapshot.
type classVerdict struct {
	// settings are the class's resolved settings; resolved is false when its parameters are
	// unusable (then reason is InvalidParameters).
	settings Settings
	resolved bool
	// reason and message are empty when the class is usable.
	reason, message string
}

// classVerdictOf judges our class: its parameters resolve and nothing it needs is missing.
func (s *Snapshot) classVerdictOf(class *gwapiv1.GatewayClass) classVerdict {
	if v, ok := s.verdicts[class.Name]; ok {
		return v
	}
	var v classVerdict
	params, problem := s.ClassParameters(class)
	if problem != "" {
		v.reason, v.message = string(gwapiv1.GatewayClassReasonInvalidParameters), problem
	} else {
		v.settings, v.resolved = ResolveSettings(params, s.DefaultEnvoyGatewayClass), true
		v.reason, v.message = s.ClassProblem(class, v.settings)
	}
	if s.verdicts == nil {
		s.verdicts = map[string]classVerdict{}
	}
	s.verdicts[class.Name] = v
	return v
}

// ClassUsable tells whether our class name can serve its Gateways now.
func (s *Snapshot) ClassUsable(name string) bool {
	c := s.gatewayClass(name)
	return c != nil && string(c.Spec.ControllerName) == ControllerName && s.classVerdictOf(c).reason == ""
}

// MayBeHeld tells whether the user's Gateway gw could be served with held settings: its class is
// ours and not usable, or does not exist. Only then does its translation read its generated
// Gateway's recorded settings, so only then must a snapshot hold the generated Gateway.
func (s *Snapshot) MayBeHeld(gw *gwapiv1.Gateway) bool {
	if gw.Labels[LabelManagedBy] == ManagedByValue {
		return false
	}
	c := s.gatewayClass(string(gw.Spec.GatewayClassName))
	return c == nil || (string(c.Spec.ControllerName) == ControllerName && s.classVerdictOf(c).reason != "")
}

// GatewayServing says how the user's Gateway gw is served.
func (s *Snapshot) GatewayServing(gw *gwapiv1.Gateway) Serving {
	if gw.Labels[LabelManagedBy] == ManagedByValue {
		return Serving{State: NotOurs}
	}
	name := string(gw.Spec.GatewayClassName)
	class := s.gatewayClass(name)
	var v Serving
	var wanted *Settings
	switch {
	case class == nil:
		v.Reason = ReasonGatewayClassNotFound
		v.Message = fmt.Sprintf("GatewayClass %q does not exist", name)
	case string(class.Spec.ControllerName) != ControllerName:
		return Serving{State: NotOurs}
	default:
		cv := s.classVerdictOf(class)
		if cv.reason == "" {
			return Serving{State: Served, Settings: cv.settings, Recorded: true}
		}
		v.Reason = ReasonGatewayClassNotAccepted
		v.Message = fmt.Sprintf("GatewayClass %q is not accepted (%s): %s", name, cv.reason, cv.message)
		if cv.resolved {
			wanted = &cv.settings
		}
	}
	generated := s.generatedGatewayOf(gw)
	if generated == nil {
		if class == nil {
			return Serving{State: NotOurs}
		}
		v.State = Pending
		return v
	}
	v.State = Held
	v.Settings, v.Recorded = recordedSettings(generated, wanted, s.DefaultEnvoyGatewayClass)
	if wanted != nil {
		v.OnHold, v.paramsResolve = settingsChanges(v.Settings, *wanted), true
	}
	return v
}

// generatedGatewayOf returns the Gateway generated for gw, if the snapshot holds it and it is
// ours: labelled, and not generated from another source (a hash-shortened name could be shared).
func (s *Snapshot) generatedGatewayOf(gw *gwapiv1.Gateway) *gwapiv1.Gateway {
	g := s.Gateway(types.NamespacedName{Namespace: gw.Namespace, Name: GeneratedGatewayName(gw.Name)})
	if g == nil || g.Labels[LabelManagedBy] != ManagedByValue {
		return nil
	}
	if src, ok := g.Annotations[AnnotationSource]; ok && src != gatewaySource(gw).String() {
		return nil
	}
	return g
}

// recordedSettings reads the settings recorded on a generated Gateway. Without a readable
// record (a Gateway generated before records were kept) it recovers what it can: the Envoy
// Gateway class the generated Gateway uses, with the class's current settings when its
// parameters resolve (wanted), else the defaults.
func recordedSettings(generated *gwapiv1.Gateway, wanted *Settings, defaultEGClass string) (Settings, bool) {
	if raw, ok := generated.Annotations[AnnotationClassSettings]; ok {
		// A record written before a setting existed lacks it: it takes the setting's default.
		rec := ResolveSettings(nil, "")
		if err := json.Unmarshal([]byte(raw), &rec); err == nil && rec.EnvoyGatewayClassName != "" {
			return rec, true
		}
	}
	out := ResolveSettings(nil, defaultEGClass)
	if wanted != nil {
		out = *wanted
	}
	out.EnvoyGatewayClassName = string(generated.Spec.GatewayClassName)
	return out, false
}

// record is the value of AnnotationClassSettings for settings.
func (st Settings) record() string {
	b, err := json.Marshal(st)
	if err != nil {
		panic(err) // Settings holds only strings, bools and their pointers and slices
	}
	return string(b)
}

// settingsChanges lists, as `field: "old" → "new"`, the settings that differ between what a Gateway
// is served with and what its class's parameters now ask for.
func settingsChanges(held, wanted Settings) []string {
	var out []string
	hv, wv := reflect.ValueOf(held), reflect.ValueOf(wanted)
	for i := 0; i < hv.NumField(); i++ {
		h, w := hv.Field(i).Interface(), wv.Field(i).Interface()
		if reflect.DeepEqual(h, w) {
			continue
		}
		name, _, _ := strings.Cut(hv.Type().Field(i).Tag.Get("json"), ",")
		out = append(out, fmt.Sprintf("%s: %s → %s", name, settingValue(h), settingValue(w)))
	}
	return out
}

func settingValue(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// lastKnownGoodCondition is the condition of a Held Gateway: why, what it is served with, what
// waits.
func lastKnownGoodCondition(gw *gwapiv1.Gateway, v Serving) metav1.Condition {
	var b strings.Builder
	b.WriteString(v.Message)
	if v.Recorded {
		fmt.Fprintf(&b, ". Served as last accepted, with Envoy Gateway class %q and the class settings it last had; nothing already served is removed or replaced.", v.Settings.EnvoyGatewayClassName)
	} else {
		fmt.Fprintf(&b, ". Served with Envoy Gateway class %q, as generated; its class settings were not recorded (generated by an earlier version), so the other settings are the class's current ones or the defaults; nothing already served is removed or replaced.", v.Settings.EnvoyGatewayClassName)
	}
	switch {
	case len(v.OnHold) > 0:
		fmt.Fprintf(&b, " On hold until the class is accepted: %s.", strings.Join(v.OnHold, "; "))
	case v.Reason == ReasonGatewayClassNotFound:
		b.WriteString(" On hold until the GatewayClass exists again: any change of its settings.")
	case v.Recorded && v.paramsResolve:
		b.WriteString(" No change of its settings waits; one made now waits until the class is accepted.")
	default:
		b.WriteString(" On hold until the class is accepted: any change of its parameters.")
	}
	b.WriteString(" Changes to this Gateway, its routes and pools still apply, with those settings.")
	return condition(ConditionLastKnownGood, metav1.ConditionTrue, v.Reason, b.String(), gw.Generation)
}
