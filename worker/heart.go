package worker

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/karmagate/karmagate/models"
)

// HeartStore is what a Heart needs of the store.
type HeartStore interface {
	Heartbeat(ctx context.Context, in models.Instance) error
	Instances(ctx context.Context) ([]models.InstanceView, error)
	MarkDead(ctx context.Context, owner string) error
	RemoveInstance(ctx context.Context, owner string) error
	DBTime(ctx context.Context) (time.Time, error)
}

// HeartOptions configures a Heart. Store and Owner are required.
type HeartOptions struct {
	Store HeartStore
	// Owner names this process in every lease it takes (DefaultOwner).
	Owner   string
	Version string
	// Every is how often the heart beats; 1 second by default.
	Every time.Duration
	// Base is this host's clock (time.Now by default); Now corrects it by
	// the database's.
	Base   func() time.Time
	Logger *slog.Logger
}

// Heart keeps this process registered as alive in the database, so that
// what it holds goes to another instance within seconds of its death
// (models.InstanceStale) rather than when its leases run out. On start it
// marks dead the processes of this host that are gone (a restart after
// kill -9: their work is free at once). It also keeps a clock in step
// with the database's (Now), so that leases and deadlines mean the same on
// every host whatever their own clocks say.
type Heart struct {
	opts HeartOptions

	mu     sync.Mutex
	offset time.Duration // database clock − Base, last measured
}

// NewHeart returns a heart; Run makes it beat.
func NewHeart(opts HeartOptions) (*Heart, error) {
	if opts.Store == nil || opts.Owner == "" {
		return nil, errors.New("worker: a Heart needs a Store and an Owner")
	}
	if opts.Every <= 0 {
		opts.Every = time.Second
	}
	if opts.Base == nil {
		opts.Base = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Heart{opts: opts}, nil
}

// Now is the database's clock, as well as this host knows it: Base
// corrected by the offset last measured (Sync).
func (h *Heart) Now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.opts.Base().Add(h.offset)
}

// Sync measures the offset between this host's clock and the database's,
// half the round trip taken for the query's own time.
func (h *Heart) Sync(ctx context.Context) error {
	before := h.opts.Base()
	db, err := h.opts.Store.DBTime(ctx)
	if err != nil {
		return err
	}
	after := h.opts.Base()
	mid := before.Add(after.Sub(before) / 2)
	off := db.Sub(mid)
	h.mu.Lock()
	old := h.offset
	h.offset = off
	h.mu.Unlock()
	if d := off - old; d > time.Second || d < -time.Second {
		h.opts.Logger.InfoContext(ctx, "this host's clock differs from the database's; karmagate follows the database's", "offset", off.Round(time.Millisecond))
	}
	return nil
}

// Start registers the process, marks dead this host's processes that are
// gone, and measures the clock: call it before anything takes work.
func (h *Heart) Start(ctx context.Context) error {
	if err := h.Sync(ctx); err != nil {
		return err
	}
	if err := h.beat(ctx); err != nil {
		return err
	}
	h.buryTheDead(ctx)
	return nil
}

func (h *Heart) beat(ctx context.Context) error {
	host, _ := os.Hostname()
	return h.opts.Store.Heartbeat(ctx, models.Instance{Owner: h.opts.Owner, Host: host, PID: os.Getpid(), Version: h.opts.Version})
}

// buryTheDead marks the registered processes of this host whose pid is
// gone as dead.
func (h *Heart) buryTheDead(ctx context.Context) {
	vs, err := h.opts.Store.Instances(ctx)
	if err != nil {
		h.opts.Logger.WarnContext(ctx, "list instances", "err", err)
		return
	}
	for _, v := range vs {
		if v.Owner == h.opts.Owner || !strings.Contains(v.Owner, ":") || !DeadHere(v.Owner) || v.Heartbeat.UnixMilli() == 0 {
			continue
		}
		if err := h.opts.Store.MarkDead(ctx, v.Owner); err != nil {
			h.opts.Logger.WarnContext(ctx, "mark a dead process", "owner", v.Owner, "err", err)
			continue
		}
		h.opts.Logger.InfoContext(ctx, "an earlier process of this host is gone; what it held is free now", "owner", v.Owner)
	}
}

// Run beats until ctx ends (every Every; the processes of this host that
// are gone are marked dead at each beat; the clock is measured again each
// minute), then deregisters: a clean shutdown has released what it held.
func (h *Heart) Run(ctx context.Context) error {
	down := Outage{What: "heartbeat", Logger: h.opts.Logger, Base: h.opts.Every, Max: 5 * time.Second}
	t := time.NewTicker(h.opts.Every)
	defer t.Stop()
	lastSync := time.Now()
	for {
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := h.opts.Store.RemoveInstance(rctx, h.opts.Owner); err != nil {
				h.opts.Logger.WarnContext(rctx, "deregister this instance", "err", err)
			}
			return nil
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, max(h.opts.Every, time.Second))
		err := h.beat(bctx)
		if err == nil {
			// A process of this host killed since is known dead at once,
			// without waiting for its heart to count as stopped.
			h.buryTheDead(bctx)
		}
		if err == nil && time.Since(lastSync) > time.Minute {
			err = h.Sync(bctx)
			lastSync = time.Now()
		}
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				down.Fail(ctx, err)
			}
			continue
		}
		down.OK(ctx)
	}
}
