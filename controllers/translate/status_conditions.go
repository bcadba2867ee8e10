package translate

import (
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// condition builds a condition without a timestamp; the status writer sets lastTransitionTime
// only when the status really changes.
func condition[T ~string, R ~string](typ T, status metav1.ConditionStatus, reason R, message string, generation int64) metav1.Condition {
	return metav1.Condition{Type: string(typ), Status: status, Reason: string(reason), Message: limitMessage(message), ObservedGeneration: generation}
}

// maxMessageLength is the API's limit on a condition's message, in bytes.
const maxMessageLength = 32768

// limitMessage cuts a message that lists many objects (or quotes a long one) to what a condition
// holds, at a character boundary, and says so: the API server refuses a longer status whole.
func limitMessage(msg string) string {
	if len(msg) <= maxMessageLength {
		return msg
	}
	const cut = " [truncated]"
	end := maxMessageLength - len(cut)
	for end > 0 && !utf8.RuneStart(msg[end]) {
		end--
	}
	return msg[:end] + cut
}

// withGeneration copies conditions with observedGeneration set to generation and no
// timestamps (the writer keeps or sets them).
func withGeneration(conds []metav1.Condition, generation int64) []metav1.Condition {
	out := make([]metav1.Condition, 0, len(conds))
	for _, c := range conds {
		c.ObservedGeneration = generation
		c.LastTransitionTime = metav1.Time{}
		out = append(out, c)
	}
	return out
}

// judged tells whether conds hold a condition of type typ about generation: the controller
// that writes them has seen the current spec.
func judged(conds []metav1.Condition, generation int64, typ string) bool {
	for _, c := range conds {
		if c.Type == typ {
			return c.ObservedGeneration >= generation
		}
	}
	return false
}

func findCondition(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}
