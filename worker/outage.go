package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Outage is how a loop that depends on something (the database, mostly)
// waits while it is unreachable: each failure in a row waits longer
// (exponential with jitter, from Base up to Max: a database that is back
// is noticed within Max), and the run of failures
// is logged twice, once when it starts and once when it ends, not once per
// attempt. The zero value (with a Logger) works; it is safe for concurrent
// use.
type Outage struct {
	// What names what failed in the log ("poll: store updates").
	What   string
	Logger *slog.Logger
	// Base is the first wait (1 s by default); Max the longest (10 s).
	Base, Max time.Duration
	// Now is the clock; time.Now by default.
	Now func() time.Time

	mu       sync.Mutex
	failures int
	since    time.Time
}

// Fail records a failure and returns how long to wait before trying again.
// The first failure of a run is logged as a warning; later ones at debug.
func (o *Outage) Fail(ctx context.Context, err error) time.Duration {
	o.mu.Lock()
	o.failures++
	n := o.failures
	if n == 1 {
		o.since = o.now()
	}
	o.mu.Unlock()
	base, maxWait := o.Base, o.Max
	if base <= 0 {
		base = time.Second
	}
	if maxWait <= 0 {
		maxWait = 10 * time.Second
	}
	wait := ExponentialBackoff(base, maxWait)(n)
	if o.Logger != nil {
		if n == 1 {
			o.Logger.WarnContext(ctx, o.What+" failed; backing off until it works again (logged once)", "err", err, "retry_in", wait)
		} else {
			o.Logger.DebugContext(ctx, o.What+" failed again", "err", err, "failures", n, "retry_in", wait)
		}
	}
	return wait
}

// OK records a success; it logs the end of a run of failures.
func (o *Outage) OK(ctx context.Context) {
	o.mu.Lock()
	n, since := o.failures, o.since
	o.failures = 0
	o.mu.Unlock()
	if n > 0 && o.Logger != nil {
		o.Logger.InfoContext(ctx, o.What+" works again", "failures", n, "after", o.now().Sub(since).Round(time.Millisecond))
	}
}

// Failures is how many failures in a row there have been.
func (o *Outage) Failures() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.failures
}

func (o *Outage) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}
