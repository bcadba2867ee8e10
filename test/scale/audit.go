package scale

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Writes are counted from the API server's audit log rather than by a proxy in front of it: the
// operator then talks to the API server exactly as in production (same connections, HTTP/2, no
// extra hop in its latency), and the log records what the server actually received.

// auditEvent is the part of an audit.k8s.io/v1 Event ReadWrites reads.
type auditEvent struct {
	Stage string `json:"stage"`
	Verb  string `json:"verb"`
	User  struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int32 `json:"code"`
	} `json:"responseStatus"`
	RequestReceivedTimestamp metav1.MicroTime `json:"requestReceivedTimestamp"`
	StageTimestamp           metav1.MicroTime `json:"stageTimestamp"`
}

// Write is one write request: its target ("resource[/subresource] namespace/name"), verb, HTTP
// status code, completion time, the time the API server received it, and who sent it.
type Write struct {
	Target       string
	Resource     string
	User         string
	Verb         string
	Code         int32
	At, Received time.Time
}

// ReadWrites returns the writes of user in the audit log at path.
func ReadWrites(path, user string) ([]Write, error) {
	return ReadWritesOf(path, func(u string) bool { return u == user })
}

// ReadWritesOf returns the writes in the audit log at path of the users keep accepts.
func ReadWritesOf(path string, keep func(user string) bool) ([]Write, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var out []Write
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if ev.Stage != "ResponseComplete" || !keep(ev.User.Username) {
			continue
		}
		w := Write{Verb: ev.Verb, User: ev.User.Username, At: ev.StageTimestamp.Time, Received: ev.RequestReceivedTimestamp.Time}
		if ev.ResponseStatus != nil {
			w.Code = ev.ResponseStatus.Code
		}
		if r := ev.ObjectRef; r != nil {
			w.Target = target(r.Resource, r.Subresource, r.Namespace, r.Name)
			w.Resource = r.Resource
			if r.Subresource != "" {
				w.Resource += "/" + r.Subresource
			}
		}
		out = append(out, w)
	}
	return out, sc.Err()
}

func target(resource, subresource, namespace, name string) string {
	if subresource != "" {
		resource += "/" + subresource
	}
	return resource + " " + namespace + "/" + name
}

// Between returns the writes completed in [from, to).
func Between(ws []Write, from, to time.Time) []Write {
	var out []Write
	for _, w := range ws {
		if !w.At.Before(from) && w.At.Before(to) {
			out = append(out, w)
		}
	}
	return out
}

// WriteStats sorts a phase's writes by what they wrote.
type WriteStats struct {
	// Objects and Statuses are the numbers of generated objects and statuses the phase must
	// write; ObjectWrites and StatusWrites the writes to them.
	Objects, Statuses          int
	ObjectWrites, StatusWrites int
	// Unwritten are expected items the phase did not write (their state came from elsewhere).
	Unwritten []string
	// Finalizers are the writes of Gateway API's finalizer onto the operator's GatewayClasses
	// whose statuses are expected (one per class its Gateways use).
	Finalizers int
	// Repeated are targets written more than once ("target ×count"), Other the writes to
	// anything not expected.
	Repeated []string
	Other    []string
	// Rejected are the write requests the API server refused ("verb target: code"). They
	// change nothing, so they are not writes, but each costs a round trip: the status writer's
	// update from a cache that has not yet seen its own previous write gets 409 Conflict, then
	// re-reads and finds nothing to write. They are reported, not held against minimal.
	Rejected []string
}

// Minimal tells whether every item was written exactly once and nothing else was.
func (s WriteStats) Minimal() bool {
	return s.ObjectWrites == s.Objects && s.StatusWrites == s.Statuses && len(s.Unwritten) == 0 &&
		len(s.Repeated) == 0 && len(s.Other) == 0
}

func (s WriteStats) String() string {
	per := func(writes, n int) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", float64(writes)/float64(n))
	}
	out := fmt.Sprintf("%s per object (%d/%d), %s per status (%d/%d)",
		per(s.ObjectWrites, s.Objects), s.ObjectWrites, s.Objects, per(s.StatusWrites, s.Statuses), s.StatusWrites, s.Statuses)
	if s.Finalizers > 0 {
		out += fmt.Sprintf(", %d class finalizer", s.Finalizers)
	}
	if s.Minimal() {
		out += ": minimal"
	}
	if len(s.Repeated) > 0 {
		out += fmt.Sprintf("; %d written more than once, e.g. %v", len(s.Repeated), s.Repeated[:min(3, len(s.Repeated))])
	}
	if len(s.Unwritten) > 0 {
		out += fmt.Sprintf("; %d not written, e.g. %v", len(s.Unwritten), s.Unwritten[:min(3, len(s.Unwritten))])
	}
	if len(s.Other) > 0 {
		out += fmt.Sprintf("; %d other writes, e.g. %v", len(s.Other), s.Other[:min(3, len(s.Other))])
	}
	if len(s.Rejected) > 0 {
		out += fmt.Sprintf("; %d rejected, e.g. %v", len(s.Rejected), s.Rejected[:min(3, len(s.Rejected))])
	}
	return out
}

// Resources maps each watched kind to its resource name, for matching items to audit targets.
func Resources(c client.Client) (map[string]string, error) {
	out := map[string]string{}
	for _, obj := range WatchedKinds {
		gvk, err := apiutil.GVKForObject(obj, scheme)
		if err != nil {
			return nil, err
		}
		m, err := c.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return nil, err
		}
		out[gvk.Kind] = m.Resource.Resource
	}
	return out, nil
}

// LastWrite is when the last successful write of ws to one of items completed (zero when none
// did).
func LastWrite(ws []Write, items []Item, resource map[string]string) time.Time {
	want := map[string]bool{}
	for _, it := range items {
		want[it.target(resource)] = true
	}
	var last time.Time
	for _, w := range ws {
		if w.Code < 300 && want[w.Target] && w.At.After(last) {
			last = w.At
		}
	}
	return last
}

// target is the audit target of it.
func (it Item) target(resource map[string]string) string {
	sub := ""
	if it.Status {
		sub = "status"
	}
	return target(resource[it.Ref.Kind], sub, it.Ref.Namespace, it.Ref.Name)
}

// CountWrites sorts writes by the items they are for.
func CountWrites(ws []Write, items []Item, resource map[string]string) WriteStats {
	var s WriteStats
	want := map[string]Item{}
	classes := map[string]bool{} // the metadata targets of the classes whose statuses are expected
	for _, it := range items {
		if it.Status {
			s.Statuses++
		} else {
			s.Objects++
		}
		want[it.target(resource)] = it
		if it.Status && it.Ref.Kind == "GatewayClass" {
			classes[target(resource[it.Ref.Kind], "", it.Ref.Namespace, it.Ref.Name)] = true
		}
	}
	per := map[string]int{}
	for _, w := range ws {
		if w.Code >= 300 {
			s.Rejected = append(s.Rejected, fmt.Sprintf("%s %s: %d", w.Verb, w.Target, w.Code))
			continue
		}
		per[w.Target]++
		it, ok := want[w.Target]
		switch {
		case !ok && classes[w.Target] && w.Verb == "patch":
			s.Finalizers++
		case !ok:
			s.Other = append(s.Other, w.Verb+" "+w.Target)
		case it.Status:
			s.StatusWrites++
		default:
			s.ObjectWrites++
		}
	}
	for t, n := range per {
		if n > 1 {
			s.Repeated = append(s.Repeated, fmt.Sprintf("%s ×%d", t, n))
		}
	}
	for t := range want {
		if per[t] == 0 {
			s.Unwritten = append(s.Unwritten, t)
		}
	}
	sort.Strings(s.Repeated)
	sort.Strings(s.Unwritten)
	sort.Strings(s.Other)
	return s
}
