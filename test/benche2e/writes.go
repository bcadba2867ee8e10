//go:build benche2e

package benche2e

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// writeCounts are successful writes by writer, then by resource ("services",
// "httproutes/status").
type writeCounts map[string]map[string]int

// writer names who sent a write: the operator, Envoy Gateway, the harness (the cluster's
// admin), the controller-manager, the scheduler, kwok, or else the user's name.
func writer(user string) string {
	switch {
	case user == operatorUser:
		return "operator"
	case user == egUser:
		return "envoy-gateway"
	case strings.HasPrefix(user, "system:serviceaccount:kube-system:"), user == "system:kube-controller-manager":
		return "controller-manager"
	case user == "system:kube-scheduler":
		return "scheduler"
	case user == "kwok":
		return "kwok"
	case user == "admin":
		return "harness"
	case user == rawUser:
		return "raw writer"
	}
	return user
}

func countWrites(ws []scale.Write) writeCounts {
	out := writeCounts{}
	for _, w := range ws {
		if w.Code >= 300 {
			continue
		}
		who := writer(w.User)
		if out[who] == nil {
			out[who] = map[string]int{}
		}
		out[who][w.Resource]++
	}
	return out
}

// total counts the writes of who (every writer when who is empty).
func (c writeCounts) total(who string) int {
	n := 0
	for w, m := range c {
		if who != "" && w != who {
			continue
		}
		for _, v := range m {
			n += v
		}
	}
	return n
}

// String lists each writer's writes by resource.
func (c writeCounts) String() string {
	var b strings.Builder
	for _, w := range slices.Sorted(maps.Keys(c)) {
		fmt.Fprintf(&b, "%s %d (", w, c.total(w))
		for i, r := range slices.Sorted(maps.Keys(c[w])) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", r, c[w][r])
		}
		b.WriteString("); ")
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// lastObjectWrite is when who's last successful write of an object (not a status, an event or
// Envoy Gateway's proxy infrastructure) in ws completed, from t0: for the operator, when it had
// written everything Envoy Gateway needs.
func lastObjectWrite(ws []scale.Write, who string, t0 time.Time) time.Duration {
	var last time.Duration
	for _, w := range ws {
		if w.Code >= 300 || writer(w.User) != who || strings.Contains(w.Resource, "/") || w.Resource == "events" {
			continue
		}
		if d := w.At.Sub(t0); d > last {
			last = d
		}
	}
	return last
}
