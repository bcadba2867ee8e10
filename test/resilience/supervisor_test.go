//go:build resilience

package resilience

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// The kubelet's restart back-off of a crashing container (CrashLoopBackOff): the first restart
// at once, then after 10 s, doubling up to 5 min; a container that ran 10 minutes starts over.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
	backoffReset   = 10 * time.Minute
)

// supervisor runs one replica of the operator as its Deployment's pod would: the binary with its
// flags and identity, started again whenever it exits, after the kubelet's back-off. Every
// process it started is a run.
type supervisor struct {
	name  string
	start func(log string) (*scale.OperatorProcess, error)
	logf  func(string, ...any)

	mu   sync.Mutex
	runs []*run
	stop chan struct{}
	done chan struct{}
	err  error // why the supervisor gave up (the binary did not start)
}

// run is one process of the replica.
type run struct {
	op      *scale.OperatorProcess
	log     string
	started time.Time
	exited  time.Time // zero while it runs
	status  error     // its exit status
	killed  bool      // by the test
	reason  string    // the last error the operator logged
	// held, when not nil, keeps the killed replica down until closed (restart).
	held chan struct{}
}

// supervise starts the replica name of bin with kubeconfig and args; every run logs to
// dir/name-<run>.log. It stops when the test ends. No Envoy Gateway judges anything here, so
// Pending is the status the routes and pools end with: the replica writes it at once
// (--first-status-wait=0), as the expectation says.
func (e *env) supervise(name, bin, kubeconfig string, args ...string) *supervisor {
	args = append([]string{"--first-status-wait=0"}, args...)
	s := &supervisor{
		name: name, logf: e.logf,
		start: func(log string) (*scale.OperatorProcess, error) {
			return scale.StartOperator(bin, kubeconfig, log, false, args...)
		},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go s.loop(e.dir)
	e.t.Cleanup(func() {
		close(s.stop)
		<-s.done
		e.logf("%s", s.summary())
	})
	return s
}

func (s *supervisor) loop(dir string) {
	defer close(s.done)
	var backoff time.Duration
	var lastExit time.Time
	for n := 0; ; n++ {
		r := &run{log: filepath.Join(dir, fmt.Sprintf("%s-%d.log", s.name, n)), started: time.Now()}
		op, err := s.start(r.log)
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		r.op = op
		s.mu.Lock()
		s.runs = append(s.runs, r)
		s.mu.Unlock()
		select {
		case <-op.Proc.Done():
		case <-s.stop:
			_ = op.Stop()
			s.exit(r)
			return
		}
		s.exit(r)
		if r.killed {
			s.logf("%s: killed (kill -9) after %s", s.name, secs(r.exited.Sub(r.started)))
		} else {
			s.logf("%s: exited after %s (%v): %s", s.name, secs(r.exited.Sub(r.started)), r.status, r.reason)
		}
		s.mu.Lock()
		held := r.held
		s.mu.Unlock()
		if held != nil {
			select {
			case <-held:
			case <-s.stop:
				return
			}
		}
		// The kubelet's back-off, counted from the exit (from the release when held).
		if !lastExit.IsZero() && r.exited.Sub(lastExit) > backoffReset {
			backoff = 0
		}
		lastExit = r.exited
		delay := backoff
		if held != nil {
			delay = 0
		}
		backoff = min(max(2*backoff, backoffInitial), backoffMax)
		if delay > 0 {
			s.logf("%s: back-off %s before restart %d", s.name, delay, n+1)
		}
		select {
		case <-time.After(delay):
		case <-s.stop:
			return
		}
	}
}

// exit records how r ended.
func (s *supervisor) exit(r *run) {
	_, status := r.op.Proc.Exited()
	reason := lastError(r.log)
	s.mu.Lock()
	defer s.mu.Unlock()
	r.exited, r.status, r.reason = time.Now(), status, reason
}

// current is the running process, or nil between runs.
func (s *supervisor) current() *scale.OperatorProcess {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.runs) == 0 {
		return nil
	}
	if r := s.runs[len(s.runs)-1]; r.exited.IsZero() {
		return r.op
	}
	return nil
}

// kill kills the running process with SIGKILL; with hold, the supervisor restarts it only on
// restart(). It returns when the process is gone.
func (s *supervisor) kill(hold bool) (time.Time, error) {
	s.mu.Lock()
	var r *run
	if len(s.runs) > 0 && s.runs[len(s.runs)-1].exited.IsZero() {
		r = s.runs[len(s.runs)-1]
		r.killed = true
		if hold {
			r.held = make(chan struct{})
		}
	}
	s.mu.Unlock()
	if r == nil {
		return time.Time{}, fmt.Errorf("%s is not running", s.name)
	}
	at := time.Now()
	return at, r.op.Proc.Kill()
}

// restart lets a replica killed with hold start again.
func (s *supervisor) restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.runs[len(s.runs)-1]; r.held != nil {
		select {
		case <-r.held:
		default:
			close(r.held)
		}
	}
}

// history returns a copy of the runs so far.
func (s *supervisor) history() []run {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]run, len(s.runs))
	for i, r := range s.runs {
		out[i] = *r
	}
	return out
}

// restarts is the number of restarts so far (runs after the first).
func (s *supervisor) restarts() int { return max(0, len(s.history())-1) }

// exitsBetween are the runs that ended on their own (not killed) in [from, to).
func (s *supervisor) exitsBetween(from, to time.Time) []run {
	var out []run
	for _, r := range s.history() {
		if !r.killed && !r.exited.IsZero() && !r.exited.Before(from) && r.exited.Before(to) {
			out = append(out, r)
		}
	}
	return out
}

// summary describes every run: what the test log reports.
func (s *supervisor) summary() string {
	var b strings.Builder
	h := s.history()
	fmt.Fprintf(&b, "%s: %d runs, %d restarts", s.name, len(h), max(0, len(h)-1))
	for i, r := range h {
		fmt.Fprintf(&b, "\n  run %d: started %s", i, r.started.Format("15:04:05.000"))
		switch {
		case r.exited.IsZero():
			b.WriteString(", running")
		case r.killed:
			fmt.Fprintf(&b, ", killed (kill -9) at %s", r.exited.Format("15:04:05.000"))
		default:
			fmt.Fprintf(&b, ", exited at %s (%v): %s", r.exited.Format("15:04:05.000"), r.status, r.reason)
		}
	}
	if s.err != nil {
		fmt.Fprintf(&b, "\n  gave up: %v", s.err)
	}
	return b.String()
}

// lastError is the last line of the log at path that reports an error, shortened.
func lastError(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	var last string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, "error") || strings.Contains(l, "ERROR") {
			last = l
		}
	}
	if len(last) > 400 {
		last = last[:400] + "…"
	}
	return last
}
