package models

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Update statuses.
const (
	UpdatePending = "pending"
	UpdateRunning = "running"
	UpdateDone    = "done"
	UpdateFailed  = "failed"
)

// Update is a Telegram update, stored before the webhook answers 200 or
// the poller advances its offset, and processed after: a crash loses none
// and processes none twice.
type Update struct {
	UpdateID int64 `gorm:"primaryKey;autoIncrement:false"`
	// Seq numbers arrivals: updates of one lane (a user, or a group) run
	// one at a time in the order they arrived (not by update_id, which
	// Telegram starts again at a random, lower value after a quiet week);
	// lanes run in parallel.
	Seq        int64
	Lane       int64
	Kind       string
	Payload    string
	Status     string
	Attempts   int
	LeaseOwner *string
	LeaseUntil *time.Time
	LastError  string
	NotBefore  time.Time // a failed update waits until then
	ReceivedAt time.Time
	DoneAt     *time.Time
	// AppliedAt is when the update's effect on the store committed (set in
	// that transaction), so that handling it again changes nothing.
	AppliedAt *time.Time
}

// TableName is the updates table.
func (Update) TableName() string { return "updates" }

// SaveUpdates stores updates as received, each once, and reports how many
// were new. An update_id stored already with the same content is Telegram
// delivering again (or a second instance behind the same load balancer)
// and is ignored. One stored with other content is from before a quiet
// week, after which Telegram starts the ids again at random: the new update
// is stored, and the old row (long done) gives up its id.
func (s *Store) SaveUpdates(ctx context.Context, ups []Update) (int, error) {
	if len(ups) == 0 {
		return 0, nil
	}
	incoming := make(map[int64]string, len(ups))
	ids := make([]int64, 0, len(ups))
	for _, u := range ups {
		if _, dup := incoming[u.UpdateID]; !dup {
			ids = append(ids, u.UpdateID)
		}
		incoming[u.UpdateID] = u.Payload
	}
	var fresh int
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		var have []struct {
			UpdateID int64
			Payload  string
			Status   string
		}
		cond, arg := s.in("update_id", ids)
		if err := tx.Model(&Update{}).Select("update_id, payload, status").Where(cond, arg).Scan(&have).Error; err != nil {
			return fmt.Errorf("read stored updates: %w", err)
		}
		repeat := map[int64]bool{}
		for _, h := range have {
			if samePayload(h.Payload, incoming[h.UpdateID]) {
				repeat[h.UpdateID] = true
				continue
			}
			// An id from an earlier run of ids. Done or failed: deleted
			// (retention would have). Still waiting (never seen outside a
			// sandbox: Telegram restarts ids only after a quiet week): moved
			// to a negative id, which Telegram never uses.
			var res *gorm.DB
			if h.Status == UpdateDone || h.Status == UpdateFailed {
				res = tx.Where("update_id = ?", h.UpdateID).Delete(&Update{})
			} else {
				// Below every id there is: negative ids are Telegram's
				// never, and the next one down is free (a racing rename
				// meets the key and the transaction runs again).
				var lowest int64
				if err := tx.Raw("SELECT COALESCE(MIN(update_id), 0) FROM updates").Scan(&lowest).Error; err != nil {
					return fmt.Errorf("find a free id: %w", err)
				}
				res = tx.Model(&Update{}).Where("update_id = ?", h.UpdateID).Update("update_id", min(lowest, 0)-1)
			}
			if res.Error != nil {
				return fmt.Errorf("retire update %d of an earlier run of ids: %w", h.UpdateID, res.Error)
			}
			s.log.WarnContext(ctx, "update id seen before with other content: Telegram started its ids again after a quiet week", "update_id", h.UpdateID)
		}
		var seq int64
		if err := tx.Raw("SELECT COALESCE(MAX(seq), 0) FROM updates").Scan(&seq).Error; err != nil {
			return fmt.Errorf("read the last arrival: %w", err)
		}
		var rows [][]any
		for _, u := range ups {
			if repeat[u.UpdateID] {
				continue
			}
			repeat[u.UpdateID] = true // once per batch too
			seq++
			rows = append(rows, []any{u.UpdateID, seq, u.Lane, u.Kind, u.Payload, UpdatePending, 0, "", now, now})
		}
		err := s.insertRows(tx, "updates", []string{"update_id", "seq", "lane", "kind", "payload", "status", "attempts", "last_error", "not_before", "received_at"}, rows,
			onConflict{sqlite: "ON CONFLICT (update_id) DO NOTHING", mysql: "ON DUPLICATE KEY UPDATE update_id = update_id"})
		if err != nil {
			return fmt.Errorf("store updates: %w", err)
		}
		fresh = len(rows)
		return nil
	})
	return fresh, err
}

// samePayload reports whether two stored updates are one: the same bytes,
// or the same JSON written differently.
func samePayload(a, b string) bool {
	if a == b {
		return true
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// ClaimUpdates leases up to limit updates that are ready: the oldest not
// yet done of each lane (so a lane's updates run in order, one at a time),
// pending or with a lease that ran out.
func (s *Store) ClaimUpdates(ctx context.Context, owner string, limit int, lease time.Duration) ([]Update, error) {
	var out []Update
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		out = nil
		err := tx.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"}).Table("updates AS u").
			Where("u.status = ? AND +u.not_before <= ?", UpdatePending, now).
			Where("NOT EXISTS (SELECT 1 FROM updates AS e WHERE e.lane = u.lane AND e.seq < u.seq AND e.status IN (?, ?))", UpdatePending, UpdateRunning).
			Order("u.seq").Limit(limit).Find(&out).Error
		if err == nil && len(out) < limit {
			var more []Update
			err = tx.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"}).Table("updates AS u").
				Where("u.status = ? AND (u.lease_until < ? OR u.lease_owner IN ("+s.deadOwners()+"))", UpdateRunning, now).
				Where("NOT EXISTS (SELECT 1 FROM updates AS e WHERE e.lane = u.lane AND e.seq < u.seq AND e.status IN (?, ?))", UpdatePending, UpdateRunning).
				Order("u.seq").Limit(limit - len(out)).Find(&more).Error
			out = append(out, more...)
		}
		if err != nil {
			return fmt.Errorf("find ready updates: %w", err)
		}
		if len(out) == 0 {
			return nil
		}
		until := now.Add(lease)
		ids := make([]int64, len(out))
		for i := range out {
			u := &out[i]
			u.Status, u.LeaseOwner, u.LeaseUntil, u.Attempts = UpdateRunning, &owner, &until, u.Attempts+1
			ids[i] = u.UpdateID
		}
		cond, arg := s.in("update_id", ids)
		return tx.Model(&Update{}).Where(cond, arg).Updates(map[string]any{
			"status": UpdateRunning, "lease_owner": owner, "lease_until": until, "attempts": gorm.Expr("attempts + 1"),
		}).Error
	})
	return out, err
}

// FinishUpdate records that owner processed an update: done when cause is
// nil; otherwise pending again at retryAt, or failed for good without one.
func (s *Store) FinishUpdate(ctx context.Context, id int64, owner string, cause error, retryAt *time.Time) error {
	return s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		upd := map[string]any{"lease_owner": nil, "lease_until": nil}
		switch {
		case cause == nil:
			upd["status"], upd["done_at"] = UpdateDone, now
		case retryAt != nil:
			upd["status"], upd["last_error"], upd["not_before"] = UpdatePending, Truncate(cause.Error(), 1000), retryAt.UTC()
		default:
			upd["status"], upd["last_error"], upd["done_at"] = UpdateFailed, Truncate(cause.Error(), 1000), now
		}
		res := tx.Model(&Update{}).Where("update_id = ? AND status = ? AND lease_owner = ?", id, UpdateRunning, owner).Updates(upd)
		if res.Error != nil {
			return fmt.Errorf("finish update %d: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("update %d: %w", id, ErrLeaseLost)
		}
		return nil
	})
}

// UpdateCounts returns how many stored updates are in each status.
func (s *Store) UpdateCounts(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Status string
		N      int64
	}
	if err := s.db.read.WithContext(ctx).Model(&Update{}).Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count updates: %w", err)
	}
	out := map[string]int64{UpdatePending: 0, UpdateRunning: 0, UpdateDone: 0, UpdateFailed: 0}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// PruneUpdates deletes updates done before cutoff. Telegram repeats an
// update for at most 24 hours, so a cutoff older than that loses no
// duplicate check.
func (s *Store) PruneUpdates(ctx context.Context, cutoff time.Time) (int64, error) {
	res := s.db.gorm.WithContext(ctx).Where("status IN (?, ?) AND done_at < ?", UpdateDone, UpdateFailed, cutoff.UTC()).Delete(&Update{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune updates: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// FindUpdate returns one stored update (for tests and operators).
func (s *Store) FindUpdate(ctx context.Context, id int64) (*Update, error) {
	return takeOne[Update](s.db.read.WithContext(ctx).Where("update_id = ?", id), fmt.Sprintf("update %d", id))
}
