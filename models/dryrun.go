package models

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/karmagate/karmagate/gate"
)

// Dry run: a chat's removals are planned and listed but not carried out
// until an admin confirms them. A chat holds its removals while any of
// these says so:
//
//   - dry_run: true for the chat in the rules file;
//   - KARMAGATE_DRY_RUN (Options.DryRun), for every chat;
//   - the chat's dry_run flag (chats.dry_run), set when it was bound over a
//     group that already had members (StartDryRun) and cleared by the first
//     confirmation (ConfirmRemovals).
//
// A held removal is an outbox action with status ActionHeld: ClaimActions
// never hands it out. Only removals are held; invites, withdrawn invites,
// declined join requests, warnings and flags go on as usual, so nobody
// ineligible gets in while removals wait.

// configDryRun reports whether the configuration (the rules file or the
// global switch) holds chat's removals.
func (s *Store) configDryRun(chat string) bool {
	if s.dryRun {
		return true
	}
	c, _ := s.chatIndex(chat)
	return c != nil && c.DryRun
}

// flaggedChats returns the chats whose dry_run flag is set.
func flaggedChats(tx *gorm.DB) (map[string]bool, error) {
	var keys []string
	if err := tx.Model(&ChatRow{}).Where("dry_run = ?", true).Pluck("chat_key", &keys).Error; err != nil {
		return nil, fmt.Errorf("load chats in dry run: %w", err)
	}
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[k] = true
	}
	return out, nil
}

// holdRemovals marks the removals among actions that must wait (in place,
// before they are written): first those of a chat in dry run, then those
// beyond the chat's removal breaker (capRemovals). Grace has come before:
// the planner queues a removal only once it is over.
func (s *Store) holdRemovals(tx *gorm.DB, actor string, now time.Time, actions []Action) error {
	if !slices.ContainsFunc(actions, func(a Action) bool { return a.Kind == string(gate.ActionRemove) }) {
		return nil
	}
	flagged, err := flaggedChats(tx)
	if err != nil {
		return err
	}
	removals := make([]*Action, 0, len(actions))
	for i := range actions {
		a := &actions[i]
		if a.Kind != string(gate.ActionRemove) || a.Status != ActionPending {
			continue
		}
		if flagged[a.ChatKey] || s.configDryRun(a.ChatKey) {
			a.Status, a.Hold = ActionHeld, HoldDryRun
			continue
		}
		removals = append(removals, a)
	}
	return s.capRemovals(tx, actor, now, removals)
}

// removalStatus is the status a new action of kind in chat starts with:
// held for a removal in a chat in dry run, pending otherwise.
func (s *Store) removalStatus(tx *gorm.DB, chat string, kind gate.ActionKind) (string, error) {
	if kind != gate.ActionRemove {
		return ActionPending, nil
	}
	if s.configDryRun(chat) {
		return ActionHeld, nil
	}
	flagged, err := flaggedChats(tx)
	if err != nil {
		return "", err
	}
	if flagged[chat] {
		return ActionHeld, nil
	}
	return ActionPending, nil
}

// DryRunStatus says whether a chat holds its removals, and why.
type DryRunStatus struct {
	On bool
	// Configured: the rules file or KARMAGATE_DRY_RUN holds the chat's
	// removals; a confirmation releases those held, and later ones are
	// held again.
	Configured bool
	// Started: the chat was bound over a group with members and nobody
	// has confirmed its removals yet.
	Started bool
	// BreakerOpen: more removals than max_removals allows were planned in
	// the chat; they and later ones are held until an admin confirms.
	// It holds removals whether dry run is on or not.
	BreakerOpen bool
}

// ChatDryRun reports whether chat holds its removals, and why. An unknown
// chat is ErrNotFound.
func (s *Store) ChatDryRun(ctx context.Context, chat string) (DryRunStatus, error) {
	if c, _ := s.chatIndex(chat); c == nil {
		return DryRunStatus{}, fmt.Errorf("chat %q: %w", chat, ErrNotFound)
	}
	flagged, err := flaggedChats(s.db.read.WithContext(ctx))
	if err != nil {
		return DryRunStatus{}, err
	}
	var open int64
	if err := s.db.read.WithContext(ctx).Model(&ChatRow{}).Where("chat_key = ? AND breaker_at IS NOT NULL", chat).Count(&open).Error; err != nil {
		return DryRunStatus{}, fmt.Errorf("load the breaker: %w", err)
	}
	st := DryRunStatus{Configured: s.configDryRun(chat), Started: flagged[chat], BreakerOpen: open > 0}
	st.On = st.Configured || st.Started
	return st, nil
}

// HeldRemovals returns up to limit removals held in chat under dry run,
// oldest first, and how many are held in all. An unknown chat is
// ErrNotFound.
func (s *Store) HeldRemovals(ctx context.Context, chat string, limit int) ([]Action, int64, error) {
	if c, _ := s.chatIndex(chat); c == nil {
		return nil, 0, fmt.Errorf("chat %q: %w", chat, ErrNotFound)
	}
	if limit <= 0 {
		limit = 100
	}
	q := func() *gorm.DB {
		return s.db.read.WithContext(ctx).Model(&Action{}).
			Where("chat_key = ? AND kind = ? AND status = ?", chat, string(gate.ActionRemove), ActionHeld)
	}
	var total int64
	if err := q().Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count held removals: %w", err)
	}
	var out []Action
	if err := q().Order("id").Limit(limit).Find(&out).Error; err != nil {
		return nil, 0, fmt.Errorf("list held removals: %w", err)
	}
	return out, total, nil
}

// StartDryRun makes chat hold its removals until an admin first confirms
// them: for a chat about to be bound over a group that already has
// members, so that nobody is removed by surprise on its first day. Called
// before the binding, so that no removal can run in between. It records
// why in the audit trail. Starting it again is a no-op.
func (s *Store) StartDryRun(ctx context.Context, chat, actor, why string) error {
	c, _ := s.chatIndex(chat)
	if c == nil {
		return fmt.Errorf("chat %q: %w", chat, ErrNotFound)
	}
	return s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		res := tx.Model(&ChatRow{}).Where("chat_key = ? AND dry_run = ?", chat, false).
			Updates(map[string]any{"dry_run": true, "updated_at": now})
		if res.Error != nil {
			return fmt.Errorf("start dry run: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			var n int64
			if err := tx.Model(&ChatRow{}).Where("chat_key = ?", chat).Count(&n).Error; err != nil {
				return fmt.Errorf("start dry run: %w", err)
			}
			if n > 0 {
				return nil // on already
			}
			// Not bound yet: the row the binding fills in.
			if err := tx.Create(&ChatRow{ChatKey: chat, Title: c.Title, DryRun: true, CreatedAt: now, UpdatedAt: now}).Error; err != nil {
				return fmt.Errorf("start dry run: %w", err)
			}
		}
		// Removals queued already and not yet taken wait too.
		err := tx.Model(&Action{}).Where("chat_key = ? AND kind = ? AND status = ?", chat, string(gate.ActionRemove), ActionPending).
			Updates(map[string]any{"status": ActionHeld, "hold": HoldDryRun, "updated_at": now}).Error
		if err != nil {
			return fmt.Errorf("hold queued removals: %w", err)
		}
		return tx.Create(&Event{At: now, Actor: actor, Kind: EventDryRunStarted, ChatKey: &chat,
			Detail: Truncate("removals are held until an admin confirms them: "+why, 1000)}).Error
	})
}

// ConfirmRemovals releases the removals held in chat, under dry run or by
// the removal breaker: they become pending and the workers carry them out.
// It ends the dry run a chat started in when it was bound over a group
// with members, and closes the chat's breaker (removals started before now
// no longer count against max_removals); dry run by the rules file or
// KARMAGATE_DRY_RUN goes on holding later removals. It returns how many it
// released (0 when none were held). An unknown chat is ErrNotFound.
func (s *Store) ConfirmRemovals(ctx context.Context, chat, actor string) (int, error) {
	if c, _ := s.chatIndex(chat); c == nil {
		return 0, fmt.Errorf("chat %q: %w", chat, ErrNotFound)
	}
	var n int
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		var err error
		if n, err = release(tx, chat, now, true); err != nil {
			return err
		}
		ended := tx.Model(&ChatRow{}).Where("chat_key = ? AND dry_run = ?", chat, true).
			Updates(map[string]any{"dry_run": false, "updated_at": now})
		if ended.Error != nil {
			return fmt.Errorf("end dry run: %w", ended.Error)
		}
		closed, err := closeBreaker(tx, chat, actor, now)
		if err != nil {
			return err
		}
		if n == 0 && ended.RowsAffected == 0 && !closed {
			return nil // nothing held, nothing ended: no news
		}
		detail := fmt.Sprintf("%d held removal(s) confirmed", n)
		if ended.RowsAffected > 0 {
			detail += "; the dry run the chat started in is over"
		}
		if s.configDryRun(chat) {
			detail += "; dry run in the configuration holds later removals"
		}
		return tx.Create(&Event{At: now, Actor: actor, Kind: EventRemovalsConfirmed, ChatKey: &chat, Detail: detail}).Error
	})
	return n, err
}

// release makes chat's held removals pending, due now: those held by the
// breaker too when breaker is set. Released removals keep why they were
// held, so that they never count against max_removals.
func release(tx *gorm.DB, chat string, now time.Time, breaker bool) (int, error) {
	q := tx.Model(&Action{}).Where("chat_key = ? AND status = ?", chat, ActionHeld)
	if !breaker {
		q = q.Where("hold <> ?", HoldBreaker)
	}
	res := q.Updates(map[string]any{"status": ActionPending, "not_before": now, "updated_at": now,
		"hold": gorm.Expr("CASE WHEN hold = '' THEN ? ELSE hold END", HoldDryRun)})
	if res.Error != nil {
		return 0, fmt.Errorf("release held removals: %w", res.Error)
	}
	return int(res.RowsAffected), nil
}

// ReleaseHeld releases the removals held in chats that are no longer in
// dry run: the rules file or KARMAGATE_DRY_RUN was turned off (serve calls
// it at start) and the chat's own flag is not set. Turning dry run off
// means removals run again, those planned meanwhile included. Removals
// held by the removal breaker stay held: only a confirmation releases
// them. It returns how many it released, by chat.
func (s *Store) ReleaseHeld(ctx context.Context, actor string) (map[string]int, error) {
	out := map[string]int{}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		clear(out)
		now := s.clock()
		var chats []string
		if err := tx.Model(&Action{}).Distinct("chat_key").Where("status = ? AND hold <> ?", ActionHeld, HoldBreaker).Order("chat_key").Pluck("chat_key", &chats).Error; err != nil {
			return fmt.Errorf("find held removals: %w", err)
		}
		if len(chats) == 0 {
			return nil
		}
		flagged, err := flaggedChats(tx)
		if err != nil {
			return err
		}
		for _, chat := range chats {
			if c, _ := s.chatIndex(chat); c == nil || flagged[chat] || s.configDryRun(chat) {
				continue // still in dry run, or no longer gated: left as they are
			}
			n, err := release(tx, chat, now, false)
			if err != nil {
				return err
			}
			out[chat] = n
			err = tx.Create(&Event{At: now, Actor: actor, Kind: EventRemovalsReleased, ChatKey: &chat,
				Detail: fmt.Sprintf("dry run is off: %d held removal(s) released", n)}).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// ActionSurvey is the outbox kind of a survey: the bot asks Telegram, for
// one page of linked members, whether each is inside a chat bound over a
// group that already had members, and records those who are (a bot cannot
// list a group's members; a userbot audit can, where an account is in the
// group). The action's payload is the member id the page starts after.
const ActionSurvey = "survey"

// QueueSurvey queues the survey of chat's linked members after member id
// after ("" from the start). parent is the survey action that queued this
// next page (0 for a first page): a page re-run after a crash queues its
// next page once. It reports whether it queued one.
func (s *Store) QueueSurvey(ctx context.Context, chat string, parent int64, after, reason string) (bool, error) {
	if c, _ := s.chatIndex(chat); c == nil {
		return false, fmt.Errorf("chat %q: %w", chat, ErrNotFound)
	}
	var queued bool
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		queued = false
		now := s.clock()
		key := fmt.Sprintf("%s/%s/a%d", ActionSurvey, chat, parent)
		if parent == 0 {
			var n int64
			if err := tx.Model(&Action{}).Where("chat_key = ? AND kind = ? AND member_id = 0", chat, ActionSurvey).Count(&n).Error; err != nil {
				return fmt.Errorf("count surveys: %w", err)
			}
			key = fmt.Sprintf("%s/%s/%d", ActionSurvey, chat, n)
		}
		var err error
		queued, err = s.insertFresh(tx, "actions", "idem_key", "kind, member_id, member_ext, chat_key, state_version, reason, status, attempts, not_before, last_error, created_at, updated_at, payload",
			key, ActionSurvey, 0, "", chat, 0, Truncate(reason, 500), ActionPending, 0, now, "", now, now, after)
		if err != nil {
			return fmt.Errorf("queue survey: %w", err)
		}
		return nil
	})
	return queued, err
}
