package models

import (
	"context"
	"fmt"
	"time"
)

// Userbot account leases: one instance runs each account's client
// (userbots.lease_owner/lease_until), in the store's clock.

// AcquireUserbot leases a ready account to owner until now+ttl, unless
// another owner holds an unexpired lease. It reports whether owner holds
// it now.
func (u *Userbots) AcquireUserbot(ctx context.Context, id int64, owner string, ttl time.Duration) (bool, error) {
	now := u.clock()
	res := u.db.gorm.WithContext(ctx).Model(&Userbot{}).
		// A lease runs out, or its holder is known dead (its pid gone from
		// its host, MarkDead). A holder whose heart merely stopped may still
		// be running its client, cut off from the database: it stops that
		// client before its lease ends (userbot.Pool), and two clients on
		// one session would kill it for good, so its lease is waited out.
		Where("id = ? AND state = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ? OR lease_owner IN (SELECT owner FROM instances WHERE heartbeat_ms = 0))", id, UserbotReady, owner, now).
		Updates(map[string]any{"lease_owner": owner, "lease_until": now.Add(ttl)})
	if res.Error != nil {
		return false, fmt.Errorf("lease userbot: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// RenewUserbots extends owner's leases by ttl and returns the ids of the
// ready accounts it still holds.
func (u *Userbots) RenewUserbots(ctx context.Context, owner string, ttl time.Duration) ([]int64, error) {
	now := u.clock()
	err := u.db.gorm.WithContext(ctx).Model(&Userbot{}).Where("lease_owner = ? AND state = ?", owner, UserbotReady).
		Update("lease_until", now.Add(ttl)).Error
	if err != nil {
		return nil, fmt.Errorf("renew userbot leases: %w", err)
	}
	var ids []int64
	if err := u.db.gorm.WithContext(ctx).Model(&Userbot{}).Where("lease_owner = ? AND state = ?", owner, UserbotReady).Order("id").Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("list leased userbots: %w", err)
	}
	return ids, nil
}

// ReleaseUserbot gives up owner's lease on an account (all of owner's
// leases when id is 0), so that another instance may take it at once.
func (u *Userbots) ReleaseUserbot(ctx context.Context, owner string, id int64) error {
	q := u.db.gorm.WithContext(ctx).Model(&Userbot{}).Where("lease_owner = ?", owner)
	if id != 0 {
		q = q.Where("id = ?", id)
	}
	if err := q.Updates(map[string]any{"lease_owner": nil, "lease_until": nil}).Error; err != nil {
		return fmt.Errorf("release userbot lease: %w", err)
	}
	return nil
}
