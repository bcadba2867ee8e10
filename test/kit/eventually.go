// Package kit holds what every test suite of the project shares: one way to wait for a
// condition. The suites keep short helpers with their own defaults (timeout, what a failure says,
// what else to check between polls), each a call of Eventually.
package kit

import (
	"context"
	"time"
)

// T is what Eventually needs of a test: testing.T and testing.B have it.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Options tune Eventually. The zero value polls every 100 ms for 15 s.
type Options struct {
	Timeout, Interval time.Duration
	// What names what is waited for, in the failure message.
	What string
	// Abort, when set, is checked after each failed poll; an error ends the wait at once (a
	// harness component that died will not come back).
	Abort func() error
}

// Eventually calls check every Interval until it returns nil, and fails t with the last error
// once Timeout has passed (or at once when Abort reports an error). check gets a context that ends
// with the timeout.
func Eventually(t T, opts Options, check func(ctx context.Context) error) {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.Interval == 0 {
		opts.Interval = 100 * time.Millisecond
	}
	what := opts.What
	if what == "" {
		what = "condition"
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	for {
		last := check(ctx)
		if last == nil {
			return
		}
		if opts.Abort != nil {
			if err := opts.Abort(); err != nil {
				t.Fatalf("%s: harness broken: %v (last: %v)", what, err, last)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: still failing after %v: %v", what, opts.Timeout, last)
		case <-time.After(opts.Interval):
		}
	}
}
