package kit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeT records Fatalf and stops the call as testing.T does (by unwinding).
type fakeT struct{ failed string }

type fatal struct{}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	panic(fatal{})
}

func run(opts Options, check func(context.Context) error) (failed string) {
	f := &fakeT{}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fatal); !ok {
				panic(r)
			}
		}
		failed = f.failed
	}()
	Eventually(f, opts, check)
	return ""
}

func TestEventually(t *testing.T) {
	n := 0
	if got := run(Options{Interval: time.Millisecond}, func(context.Context) error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	}); got != "" || n != 3 {
		t.Errorf("a check that passes on the third poll: failed %q after %d polls", got, n)
	}
	got := run(Options{Timeout: 30 * time.Millisecond, Interval: time.Millisecond, What: "the pool"}, func(context.Context) error { return errors.New("no endpoints") })
	if !strings.Contains(got, "the pool") || !strings.Contains(got, "no endpoints") {
		t.Errorf("timeout message %q does not say what and why", got)
	}
	start := time.Now()
	got = run(Options{Timeout: time.Minute, Abort: func() error { return errors.New("etcd exited") }}, func(context.Context) error { return errors.New("x") })
	if !strings.Contains(got, "etcd exited") || time.Since(start) > 5*time.Second {
		t.Errorf("abort: %q after %v, want at once with the abort's reason", got, time.Since(start))
	}
}

func TestPollEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err := Poll(ctx, Options{Timeout: time.Minute, What: "the CRD"}, func(context.Context) error { return errors.New("not established") })
	if err == nil || !strings.Contains(err.Error(), "the CRD") || !strings.Contains(err.Error(), "not established") || time.Since(start) > 5*time.Second {
		t.Errorf("Poll with an ended context: %v after %v, want at once an error naming what and why", err, time.Since(start))
	}
}
