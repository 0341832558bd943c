package lease

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Window is how long a holding of ttl may be counted on between two
// confirmed renewals: ttl, or the heart's staleness when shorter.
func (ls *Leases) Window(ttl time.Duration) time.Duration {
	if ls.opts.Stale > 0 {
		return min(ttl, ls.opts.Stale)
	}
	return ttl
}

// Hold keeps l renewed for ttl at a time, every quarter of its Window,
// until stop is called. It returns a context that carries l's fence
// (WithFence) and that ends, its cause wrapping ErrLost, as soon as a
// renewal says l is lost, or when a fifth of the Window is left before the
// last confirmed Deadline: the holder stops acting before another owner
// may start. stop waits for the renewals to end; it does not release l.
func (ls *Leases) Hold(ctx context.Context, l Lease, ttl time.Duration) (context.Context, func()) {
	hctx, cancel := context.WithCancelCause(WithFence(ctx, l))
	window := ls.Window(ttl)
	every, margin := max(window/4, time.Millisecond), window/5
	done := make(chan struct{})
	go func() {
		defer close(done)
		expire := time.NewTimer(l.Deadline.Sub(ls.opts.Now()) - margin)
		defer expire.Stop()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-expire.C:
				ls.opts.Logger.WarnContext(hctx, "lease: not renewed in time; its holder stops", "lease", l.Name, "owner", l.Owner, "token", l.Token)
				cancel(fmt.Errorf("lease %s: no renewal confirmed before its deadline: %w", l.Name, ErrLost))
				return
			case <-tick.C:
			}
			rctx, rcancel := context.WithTimeout(hctx, every)
			nl, err := ls.Renew(rctx, l, ttl)
			rcancel()
			switch {
			case err == nil:
				l = nl
				expire.Reset(l.Deadline.Sub(ls.opts.Now()) - margin)
			case errors.Is(err, ErrLost):
				ls.opts.Logger.WarnContext(hctx, "lease: lost to another owner; its holder stops", "lease", l.Name, "owner", l.Owner, "err", err)
				cancel(err)
				return
			case hctx.Err() == nil:
				ls.opts.Logger.DebugContext(hctx, "lease: renew", "lease", l.Name, "err", err)
			}
		}
	}()
	return hctx, func() {
		cancel(context.Canceled)
		<-done
	}
}

// Lost reports whether ctx, from Hold, ended because its lease was lost.
func Lost(ctx context.Context) bool { return errors.Is(context.Cause(ctx), ErrLost) }
