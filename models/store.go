package models

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/lease"
)

// Store reads and changes karmagate's state. Every method that changes a
// member runs in one transaction that also writes the resulting outbox
// actions and audit events.
type Store struct {
	db    *DB
	rules *gate.Rules
	now   func() time.Time
	log   *slog.Logger
	began func() // tests: called as each transaction starts
	// callbacks: queue a callback to the website with each change it
	// should hear of (Options.Callbacks).
	callbacks bool
	// dryRun holds every chat's removals (Options.DryRun).
	dryRun bool
	// maxRemovals is the removal breaker of chats whose rules set none
	// (Options.MaxRemovals).
	maxRemovals gate.RemovalCap
	// admins are told when a chat's removal breaker opens (Options.Admins).
	admins []int64
	// leases are the named leases (leases.go).
	leases *lease.Leases
}

// Options tunes a Store; the zero value works.
type Options struct {
	Now    func() time.Time // the clock; time.Now by default
	Logger *slog.Logger
	// Callbacks queues a callback action (ActionCallback) in the outbox,
	// in the same transaction, whenever a member links or unlinks, joins or
	// leaves a gated chat, or is warned or removed: set it when a website
	// wants to hear of these (KARMAGATE_CALLBACK_URL). Off, nothing is
	// queued.
	Callbacks bool
	// DryRun holds the removals of every chat until an admin confirms
	// them (KARMAGATE_DRY_RUN), as dry_run: true in the rules does for
	// one chat.
	DryRun bool
	// MaxRemovals caps the removals started per chat within a window for
	// chats whose rules set no max_removals (KARMAGATE_MAX_REMOVALS); zero
	// means gate.DefaultRemovalCap.
	MaxRemovals gate.RemovalCap
	// Admins are the Telegram users (KARMAGATE_ADMINS) sent a DM when a
	// chat's removal breaker opens.
	Admins []int64
}

// NewStore returns a store over db that plans with rules.
func NewStore(db *DB, rules *gate.Rules, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{db: db, rules: rules, now: opts.Now, log: opts.Logger, callbacks: opts.Callbacks, dryRun: opts.DryRun,
		maxRemovals: opts.MaxRemovals, admins: slices.Clone(opts.Admins)}
	s.leases = s.newLeases()
	return s
}

// Rules returns the rules the store plans with.
func (s *Store) Rules() *gate.Rules { return s.rules }

// DB returns the database.
func (s *Store) DB() *DB { return s.db }

// clock is the store's now, in UTC at the microsecond precision both
// databases keep.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// chunkSize bounds IN lists and batch inserts on MySQL, and the members
// planned per transaction when re-planning everyone.
const chunkSize = 500

// inTx runs fn in a transaction, again when another transaction got in its
// way (deadlock, lock timeout, a racing create). fn must start from scratch
// each time.
//
// ctx bounds only the wait to start: for the write connection (SQLite has
// one, so writes queue for it; MySQL's pool may run dry). When ctx is done
// first, inTx returns an error wrapping ErrBusy and writes nothing. Once it
// holds the connection the transaction runs to its end on ctx without its
// cancellation: a change that has started is never rolled back because the
// caller hung up. On MySQL a row lock another transaction holds is part of
// the wait to start: with a deadline on ctx, the session's lock wait is cut
// to what is left of it, and a lock wait that times out once ctx is done is
// ErrBusy rather than retried.
func (s *Store) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	const attempts = 10
	started := false
	var err error
	caller := ctx
	connErr := s.db.gorm.WithContext(ctx).Connection(func(conn *gorm.DB) error {
		started = true
		ctx := context.WithoutCancel(ctx)
		conn = conn.WithContext(ctx)
		// A write made under a lease (lease.WithFence) is refused once the
		// lease changed hands: the check comes first, before other locks.
		body := fenced(caller, fn)
		if s.began != nil {
			inner := body
			body = func(tx *gorm.DB) error {
				s.began()
				return inner(tx)
			}
		}
		deadline, bounded := caller.Deadline()
		if bounded && s.db.dialect == MySQL {
			// The bound is the session's, and the connection goes back to
			// the pool: put the server's default back, or the next
			// transaction on it (a reconcile chunk without a deadline)
			// would inherit the last second this caller had left. A
			// connection that cannot take the reset is broken anyway and
			// database/sql drops it.
			defer func() {
				if err := conn.Exec("SET SESSION innodb_lock_wait_timeout = DEFAULT").Error; err != nil {
					s.log.WarnContext(ctx, "reset the lock wait of a pooled connection", "err", err)
				}
			}()
		}
		for i := range attempts {
			if bounded && s.db.dialect == MySQL {
				left := max(1, int(math.Ceil(time.Until(deadline).Seconds())))
				if err := conn.Exec("SET SESSION innodb_lock_wait_timeout = ?", min(left, 50)).Error; err != nil {
					return fmt.Errorf("bound the lock wait: %w", err)
				}
			}
			err = conn.Transaction(body)
			if err == nil || !retryable(err) {
				return err
			}
			if caller.Err() != nil && lockWait(err) {
				return fmt.Errorf("%w: a row this change needs stayed locked by other writes (%v)", ErrBusy, err)
			}
			s.log.DebugContext(ctx, "transaction conflict, retrying", "attempt", i+1, "err", err)
			time.Sleep(time.Duration(1+rand.IntN(1<<min(i, 6))) * time.Millisecond)
		}
		return fmt.Errorf("gave up after %d conflicting attempts: %w", attempts, err)
	})
	if !started && connErr != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: no write connection came free in time (%v)", ErrBusy, ctx.Err())
		}
		return fmt.Errorf("connect to the database: %w", connErr)
	}
	return connErr
}

// chunks calls fn on successive slices of at most n elements.
func chunks[T any](xs []T, n int, fn func([]T) error) error {
	for len(xs) > 0 {
		k := min(n, len(xs))
		if err := fn(xs[:k]); err != nil {
			return err
		}
		xs = xs[k:]
	}
	return nil
}
