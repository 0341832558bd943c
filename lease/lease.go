package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
)

// ErrHeld means another owner holds the lease, and its heart beats: Acquire
// returns the holder's Lease with it.
var ErrHeld = errors.New("lease: held by another owner")

// ErrLost means the lease is no longer the caller's: another owner took it
// (its token rose), it was released, or it ran out. A holder that gets it
// stops acting at once.
var ErrLost = errors.New("lease: lost")

// MaxName and MaxOwner bound a lease's name and owner, in bytes.
const (
	MaxName  = 64
	MaxOwner = 200
)

// Lease is one holding of a named lease, as the database answered it.
type Lease struct {
	Name  string
	Owner string // "" when free (released, or never taken)
	// Token rises with every change of hands; a renewal keeps it.
	Token int64
	// Since, Until and At are the database's clock: when this token was
	// taken, when the lease runs out unless renewed, and when the database
	// answered.
	Since, Until, At time.Time
	// Deadline is on the caller's own clock (Options.Now): the latest
	// moment its holder may count on the lease, unless a renewal confirms
	// it again. It is measured from before the call was sent, so that a
	// slow answer only shortens it, and is never later than the owner's
	// heart may be judged stopped (Options.Stale).
	Deadline time.Time
}

// Options configures Leases. DB is required.
type Options struct {
	// DB is the database (the write pool): leases are read and written in
	// its transactions.
	DB *gorm.DB
	// Tx runs fn in one write transaction, again when another got in its
	// way (a deadlock, a racing create); DB.Transaction, retried a few
	// times, by default.
	Tx func(ctx context.Context, fn func(tx *gorm.DB) error) error
	// Dead reports, inside a transaction, whether owner's process is known
	// to be gone (its heart stopped): what it holds is free at once. Nil:
	// a lease is free only once released or run out.
	Dead func(tx *gorm.DB, owner string) (bool, error)
	// Beat records, inside a transaction, that owner is alive: taking or
	// renewing a lease proves it. Nil: nothing is recorded.
	Beat func(tx *gorm.DB, owner string) error
	// Stale is how long an owner's heart may be silent before Dead says so
	// (models.InstanceStale): a Deadline is never further than that from
	// the call. 0: no bound but the lease's own.
	Stale time.Duration
	// Now is this host's clock, used only to measure a Deadline;
	// time.Now by default. Lease times never come from it.
	Now    func() time.Time
	Logger *slog.Logger
}

// Leases takes, renews and releases named leases.
type Leases struct {
	opts Options
}

// New returns Leases over opts.DB.
func New(opts Options) *Leases {
	if opts.Tx == nil {
		db := opts.DB
		opts.Tx = func(ctx context.Context, fn func(tx *gorm.DB) error) error { return retry(ctx, db, fn) }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Leases{opts: opts}
}

// row is a lease in the leases table; times are milliseconds since the
// epoch in the database's clock.
type row struct {
	Name    string `gorm:"primaryKey"`
	Owner   string
	Token   int64
	SinceMs int64
	UntilMs int64
}

// TableName is the leases table.
func (row) TableName() string { return "leases" }

// Acquire takes the named lease for owner for ttl, or renews it when owner
// holds it already (the token stays). When another owner holds it and is
// alive, it returns that holder's Lease and an error wrapping ErrHeld.
func (ls *Leases) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error) {
	return ls.take(ctx, name, owner, "", ttl)
}

// TakeFrom takes the named lease for owner from holder, whether or not
// holder's lease has run out: for a holder the caller knows to be dead (a
// process of this host whose pid is gone). A lease another owner holds,
// or nobody, is left alone (ErrHeld).
func (ls *Leases) TakeFrom(ctx context.Context, name, holder, owner string, ttl time.Duration) (Lease, error) {
	if holder == "" {
		return Lease{}, fmt.Errorf("lease %q: take from whom?", name)
	}
	return ls.take(ctx, name, owner, holder, ttl)
}

func (ls *Leases) take(ctx context.Context, name, owner, from string, ttl time.Duration) (Lease, error) {
	if err := valid(name, owner, ttl); err != nil {
		return Lease{}, err
	}
	start := ls.opts.Now()
	var out Lease
	err := ls.opts.Tx(WithoutFence(ctx), func(tx *gorm.DB) error {
		now, cur, found, err := lockRow(tx, name)
		if err != nil {
			return err
		}
		if !found {
			if from != "" {
				out = Lease{Name: name}
				return fmt.Errorf("lease %s: %s does not hold it: %w", name, from, ErrHeld)
			}
			// Two instances creating the row at once: one gets a
			// duplicate key, Tx retries it, and it finds the row.
			cur = row{Name: name, Owner: owner, Token: 1, SinceMs: now, UntilMs: now + ttl.Milliseconds()}
			if err := tx.Create(&cur).Error; err != nil {
				return fmt.Errorf("create lease %s: %w", name, err)
			}
			out = ls.lease(cur, now, start)
			return ls.beat(tx, owner)
		}
		switch {
		case cur.Owner == owner:
			// A renewal: the token stays.
		case from != "" && cur.Owner != from:
			out = ls.lease(cur, now, start)
			return fmt.Errorf("lease %s: held by %s, not %s: %w", name, cur.Owner, from, ErrHeld)
		case from == "" && cur.Owner != "" && cur.UntilMs > now:
			dead := false
			if ls.opts.Dead != nil {
				if dead, err = ls.opts.Dead(tx, cur.Owner); err != nil {
					return fmt.Errorf("lease %s: is its holder alive: %w", name, err)
				}
			}
			if !dead {
				out = ls.lease(cur, now, start)
				return fmt.Errorf("lease %s: held by %s until %s: %w", name, cur.Owner, out.Until.Format(time.RFC3339Nano), ErrHeld)
			}
			fallthrough
		default:
			cur.Token++
			cur.Owner = owner
			cur.SinceMs = now
		}
		cur.UntilMs = now + ttl.Milliseconds()
		res := tx.Model(&row{}).Where("name = ?", name).
			Updates(map[string]any{"owner": cur.Owner, "token": cur.Token, "since_ms": cur.SinceMs, "until_ms": cur.UntilMs})
		if res.Error != nil {
			return fmt.Errorf("take lease %s: %w", name, res.Error)
		}
		out = ls.lease(cur, now, start)
		return ls.beat(tx, owner)
	})
	return out, err
}

// Renew extends l, which its owner holds, to ttl from now (the database's
// now). It returns the lease held until its new Until, or an error
// wrapping ErrLost when the lease changed hands or was released: then the
// holder must stop. A lease that ran out and that nobody took since is
// still the holder's: no other write can have carried its token.
func (ls *Leases) Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	if err := valid(l.Name, l.Owner, ttl); err != nil {
		return Lease{}, err
	}
	start := ls.opts.Now()
	var out Lease
	err := ls.opts.Tx(WithoutFence(ctx), func(tx *gorm.DB) error {
		now, cur, found, err := lockRow(tx, l.Name)
		if err != nil {
			return err
		}
		if !found || cur.Owner != l.Owner || cur.Token != l.Token {
			return fmt.Errorf("lease %s token %d of %s: now %q's, token %d: %w", l.Name, l.Token, l.Owner, cur.Owner, cur.Token, ErrLost)
		}
		cur.UntilMs = now + ttl.Milliseconds()
		if err := tx.Model(&row{}).Where("name = ?", l.Name).Update("until_ms", cur.UntilMs).Error; err != nil {
			return fmt.Errorf("renew lease %s: %w", l.Name, err)
		}
		out = ls.lease(cur, now, start)
		return ls.beat(tx, l.Owner)
	})
	return out, err
}

// Release gives l up, so that another owner may take it at once (with the
// next token). A lease l's owner no longer holds is left alone.
func (ls *Leases) Release(ctx context.Context, l Lease) error {
	err := ls.opts.Tx(WithoutFence(ctx), func(tx *gorm.DB) error {
		return tx.Model(&row{}).Where("name = ? AND owner = ? AND token = ?", l.Name, l.Owner, l.Token).
			Updates(map[string]any{"owner": "", "until_ms": 0}).Error
	})
	if err != nil {
		return fmt.Errorf("release lease %s: %w", l.Name, err)
	}
	return nil
}

// Holder returns who holds the named lease: Owner "" when nobody does or
// ever did. Until may be past.
func (ls *Leases) Holder(ctx context.Context, name string) (Lease, error) {
	start := ls.opts.Now()
	var rows []struct {
		Name, Owner             string
		Token, SinceMs, UntilMs int64
		NowMs                   int64
	}
	err := ls.opts.DB.WithContext(ctx).Raw("SELECT name, owner, token, since_ms, until_ms, "+nowMs(ls.opts.DB)+" AS now_ms FROM leases WHERE name = ?", name).
		Scan(&rows).Error
	if err != nil {
		return Lease{}, fmt.Errorf("read lease %s: %w", name, err)
	}
	if len(rows) == 0 {
		now, err := dbNow(ls.opts.DB.WithContext(ctx))
		if err != nil {
			return Lease{}, err
		}
		return Lease{Name: name, At: time.UnixMilli(now).UTC()}, nil
	}
	r := rows[0]
	return ls.lease(row{Name: r.Name, Owner: r.Owner, Token: r.Token, SinceMs: r.SinceMs, UntilMs: r.UntilMs}, r.NowMs, start), nil
}

// lease is cur as seen at the database's now, for a call begun at start on
// this host's clock.
func (ls *Leases) lease(cur row, now int64, start time.Time) Lease {
	left := time.Duration(cur.UntilMs-now) * time.Millisecond
	if ls.opts.Stale > 0 {
		left = min(left, ls.opts.Stale)
	}
	return Lease{Name: cur.Name, Owner: cur.Owner, Token: cur.Token,
		Since: time.UnixMilli(cur.SinceMs).UTC(), Until: time.UnixMilli(cur.UntilMs).UTC(), At: time.UnixMilli(now).UTC(),
		Deadline: start.Add(max(left, 0))}
}

func (ls *Leases) beat(tx *gorm.DB, owner string) error {
	if ls.opts.Beat == nil {
		return nil
	}
	if err := ls.opts.Beat(tx, owner); err != nil {
		return fmt.Errorf("heartbeat of %s: %w", owner, err)
	}
	return nil
}

// lockRow reads the named lease's row, locked until the transaction
// ends, and then the database's now (after any wait for the lock).
func lockRow(tx *gorm.DB, name string) (now int64, cur row, found bool, err error) {
	var rows []row
	q := "SELECT name, owner, token, since_ms, until_ms FROM leases WHERE name = ?"
	if isMySQL(tx) {
		q += " FOR UPDATE"
	}
	if err := tx.Raw(q, name).Scan(&rows).Error; err != nil {
		return 0, row{}, false, fmt.Errorf("read lease %s: %w", name, err)
	}
	if now, err = dbNow(tx); err != nil {
		return 0, row{}, false, err
	}
	if len(rows) == 0 {
		return now, row{}, false, nil
	}
	return now, rows[0], true, nil
}

func valid(name, owner string, ttl time.Duration) error {
	switch {
	case name == "" || len(name) > MaxName:
		return fmt.Errorf("lease %q: a name is 1 to %d bytes", name, MaxName)
	case owner == "" || len(owner) > MaxOwner:
		return fmt.Errorf("lease %s for %q: an owner is 1 to %d bytes", name, owner, MaxOwner)
	case ttl < time.Millisecond:
		return fmt.Errorf("lease %s: a ttl of %v is too short", name, ttl)
	}
	return nil
}
