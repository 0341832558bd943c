package bot

import (
	"context"
	"math/rand/v2"
	"time"

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
		held, err := b.acquire(ctx, ttl)
		if err != nil {
			if ctx.Err() == nil {
				_ = sleep(ctx, down.Fail(ctx, err))
			}
			continue
		}
		down.OK(ctx)
		if !held {
			if took := b.takeFromDead(ctx, ttl); took {
				held = true
			}
		}
		if !held {
			if !standby {
				holder, _ := b.store.LeaseHolder(ctx, PollerLease)
				b.log.InfoContext(ctx, "poll: another instance polls getUpdates; standing by", "leader", holder.Owner, "until", holder.Until)
				standby = true
			}
			// Look again about every second (at most four times per lease),
			// not in step with others: the lease is free as soon as its
			// holder's heart stops (models.InstanceStale), and polling
			// should resume within seconds.
			_ = sleep(ctx, time.Duration(float64(min(ttl/4, time.Second))*(0.75+rand.Float64()/2)))
			continue
		}
		b.log.InfoContext(ctx, "poll: this instance polls getUpdates", "owner", b.opts.Owner, "lease", ttl)
		standby = false
		b.lead(ctx, ttl)
	}
	// Hand the lease over at once on a clean shutdown.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := b.store.ReleaseLease(rctx, PollerLease, b.opts.Owner); err != nil {
		b.log.DebugContext(rctx, "poll: release the poller lease", "err", err)
	}
}

// takeFromDead takes the poller lease at once from a holder that was a
// process of this host and no longer exists (a restart after kill -9,
// say), instead of waiting for its lease to run out. The holder is named
// host:pid:random (worker.DefaultOwner); a holder of another host, or one
// whose pid is alive (or cannot be probed), is waited for.
func (b *Bot) takeFromDead(ctx context.Context, ttl time.Duration) bool {
	holder, err := b.store.LeaseHolder(ctx, PollerLease)
	if err != nil || holder.Owner == b.opts.Owner || !worker.DeadHere(holder.Owner) {
		return false
	}
	actx, cancel := context.WithTimeout(ctx, max(ttl/3, time.Second))
	defer cancel()
	took, err := b.store.TakeLeaseFrom(actx, PollerLease, holder.Owner, b.opts.Owner, ttl)
	if err != nil || !took {
		return false
	}
	b.log.InfoContext(ctx, "poll: the last poller was a process of this host that is gone; taking over at once", "was", holder.Owner)
	return true
}

// acquire takes or renews the poller lease, waiting for the database at
// most a third of the lease.
func (b *Bot) acquire(ctx context.Context, ttl time.Duration) (bool, error) {
	actx, cancel := context.WithTimeout(ctx, max(ttl/3, time.Second))
	defer cancel()
	return b.store.AcquireLease(actx, PollerLease, b.opts.Owner, ttl)
}

// lead polls while the lease is renewed, a few times per lease. It stops
// polling when another instance took the lease, or when renewing has
// failed for so long that the lease may have run out: from then on
// another instance may poll, and two pollers would only fight with 409s.
func (b *Bot) lead(ctx context.Context, ttl time.Duration) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.pollLoop(lctx)
	}()
	until := b.opts.Now().Add(ttl)
	tick := time.NewTicker(max(ttl/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			<-done
			return
		case <-done:
			return
		case <-tick.C:
		}
		held, err := b.acquire(ctx, ttl)
		switch {
		case err == nil && held:
			until = b.opts.Now().Add(ttl)
			continue
		case err == nil:
			b.log.WarnContext(ctx, "poll: another instance holds the poller lease now; this one stops polling")
		case b.opts.Now().Add(ttl / 4).Before(until):
			b.log.DebugContext(ctx, "poll: renew the poller lease", "err", err)
			continue
		default:
			b.log.WarnContext(ctx, "poll: could not renew the poller lease before it runs out; this instance stops polling", "err", err)
		}
		cancel()
		<-done
		return
	}
}
