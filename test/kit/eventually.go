// Package kit holds what every test suite and test harness of the project shares: one way to
// wait for a condition (Poll for harness code that returns errors, Eventually for tests) and one
// HTTP probe. The suites keep short helpers with their own defaults (timeout, what a failure
// says, what else to check between polls), each a call of these.
package kit

import (
	"context"
	"fmt"
	"time"
)

// T is what Eventually needs of a test: testing.T and testing.B have it.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Options tune Poll and Eventually. The zero value polls every 100 ms for 15 s.
type Options struct {
	Timeout, Interval time.Duration
	// What names what is waited for, in the error.
	What string
	// Abort, when set, is checked after each failed poll; an error ends the wait at once (a
	// harness component that died will not come back).
	Abort func() error
}

func (o Options) withDefaults() Options {
	if o.Timeout == 0 {
		o.Timeout = 15 * time.Second
	}
	if o.Interval == 0 {
		o.Interval = 100 * time.Millisecond
	}
	if o.What == "" {
		o.What = "condition"
	}
	return o
}

// Poll calls check every Interval until it returns nil, and returns an error carrying the last
// check's error once Timeout has passed or ctx ended (or at once when Abort reports an error).
// check gets a context that ends with the timeout.
func Poll(ctx context.Context, opts Options, check func(ctx context.Context) error) error {
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	for {
		last := check(ctx)
		if last == nil {
			return nil
		}
		if opts.Abort != nil {
			if err := opts.Abort(); err != nil {
				return fmt.Errorf("%s: harness broken: %v (last: %v)", opts.What, err, last)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: still failing after %v: %v", opts.What, opts.Timeout, last)
		case <-time.After(opts.Interval):
		}
	}
}

// Eventually is Poll for a test: it fails t with Poll's error.
func Eventually(t T, opts Options, check func(ctx context.Context) error) {
	t.Helper()
	if err := Poll(context.Background(), opts, check); err != nil {
		t.Fatalf("%v", err)
	}
}
