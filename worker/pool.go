package worker

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/karmagate/karmagate/models"
)

// Store is what the pool needs of the outbox.
type Store interface {
	ClaimActions(ctx context.Context, owner string, limit int, lease time.Duration) ([]models.Action, error)
	CompleteAction(ctx context.Context, id int64, owner, actor string) error
	// CompleteActionNoop completes an action that needed nothing done,
	// saying why in the audit trail.
	CompleteActionNoop(ctx context.Context, id int64, owner, actor, why string) error
	FailAction(ctx context.Context, id int64, owner, actor string, cause error, retryAt *time.Time) error
	DeferAction(ctx context.Context, id int64, owner, actor string, until time.Time, cause error) error
}

// Executor carries out one kind of action in Telegram. Execute must be
// idempotent in its effect (approving a request already handled, banning
// someone already out count as done) and must not wait out a flood wait: it
// returns RetryAt instead, so that the worker can do other work meanwhile.
// The context ends before the action's lease does.
type Executor interface {
	Execute(ctx context.Context, a *models.Action) error
}

// ExecutorFunc adapts a function to Executor.
type ExecutorFunc func(ctx context.Context, a *models.Action) error

// Execute calls f.
func (f ExecutorFunc) Execute(ctx context.Context, a *models.Action) error { return f(ctx, a) }

// Options configures a Pool. Store and Executors are required; the zero
// value of every other field picks a sensible default.
type Options struct {
	Store Store
	// Executors by action kind (gate.ActionInvite, …).
	Executors map[string]Executor
	// Owner names this instance in leases; unique per process by default.
	Owner string
	// Actor is recorded in the audit trail; "worker" by default.
	Actor string
	// Workers is how many actions run at once; 8 by default.
	Workers int
	// Lease is how long a claimed action belongs to this instance; 1 minute
	// by default. A crashed instance's actions go to another after it.
	Lease time.Duration
	// Poll is how often to look for due actions when idle (Wake looks at
	// once); 1 second by default.
	Poll time.Duration
	// MaxAttempts is how many failed attempts an action gets before it is
	// parked; 10 by default. Retries Telegram asked for do not count.
	MaxAttempts int
	// Backoff is the wait before the next attempt after n failed ones;
	// exponential from 2 s, capped at 30 minutes, with jitter, by default.
	Backoff func(n int) time.Duration
	// DrainTimeout bounds how long Run waits for actions in flight after
	// its context ends; 15 seconds by default.
	DrainTimeout time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
	// Registerer, when set, receives the pool's metrics.
	Registerer prometheus.Registerer
}

func (o *Options) setDefaults() {
	if o.Owner == "" {
		o.Owner = DefaultOwner()
	}
	if o.Actor == "" {
		o.Actor = "worker"
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.Backoff == nil {
		o.Backoff = ExponentialBackoff(2*time.Second, 30*time.Minute)
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 15 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// DefaultOwner names this process: host, pid and a random suffix.
func DefaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = crand.Read(b[:])
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// ExponentialBackoff waits base·2^(n-1), at most max, scaled by a random
// factor between 0.5 and 1 so that failures do not retry in lockstep.
func ExponentialBackoff(base, max time.Duration) func(n int) time.Duration {
	return func(n int) time.Duration {
		d := base
		for i := 1; i < n && d < max; i++ {
			d *= 2
		}
		d = min(d, max)
		return time.Duration(float64(d) * (0.5 + rand.Float64()/2))
	}
}

// Pool claims due actions and carries them out.
type Pool struct {
	opts    Options
	wake    chan struct{}
	metrics *poolMetrics
}

// New returns a pool; call Run to start it.
func New(opts Options) *Pool {
	opts.setDefaults()
	return &Pool{opts: opts, wake: make(chan struct{}, 1), metrics: newPoolMetrics(opts.Registerer)}
}

// Owner is the name this pool leases actions under.
func (p *Pool) Owner() string { return p.opts.Owner }

// Wake tells the pool new actions may be due, so it looks before its next
// poll. It never blocks.
func (p *Pool) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run claims and executes actions until ctx ends, then stops claiming and
// waits up to DrainTimeout for the actions in flight. It claims only as many
// actions as it has idle workers, so nothing it holds waits to start.
func (p *Pool) Run(ctx context.Context) error {
	jobs := make(chan models.Action)
	// idle holds one token per worker that has nothing to do: a claim asks
	// for no more actions than there are tokens, so nothing claimed waits
	// in memory while its lease runs down.
	idle := make(chan struct{}, p.opts.Workers)
	execCtx, cancelExec := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelExec()
	var wg sync.WaitGroup
	for range p.opts.Workers {
		idle <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range jobs {
				p.execute(execCtx, &a)
				idle <- struct{}{}
			}
		}()
	}
	p.schedule(ctx, jobs, idle)
	close(jobs)

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(p.opts.DrainTimeout):
		p.opts.Logger.Warn("worker: actions still running after the drain timeout; cancelling them", "timeout", p.opts.DrainTimeout)
		cancelExec()
		<-done
	}
	return nil
}

// schedule claims batches and feeds them to the workers until ctx ends. It
// claims only for idle workers (a token of idle each), so every action it
// claims starts at once.
func (p *Pool) schedule(ctx context.Context, jobs chan<- models.Action, idle chan struct{}) {
	o := &p.opts
	tick := time.NewTicker(o.Poll)
	defer tick.Stop()
	// While the database is away, claims back off (exponential with
	// jitter) and the outage is logged once, not once per tick.
	outage := Outage{What: "worker: claim actions", Logger: o.Logger, Base: o.Poll, Max: 10 * time.Second, Now: o.Now}
	free := 0 // idle tokens taken and not yet given to a job
	defer func() {
		for range free {
			idle <- struct{}{}
		}
	}()
	for ctx.Err() == nil {
		if free == 0 {
			select {
			case <-idle:
				free++
			case <-ctx.Done():
				return
			}
		}
	more:
		for free < o.Workers {
			select {
			case <-idle:
				free++
			default:
				break more
			}
		}
		batch, err := o.Store.ClaimActions(ctx, o.Owner, free, o.Lease)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.sleep(ctx, outage.Fail(ctx, err))
			continue
		}
		outage.OK(ctx)
		for _, a := range batch {
			jobs <- a // a worker is idle for each: this does not wait
			free--
		}
		if len(batch) > 0 && free == 0 {
			continue // every idle worker got one: more may be due now
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		case <-p.wake:
		}
	}
}

func (p *Pool) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-p.wake:
	}
}

// execute runs one action and reports its outcome.
func (p *Pool) execute(ctx context.Context, a *models.Action) {
	o := &p.opts
	log := o.Logger.With("action", a.ID, "kind", a.Kind, "member", a.MemberExt, "chat", a.ChatKey, "attempt", a.Attempts)
	deadline := o.Now().Add(o.Lease * 4 / 5)
	if a.LeaseUntil != nil {
		deadline = a.LeaseUntil.Add(-o.Lease / 5)
	}
	actx, cancel := context.WithDeadline(ctx, deadline)
	start := time.Now()
	var err error
	if ex, ok := o.Executors[a.Kind]; ok {
		err = safeExecute(actx, ex, a)
	} else {
		err = Permanent(fmt.Errorf("%s: %w", a.Kind, ErrNoExecutor))
	}
	cancel()
	p.metrics.observe(a.Kind, time.Since(start))

	var settle func(context.Context) error
	var retry *RetryError
	var noop *NothingToDoError
	switch {
	case errors.As(err, &noop):
		p.metrics.count(a.Kind, "done")
		log.DebugContext(ctx, "action needed nothing done", "why", noop.Reason)
		settle = func(ctx context.Context) error {
			return o.Store.CompleteActionNoop(ctx, a.ID, o.Owner, o.Actor, noop.Reason)
		}
	case err == nil:
		p.metrics.count(a.Kind, "done")
		log.DebugContext(ctx, "action done")
		settle = func(ctx context.Context) error { return o.Store.CompleteAction(ctx, a.ID, o.Owner, o.Actor) }
	case errors.As(err, &retry):
		p.metrics.count(a.Kind, "deferred")
		cause := err
		if errors.Is(err, ErrNotYet) {
			// Handed back before it started: nothing to tell the trail.
			log.DebugContext(ctx, "action handed back until its turn", "until", retry.At)
			cause = nil
		} else {
			log.InfoContext(ctx, "action deferred", "until", retry.At, "err", err)
		}
		settle = func(ctx context.Context) error {
			return o.Store.DeferAction(ctx, a.ID, o.Owner, o.Actor, retry.At, cause)
		}
	case IsPermanent(err) || (a.Attempts >= o.MaxAttempts && !models.Unreachable(err)):
		// A database that was away is no reason to give up: the action
		// is retried until it answers, however many attempts that took.
		p.metrics.count(a.Kind, "failed")
		log.WarnContext(ctx, "action failed for good", "err", err)
		settle = func(ctx context.Context) error { return o.Store.FailAction(ctx, a.ID, o.Owner, o.Actor, err, nil) }
	default:
		p.metrics.count(a.Kind, "retry")
		at := o.Now().Add(o.Backoff(a.Attempts))
		log.InfoContext(ctx, "action failed; will retry", "at", at, "err", err)
		settle = func(ctx context.Context) error { return o.Store.FailAction(ctx, a.ID, o.Owner, o.Actor, err, &at) }
	}
	p.settle(ctx, a, settle)
}

// settle reports an outcome, again while the database is unreachable, for
// as long as the lease lasts; after that the action is another worker's.
func (p *Pool) settle(ctx context.Context, a *models.Action, fn func(context.Context) error) {
	until := p.opts.Now().Add(p.opts.Lease)
	if a.LeaseUntil != nil {
		until = *a.LeaseUntil
	}
	wait := 100 * time.Millisecond
	for {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := fn(sctx)
		cancel()
		switch {
		case err == nil:
			return
		case errors.Is(err, models.ErrLeaseLost), errors.Is(err, models.ErrNotFound):
			p.opts.Logger.WarnContext(ctx, "worker: action settled elsewhere", "action", a.ID, "err", err)
			return
		case ctx.Err() != nil || !p.opts.Now().Add(wait).Before(until):
			p.opts.Logger.ErrorContext(ctx, "worker: could not record an action's outcome; it will run again after its lease", "action", a.ID, "err", err)
			return
		}
		if wait == 100*time.Millisecond {
			p.opts.Logger.WarnContext(ctx, "worker: record outcome failed; retrying", "action", a.ID, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		wait = min(wait*2, 5*time.Second)
	}
}

// safeExecute turns an executor's panic into an error, so that one bad
// action cannot take the worker down.
func safeExecute(ctx context.Context, ex Executor, a *models.Action) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("executor panicked: %v", r)
		}
	}()
	return ex.Execute(ctx, a)
}
