package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Retention says how long karmagate keeps what it records
// (KARMAGATE_RETENTION). Pending, running and held actions are never
// pruned, and the audit trail of a member that still exists keeps its last
// KeepMemberEvents events whatever their age.
type Retention struct {
	Events        time.Duration // the audit trail; 90 days by default
	Notifications time.Duration // messages the bot sent or began; 14 days
	Actions       time.Duration // done, failed and cancelled outbox actions; 14 days
	Updates       time.Duration // processed Telegram updates; 14 days
}

// KeepMemberEvents is how many of its newest events an existing member's
// audit trail keeps past the events' retention.
const KeepMemberEvents = 1000

// DefaultRetention is the retention without KARMAGATE_RETENTION.
func DefaultRetention() Retention {
	const day = 24 * time.Hour
	return Retention{Events: 90 * day, Notifications: 14 * day, Actions: 14 * day, Updates: 14 * day}
}

// retentionKinds names the parts of a retention, as KARMAGATE_RETENTION
// spells them.
var retentionKinds = []string{"events", "notifications", "actions", "updates"}

func (r *Retention) field(kind string) *time.Duration {
	switch kind {
	case "events":
		return &r.Events
	case "notifications":
		return &r.Notifications
	case "actions":
		return &r.Actions
	case "updates":
		return &r.Updates
	}
	return nil
}

// MinRetention is the shortest retention accepted: Telegram repeats an
// update for up to a day, and an action's outcome should outlive a weekend.
const MinRetention = 24 * time.Hour

// ParseRetention reads a retention as KARMAGATE_RETENTION gives it: comma-separated kind=age pairs,
// e.g. "events=90d,notifications=14d,actions=14d,updates=14d", where kind
// is events, notifications, actions or updates and age is a number of days
// (90d) or hours (36h), at least a day. Kinds left out keep their default.
func ParseRetention(s string) (Retention, error) {
	r := DefaultRetention()
	const hint = "write it as events=90d,notifications=14d,actions=14d,updates=14d (any of them; ages in days d or hours h, at least 1d)"
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kind, age, ok := strings.Cut(part, "=")
		kind, age = strings.TrimSpace(kind), strings.TrimSpace(age)
		f := r.field(kind)
		switch {
		case !ok:
			return r, fmt.Errorf("%q has no =; %s", part, hint)
		case f == nil:
			return r, fmt.Errorf("unknown kind %q (want %s); %s", kind, strings.Join(retentionKinds, ", "), hint)
		case seen[kind]:
			return r, fmt.Errorf("%s is given twice", kind)
		}
		seen[kind] = true
		d, err := parseAge(age)
		if err != nil {
			return r, fmt.Errorf("%s=%q: %w; %s", kind, age, err, hint)
		}
		if d < MinRetention {
			return r, fmt.Errorf("%s=%s is less than a day; %s", kind, age, hint)
		}
		*f = d
	}
	return r, nil
}

// errAge refuses an age parseAge cannot read.
var errAge = errors.New("not an age such as 90d or 36h")

// parseAge reads 90d or 36h.
func parseAge(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, errAge
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 0 || n > 100*365 {
		return 0, errAge
	}
	switch s[len(s)-1] {
	case 'd':
		return time.Duration(n) * 24 * time.Hour, nil
	case 'h':
		return time.Duration(n) * time.Hour, nil
	}
	return 0, errAge
}

// String writes r as KARMAGATE_RETENTION takes it.
func (r Retention) String() string {
	parts := make([]string, 0, len(retentionKinds))
	for _, k := range retentionKinds {
		d := *r.field(k)
		if d%(24*time.Hour) == 0 {
			parts = append(parts, fmt.Sprintf("%s=%dd", k, d/(24*time.Hour)))
		} else {
			parts = append(parts, fmt.Sprintf("%s=%dh", k, d/time.Hour))
		}
	}
	return strings.Join(parts, ",")
}

// Pruned counts the rows one Prune deleted, by table.
type Pruned struct {
	Events, Notifications, Actions, Updates int64
	// Tokens are deep-link tokens (and Login Widget replay records, and
	// relink requests) that expired longer ago than the updates' retention.
	Tokens int64
}

// Total is every row deleted.
func (p Pruned) Total() int64 { return p.Events + p.Notifications + p.Actions + p.Updates + p.Tokens }

// pruneChunk is how many rows one statement of Prune deletes, so that no
// prune holds SQLite's one writer (or MySQL's locks) for long.
const pruneChunk = 500

// Prune deletes what is older than its retention, in chunks of at most
// pruneChunk rows a statement: notifications, settled actions (done,
// failed, cancelled; never pending, running or held ones), processed
// updates, deep-link tokens
// expired longer ago than the updates' retention, and audit events
// (keeping an existing member's last KeepMemberEvents). It stops at the
// first error, reporting what it deleted until then.
func (s *Store) Prune(ctx context.Context, r Retention) (Pruned, error) {
	var out Pruned
	now := s.clock()
	var err error
	if out.Notifications, err = s.pruneByKey(ctx, "notifications", "idem_key", "created_at < ?", now.Add(-r.Notifications)); err != nil {
		return out, fmt.Errorf("prune notifications: %w", err)
	}
	if out.Actions, err = s.pruneByKey(ctx, "actions", "id", "status IN ? AND updated_at < ?",
		[]string{ActionDone, ActionFailed, ActionCancelled}, now.Add(-r.Actions)); err != nil {
		return out, fmt.Errorf("prune actions: %w", err)
	}
	if out.Updates, err = s.pruneByKey(ctx, "updates", "update_id", "status IN ? AND done_at < ?",
		[]string{UpdateDone, UpdateFailed}, now.Add(-r.Updates)); err != nil {
		return out, fmt.Errorf("prune updates: %w", err)
	}
	if out.Tokens, err = s.Tokens().PruneTokens(ctx, now.Add(-r.Updates)); err != nil {
		return out, err
	}
	relinks, err := s.pruneByKey(ctx, "relinks", "id", "expires_at < ?", now.Add(-r.Updates))
	out.Tokens += relinks
	if err != nil {
		return out, fmt.Errorf("prune relink requests: %w", err)
	}
	if out.Events, err = s.pruneEvents(ctx, now.Add(-r.Events)); err != nil {
		return out, fmt.Errorf("prune events: %w", err)
	}
	return out, nil
}

// pruneByKey deletes the rows of table that match where, pruneChunk at a
// time: it reads a chunk's keys, then deletes those (SQLite has no DELETE …
// LIMIT, MySQL none with a subquery on the same table).
func (s *Store) pruneByKey(ctx context.Context, table, key, where string, args ...any) (int64, error) {
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var keys []any
		q := s.db.gorm.WithContext(ctx).Table(table).Where(where, args...).Order(key).Limit(pruneChunk)
		if key == "idem_key" {
			var ks []string
			if err := q.Pluck(key, &ks).Error; err != nil {
				return n, err
			}
			for _, k := range ks {
				keys = append(keys, k)
			}
		} else {
			var ks []int64
			if err := q.Pluck(key, &ks).Error; err != nil {
				return n, err
			}
			for _, k := range ks {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			return n, nil
		}
		// The condition again: a row that changed since it was read (an
		// action retried, say) stays.
		res := s.db.gorm.WithContext(ctx).Exec("DELETE FROM "+table+" WHERE "+key+" IN ? AND "+where, append([]any{keys}, args...)...)
		if res.Error != nil {
			return n, res.Error
		}
		n += res.RowsAffected
		if len(keys) < pruneChunk {
			return n, nil
		}
	}
}

// pruneEvents deletes events from before cutoff, except the last
// KeepMemberEvents of each member that still exists. Events are written in
// id order, so the old ones are those below a boundary found by a binary
// search on the primary key (one written a moment out of order waits for
// the next prune). Two walks, each a statement per pruneChunk rows: the old
// events of no member or of a deleted one, then those of the existing
// members with more than KeepMemberEvents events, beyond their last ones.
func (s *Store) pruneEvents(ctx context.Context, cutoff time.Time) (int64, error) {
	g := s.db.gorm.WithContext(ctx)
	boundary, err := s.eventsBoundary(ctx, cutoff)
	if err != nil || boundary == 0 {
		return 0, err
	}
	n, err := s.pruneEventIDs(ctx, func(after int64, ids *[]int64) error {
		return g.Raw(`SELECT id FROM events AS e WHERE id > ? AND id < ? AND at < ?
			AND (member_ext IS NULL OR NOT EXISTS (SELECT 1 FROM members AS m WHERE m.external_id = e.member_ext))
			ORDER BY id LIMIT ?`, after, boundary, cutoff, pruneChunk).Scan(ids).Error
	})
	if err != nil {
		return n, err
	}
	var busy []string
	if err := g.Raw("SELECT member_ext FROM events WHERE member_ext IS NOT NULL GROUP BY member_ext HAVING COUNT(*) > ?",
		KeepMemberEvents).Scan(&busy).Error; err != nil {
		return n, fmt.Errorf("find members with more than %d events: %w", KeepMemberEvents, err)
	}
	err = chunks(busy, chunkSize, func(part []string) error {
		var existing []string
		if err := g.Model(&Member{}).Where("external_id IN ?", part).Order("external_id").Pluck("external_id", &existing).Error; err != nil {
			return fmt.Errorf("find members: %w", err)
		}
		for _, m := range existing {
			var floor int64
			if err := g.Raw("SELECT id FROM events WHERE member_ext = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
				m, KeepMemberEvents-1).Scan(&floor).Error; err != nil {
				return fmt.Errorf("find a member's last %d events: %w", KeepMemberEvents, err)
			}
			k, err := s.pruneEventIDs(ctx, func(after int64, ids *[]int64) error {
				return g.Raw("SELECT id FROM events WHERE member_ext = ? AND id > ? AND id < ? AND id < ? AND at < ? ORDER BY id LIMIT ?",
					m, after, floor, boundary, cutoff, pruneChunk).Scan(ids).Error
			})
			n += k
			if err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// pruneEventIDs deletes the events next names, pruneChunk at a time: next
// fills ids with those after the given id, in id order.
func (s *Store) pruneEventIDs(ctx context.Context, next func(after int64, ids *[]int64) error) (int64, error) {
	var n, after int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var ids []int64
		if err := next(after, &ids); err != nil {
			return n, err
		}
		if len(ids) == 0 {
			return n, nil
		}
		res := s.db.gorm.WithContext(ctx).Exec("DELETE FROM events WHERE id IN ?", ids)
		if res.Error != nil {
			return n, res.Error
		}
		n += res.RowsAffected
		if len(ids) < pruneChunk {
			return n, nil
		}
		after = ids[len(ids)-1]
	}
}

// eventsBoundary returns an id below which every event is from before
// cutoff (0: none is), by a binary search on the primary key: events are
// written in time order, and at has no index.
func (s *Store) eventsBoundary(ctx context.Context, cutoff time.Time) (int64, error) {
	g := s.db.gorm.WithContext(ctx)
	var b struct{ Lo, Hi *int64 }
	if err := g.Raw("SELECT MIN(id) AS lo, MAX(id) AS hi FROM events").Scan(&b).Error; err != nil {
		return 0, fmt.Errorf("find the events' ids: %w", err)
	}
	if b.Lo == nil {
		return 0, nil
	}
	// Every id below lo is old; the first young one, if any, is below hi.
	lo, hi := *b.Lo, *b.Hi+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		var e struct {
			ID int64
			At time.Time
		}
		if err := g.Raw("SELECT id, at FROM events WHERE id >= ? ORDER BY id LIMIT 1", mid).Scan(&e).Error; err != nil {
			return 0, fmt.Errorf("find the oldest events: %w", err)
		}
		if e.ID != 0 && e.At.Before(cutoff) {
			lo = e.ID + 1
		} else {
			hi = mid
		}
	}
	if lo == *b.Lo {
		return 0, nil
	}
	return lo, nil
}
