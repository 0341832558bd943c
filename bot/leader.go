package bot

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/karmagate/karmagate/lease"
	"github.com/karmagate/karmagate/worker"
)

// PollerLease names the database lease that elects the one instance that
// calls getUpdates. Telegram answers a second concurrent getUpdates with
// 409 Conflict, so several instances in polling mode take turns: one holds
// the lease and polls, the others stand by and take over once its lease
// runs out (it lost the database) or its process is gone (its heart
// stopped, or it was a process of this host whose pid is gone).
const PollerLease = "poller"

// poll runs the poller on this instance while it holds the poller lease,
// and stands by while another instance does, until ctx ends. Every
// instance processes stored updates (process), whoever polled them.
func (b *Bot) poll(ctx context.Context) {
	ttl := b.opts.PollLease
	down := worker.Outage{What: "poll: the poller lease", Logger: b.log, Now: b.opts.Now}
	standby := false
	for ctx.Err() == nil {
		l, err := b.acquire(ctx, ttl)
		if errors.Is(err, lease.ErrHeld) {
			if took, ok := b.takeFromDead(ctx, l, ttl); ok {
				l, err = took, nil
			}
		}
		switch {
		case errors.Is(err, lease.ErrHeld):
			down.OK(ctx)
			if !standby {
				b.log.InfoContext(ctx, "poll: another instance polls getUpdates; standing by", "leader", l.Owner, "until", l.Until)
				standby = true
			}
			// Look again about every second (at most four times per lease),
			// not in step with others: the lease is free as soon as its
			// holder's heart stops (models.InstanceStale), and polling
			// should resume within seconds.
			_ = sleep(ctx, time.Duration(float64(min(ttl/4, time.Second))*(0.75+rand.Float64()/2)))
			continue
		case err != nil:
			if ctx.Err() == nil {
				_ = sleep(ctx, down.Fail(ctx, err))
			}
			continue
		}
		down.OK(ctx)
		b.log.InfoContext(ctx, "poll: this instance polls getUpdates", "owner", b.opts.Owner, "lease", ttl, "token", l.Token)
		standby = false
		b.lead(ctx, l, ttl)
		// Hand the lease over at once (a clean shutdown); a lease lost
		// meanwhile is left to its new holder.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := b.leases.Release(rctx, l); err != nil {
			b.log.DebugContext(rctx, "poll: release the poller lease", "err", err)
		}
		cancel()
	}
}

// takeFromDead takes the poller lease at once from a holder that was a
// process of this host and no longer exists (a restart after kill -9,
// say), instead of waiting for its lease to run out. The holder is named
// host:pid:random (worker.DefaultOwner); a holder of another host, or one
// whose pid is alive (or cannot be probed), is waited for.
func (b *Bot) takeFromDead(ctx context.Context, holder lease.Lease, ttl time.Duration) (lease.Lease, bool) {
	if holder.Owner == "" || holder.Owner == b.opts.Owner || !worker.DeadHere(holder.Owner) {
		return lease.Lease{}, false
	}
	actx, cancel := context.WithTimeout(ctx, max(ttl/3, time.Second))
	defer cancel()
	l, err := b.leases.TakeFrom(actx, PollerLease, holder.Owner, b.opts.Owner, ttl)
	if err != nil {
		return lease.Lease{}, false
	}
	b.log.InfoContext(ctx, "poll: the last poller was a process of this host that is gone; taking over at once", "was", holder.Owner)
	return l, true
}

// acquire takes the poller lease, waiting for the database at most a
// third of the lease.
func (b *Bot) acquire(ctx context.Context, ttl time.Duration) (lease.Lease, error) {
	actx, cancel := context.WithTimeout(ctx, max(ttl/3, time.Second))
	defer cancel()
	return b.leases.Acquire(actx, PollerLease, b.opts.Owner, ttl)
}

// lead polls while l is held (lease.Hold renews it). It stops polling
// when another instance took the lease, or when no renewal was confirmed
// in time: a fifth of the lease before it may run out, or before this
// instance's heart may be judged stopped, whichever comes first. From then
// on another instance may poll, and two pollers would only fight with
// 409s. The updates it stores carry the lease's fencing token: once the
// lease changed hands they are refused, and the offset does not move past
// them.
func (b *Bot) lead(ctx context.Context, l lease.Lease, ttl time.Duration) {
	hctx, stop := b.leases.Hold(ctx, l, ttl)
	defer stop()
	b.pollLoop(hctx)
	if lease.Lost(hctx) {
		b.log.WarnContext(ctx, "poll: the poller lease is lost or could not be renewed in time; this instance stops polling", "err", context.Cause(hctx))
	}
}
