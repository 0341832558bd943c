package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/karmagate/karmagate/lease"
)

// Named leases live in package lease (the leases table); the store hands
// out their client, in its transactions, with the instances table telling
// which holders are dead. Its write transactions honour the fence a
// context carries (lease.WithFence, checked in inTx).

// Leases returns the named leases of this store's database.
func (s *Store) Leases() *lease.Leases { return s.leases }

func (s *Store) newLeases() *lease.Leases {
	return lease.New(lease.Options{
		DB:     s.db.gorm,
		Tx:     s.inTx,
		Dead:   s.ownerDead,
		Beat:   s.beatIn,
		Stale:  InstanceStale,
		Logger: s.log,
	})
}

// beatIn records, inside a transaction, that owner is alive: a registered
// instance not known dead (MarkDead) beats now.
func (s *Store) beatIn(tx *gorm.DB, owner string) error {
	err := tx.Exec("UPDATE instances SET heartbeat_ms = "+s.dbNowMs()+" WHERE owner = ? AND heartbeat_ms > 0", owner).Error
	if err != nil {
		return fmt.Errorf("heartbeat of %s: %w", owner, err)
	}
	return nil
}

// fenced runs fn after checking the fence ctx carries, if any.
func fenced(ctx context.Context, fn func(tx *gorm.DB) error) func(tx *gorm.DB) error {
	if _, ok := lease.FenceOf(ctx); !ok {
		return fn
	}
	return func(tx *gorm.DB) error {
		if err := lease.Check(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	}
}
