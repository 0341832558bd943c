package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Named leases elect one instance for work that must run in one place only
// (the getUpdates poller: Telegram answers a second concurrent poll with
// 409 Conflict). A lease is a row of the meta table, "lease:<name>" →
// "<owner> <until>", so that it needs no table of its own. An owner that
// stops renewing (killed, or cut off from the database) loses the lease
// when it runs out, or as soon as its heart stops (instances.go), and any
// other instance may take it then.

const leasePrefix = "lease:"

// Lease is who holds a named lease and until when.
type Lease struct {
	Name  string
	Owner string
	Until time.Time
}

func parseLease(name, v string) Lease {
	owner, until, _ := strings.Cut(v, " ")
	t, _ := time.Parse(time.RFC3339Nano, until)
	return Lease{Name: name, Owner: owner, Until: t}
}

func (l Lease) value() string {
	return l.Owner + " " + l.Until.UTC().Format(time.RFC3339Nano)
}

// AcquireLease takes the named lease for owner until now+ttl, or renews it
// when owner holds it already. It reports whether owner holds it now; false
// with a nil error means another owner's lease has not run out.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	return s.acquireLease(ctx, name, owner, "", ttl)
}

// TakeLeaseFrom takes the named lease for owner from holder, whether or not
// holder's lease has run out: for a holder known to be dead (a process of
// this host that no longer exists). Another holder, or none, is left
// alone (false).
func (s *Store) TakeLeaseFrom(ctx context.Context, name, holder, owner string, ttl time.Duration) (bool, error) {
	if holder == "" {
		return false, fmt.Errorf("lease %q: take from whom?", name)
	}
	return s.acquireLease(ctx, name, owner, holder, ttl)
}

func (s *Store) acquireLease(ctx context.Context, name, owner, from string, ttl time.Duration) (bool, error) {
	if owner == "" || strings.Contains(owner, " ") || len(owner) > 200 || len(leasePrefix+name) > 64 {
		return false, fmt.Errorf("lease %q for %q: owner must be non-empty, without spaces, at most 200 bytes; name at most 58", name, owner)
	}
	var held bool
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		held = false
		var rows []metaRow
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("k = ?", leasePrefix+name).Find(&rows).Error
		if err != nil {
			return fmt.Errorf("read lease %s: %w", name, err)
		}
		next := Lease{Name: name, Owner: owner, Until: now.Add(ttl)}
		if len(rows) == 0 && from != "" {
			return nil
		}
		if len(rows) == 0 {
			// Two instances creating the row at once: one gets a
			// duplicate key, which inTx retries, and then finds the row.
			if err := tx.Create(&metaRow{K: leasePrefix + name, V: next.value()}).Error; err != nil {
				return fmt.Errorf("create lease %s: %w", name, err)
			}
			held = true
			return nil
		}
		cur := parseLease(name, rows[0].V)
		switch {
		case from != "" && cur.Owner != from:
			return nil
		case from == "" && cur.Owner != owner && cur.Until.After(now):
			// Held and not run out: free only if its holder's heart
			// stopped (instances.go).
			dead, err := s.ownerDead(tx, cur.Owner)
			if err != nil || !dead {
				return err
			}
		}
		if err := tx.Model(&metaRow{}).Where("k = ?", leasePrefix+name).Update("v", next.value()).Error; err != nil {
			return fmt.Errorf("take lease %s: %w", name, err)
		}
		held = true
		return nil
	})
	return held, err
}

// ReleaseLease gives up owner's lease, so that another instance may take it
// at once; a lease owner does not hold is left alone.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	return s.inTx(ctx, func(tx *gorm.DB) error {
		var rows []metaRow
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("k = ?", leasePrefix+name).Find(&rows).Error; err != nil {
			return fmt.Errorf("read lease %s: %w", name, err)
		}
		if len(rows) == 0 || parseLease(name, rows[0].V).Owner != owner {
			return nil
		}
		if err := tx.Where("k = ?", leasePrefix+name).Delete(&metaRow{}).Error; err != nil {
			return fmt.Errorf("release lease %s: %w", name, err)
		}
		return nil
	})
}

// LeaseHolder returns who holds the named lease (ErrNotFound when nobody
// ever took it); Until may be past.
func (s *Store) LeaseHolder(ctx context.Context, name string) (Lease, error) {
	var row metaRow
	err := s.db.read.WithContext(ctx).Where("k = ?", leasePrefix+name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Lease{}, fmt.Errorf("lease %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Lease{}, fmt.Errorf("read lease %s: %w", name, err)
	}
	return parseLease(name, row.V), nil
}
