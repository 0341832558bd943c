package models

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/karmagate/karmagate/gate"
)

// ClaimActions leases up to limit actions that are due to owner for lease:
// pending ones whose time has come, and running ones whose lease ran out (a
// worker that crashed). Several instances may claim at once; each action goes
// to one of them (SKIP LOCKED on MySQL, one writer on SQLite).
//
// One member's actions in one chat run one at a time and in id order: an
// action is handed out only once every earlier action for the same member
// row and chat has settled (done, failed or cancelled). A held removal (dry
// run) is never handed out, and holds up what its member has queued after. So a compensation
// (the uninvite DeleteMember queues) never overtakes the invite a worker
// still holds, and workers never need to coordinate on a member.
func (s *Store) ClaimActions(ctx context.Context, owner string, limit int, lease time.Duration) ([]Action, error) {
	var out []Action
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		out = nil
		// Actions of no member (a stranger's removal, a queued message)
		// are independent of each other: member_id 0 orders nothing.
		first := "actions.member_id = 0 OR NOT EXISTS (SELECT 1 FROM actions AS e WHERE e.member_id = actions.member_id AND e.chat_key = actions.chat_key AND e.status IN ? AND e.id < actions.id)"
		open := []string{ActionPending, ActionRunning, ActionHeld}
		// Two queries, each walking one status in id order (actions_claim):
		// a claim reads what waits, never the history of what is done.
		err := tx.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"}).
			Where("status = ? AND not_before <= ?", ActionPending, now).
			Where(first, open).Order("id").Limit(limit).Find(&out).Error
		if err == nil {
			// Running with a lease that ran out, or held by a process whose
			// heart stopped (instances.go): taken over within seconds.
			var stale []Action
			err = tx.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"}).
				Where("status = ? AND (lease_until < ? OR lease_owner IN ("+s.deadOwners()+"))", ActionRunning, now).
				Where(first, open).Order("id").Limit(limit).Find(&stale).Error
			out = oldestFirst(out, stale, limit)
		}
		if err != nil {
			return fmt.Errorf("find due actions: %w", err)
		}
		until := now.Add(lease)
		for i := range out {
			a := &out[i]
			a.Status, a.LeaseOwner, a.LeaseUntil, a.Attempts, a.UpdatedAt = ActionRunning, &owner, &until, a.Attempts+1, now
			err := tx.Model(&Action{}).Where("id = ?", a.ID).Updates(map[string]any{
				"status": ActionRunning, "lease_owner": owner, "lease_until": until,
				"attempts": a.Attempts, "updated_at": now,
			}).Error
			if err != nil {
				return fmt.Errorf("lease action %d: %w", a.ID, err)
			}
		}
		return nil
	})
	return out, err
}

// oldestFirst merges two id-ordered lists and keeps the first limit.
func oldestFirst(a, b []Action, limit int) []Action {
	if len(b) == 0 {
		return a
	}
	out := append(a, b...)
	slices.SortFunc(out, func(x, y Action) int { return cmp.Compare(x.ID, y.ID) })
	return out[:min(len(out), limit)]
}

// ErrLeaseLost means the action is no longer leased to this worker: its lease
// ran out and another worker took it, or it was settled already.
var ErrLeaseLost = errors.New("action lease lost")

// CompleteAction records that owner carried out action id and moves the
// member's chat state on (invite → invited, remove → removed), unless a
// later decision has superseded the one that queued it.
func (s *Store) CompleteAction(ctx context.Context, id int64, owner, actor string) error {
	return s.completeAction(ctx, id, owner, actor, "")
}

// CompleteActionNoop is CompleteAction for an action that needed nothing
// done (the person was not in the chat to remove): the audit trail says
// "remove: nothing to do: WHY" instead of "remove done".
func (s *Store) CompleteActionNoop(ctx context.Context, id int64, owner, actor, why string) error {
	return s.completeAction(ctx, id, owner, actor, why)
}

func (s *Store) completeAction(ctx context.Context, id int64, owner, actor, noop string) error {
	return s.settle(ctx, id, owner, func(tx *gorm.DB, a *Action, now time.Time) error {
		a.Status = ActionDone
		var next gate.State
		switch gate.ActionKind(a.Kind) {
		case gate.ActionInvite:
			next = gate.StateInvited
		case gate.ActionRemove:
			next = gate.StateRemoved
		}
		if next != "" {
			// The state row of the member row that queued the action, at
			// the version that did: a member deleted since (even if created
			// again under the same id) or a later decision leaves it alone.
			upd := map[string]any{"state": string(next), "changed_at": now, "version": gorm.Expr("version + 1")}
			if next == gate.StateRemoved {
				upd["in_chat"] = false
			}
			q := tx.Model(&ChatState{}).Where("member_id = ? AND chat_key = ? AND version = ?", a.MemberID, a.ChatKey, a.StateVersion)
			if next == gate.StateInvited {
				q = q.Where("state = ?", string(gate.StateEligible)) // exempt stays exempt
			}
			if err := q.Updates(upd).Error; err != nil {
				return fmt.Errorf("advance chat state: %w", err)
			}
		}
		cb, err := s.completionCallback(tx, a, now)
		if err != nil {
			return err
		}
		if cb != nil {
			if err := s.writeCallbacks(tx, []Callback{*cb}, now); err != nil {
				return err
			}
		}
		detail := fmt.Sprintf("%s done after %d attempt(s)", a.Kind, a.Attempts)
		if noop != "" {
			detail = Truncate(fmt.Sprintf("%s: nothing to do: %s", a.Kind, noop), 1000)
		}
		return tx.Create(&Event{At: now, Actor: actor, Kind: EventActionDone, MemberExt: &a.MemberExt, ChatKey: &a.ChatKey, Detail: detail}).Error
	})
}

// FailAction records that an attempt failed. With retryAt set the action
// goes back to pending until then; without, it has failed for good.
func (s *Store) FailAction(ctx context.Context, id int64, owner, actor string, cause error, retryAt *time.Time) error {
	return s.settle(ctx, id, owner, func(tx *gorm.DB, a *Action, now time.Time) error {
		a.LastError = Truncate(cause.Error(), 1000)
		kind := EventActionFailed
		detail := fmt.Sprintf("%s failed for good after %d attempt(s): %s", a.Kind, a.Attempts, a.LastError)
		a.Status = ActionFailed
		if retryAt != nil {
			a.Status, a.NotBefore, kind = ActionPending, retryAt.UTC(), EventActionRetry
			detail = fmt.Sprintf("%s attempt %d failed, retry at %s: %s", a.Kind, a.Attempts, a.NotBefore.Format(time.RFC3339), a.LastError)
		}
		return tx.Create(&Event{At: now, Actor: actor, Kind: kind, MemberExt: &a.MemberExt, ChatKey: &a.ChatKey, Detail: Truncate(detail, 1000)}).Error
	})
}

func (s *Store) settle(ctx context.Context, id int64, owner string, fn func(*gorm.DB, *Action, time.Time) error) error {
	return s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		var a Action
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&a).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("action %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("load action: %w", err)
		}
		if a.Status != ActionRunning || a.LeaseOwner == nil || *a.LeaseOwner != owner {
			return fmt.Errorf("action %d: %w", id, ErrLeaseLost)
		}
		if err := fn(tx, &a, now); err != nil {
			return err
		}
		return tx.Model(&Action{}).Where("id = ?", id).Updates(map[string]any{
			"status": a.Status, "not_before": a.NotBefore, "last_error": a.LastError,
			"lease_owner": nil, "lease_until": nil, "updated_at": now,
		}).Error
	})
}

// Actions lists outbox actions for a member (all members when empty), oldest
// first: for tests, the dashboard and operators.
func (s *Store) Actions(ctx context.Context, member string) ([]Action, error) {
	q := s.db.read.WithContext(ctx).Order("id")
	if member != "" {
		q = q.Where("member_ext = ?", member)
	}
	var out []Action
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	return out, nil
}

// OutboxCounts returns how many actions are in each status.
func (s *Store) OutboxCounts(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Status string
		N      int64
	}
	if err := s.db.read.WithContext(ctx).Model(&Action{}).Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count actions: %w", err)
	}
	out := map[string]int64{ActionPending: 0, ActionRunning: 0, ActionDone: 0, ActionFailed: 0, ActionCancelled: 0, ActionHeld: 0}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}
