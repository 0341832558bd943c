package models

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/karmagate/karmagate/gate"
)

// Audit says what recording a chat's participant list changed.
type Audit struct {
	Present   int // ordinary participants recorded (bots left out by the caller)
	Admins    int // the chat's creator and admins recorded (never strangers, never removed)
	Joined    int // linked members found inside whom nothing had reported in
	Left      int // linked members recorded inside but not there any more
	Strangers int // accounts linked to no member inside: removals or flags queued
	// Queued counts the actions recording the list queued, by kind: the
	// re-plans of members found inside or gone, and the strangers'.
	Queued Queued
}

// RecordParticipants records a gated chat's actual membership from a full
// participant list (channels.getParticipants): present holds the Telegram
// user ids inside, without the chat's admins and bots; admins holds the
// chat's creator and admins. Linked members inside (admins too) are marked
// in, those recorded inside but absent are marked out, and both are
// re-planned; ordinary participants linked to no member are strangers,
// removed or flagged as the chat's on_violation says (once: not while an
// earlier removal of theirs is waiting). It is one transaction of a
// bounded number of statements, whatever the chat's size.
func (s *Store) RecordParticipants(ctx context.Context, key string, present, admins []int64, actor string) (Audit, error) {
	c, _ := s.chatIndex(key)
	if c == nil {
		return Audit{}, fmt.Errorf("chat %q: %w", key, ErrNotFound)
	}
	admins = slices.Compact(slices.Sorted(slices.Values(admins)))
	isAdmin := make(map[int64]bool, len(admins))
	for _, id := range admins {
		isAdmin[id] = true
	}
	present = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(present))), func(id int64) bool { return isAdmin[id] })
	var out Audit
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		out = Audit{Present: len(present), Admins: len(admins)}
		p := s.newPlanner(tx, actor)
		inside := make(map[int64]bool, len(present)+len(admins))
		for _, id := range present {
			inside[id] = true
		}
		for _, id := range admins {
			inside[id] = true
		}
		everyone := slices.Concat(present, admins)
		slices.Sort(everyone)
		// Linked members inside, locked in id order.
		linked := map[int64]*Member{} // tg user id → member
		err := chunks(everyone, chunkSize, func(part []int64) error {
			cond, arg := s.in("tg_user_id", part)
			var ms []Member
			if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where(cond, arg).Order("id").Find(&ms).Error; err != nil {
				return fmt.Errorf("load members: %w", err)
			}
			for i := range ms {
				linked[*ms[i].TgUserID] = &ms[i]
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Who the database says is inside.
		var recorded []struct {
			MemberID int64
			TgUserID *int64
		}
		err = tx.Table("chat_states AS cs").Select("cs.member_id, m.tg_user_id").
			Joins("JOIN members AS m ON m.id = cs.member_id").
			Where("cs.chat_key = ? AND cs.in_chat = ?", key, true).Scan(&recorded).Error
		if err != nil {
			return fmt.Errorf("load recorded membership: %w", err)
		}
		wasIn := map[int64]bool{} // member id
		var leftIDs []int64
		for _, r := range recorded {
			wasIn[r.MemberID] = true
			if r.TgUserID == nil || !inside[*r.TgUserID] {
				leftIDs = append(leftIDs, r.MemberID)
			}
		}
		var joined []*Member
		var strangers []int64
		for _, id := range everyone {
			m, ok := linked[id]
			switch {
			case !ok && isAdmin[id]: // an admin nobody is linked to: no stranger
			case !ok:
				strangers = append(strangers, id)
			case !wasIn[m.ID]:
				joined = append(joined, m)
			}
		}
		// Members recorded inside who are not.
		var left []*Member
		err = chunks(leftIDs, chunkSize, func(part []int64) error {
			cond, arg := s.in("id", part)
			var ms []Member
			if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where(cond, arg).Order("id").Find(&ms).Error; err != nil {
				return fmt.Errorf("load members: %w", err)
			}
			for i := range ms {
				left = append(left, &ms[i])
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := s.setInChat(p, key, joined, true); err != nil {
			return err
		}
		if err := s.setInChat(p, key, left, false); err != nil {
			return err
		}
		out.Joined, out.Left = len(joined), len(left)
		for _, m := range joined {
			p.event(EventMembership, m, key, "Telegram: inside (participant list)")
		}
		for _, m := range left {
			p.event(EventMembership, m, key, "Telegram: not inside (participant list)")
		}
		if err := p.plan(append(joined, left...), false); err != nil {
			return err
		}
		if err := p.flush(); err != nil {
			return err
		}
		out.Queued = p.queued()
		// Strangers: removed or flagged at once, or noted and kept (for
		// good, or until their clock runs out), as the chat's strangers:
		// rule says (strangers.go).
		var row ChatRow
		if err := tx.Where("chat_key = ?", key).Limit(1).Find(&row).Error; err != nil {
			return fmt.Errorf("load chat: %w", err)
		}
		if err := forgetStrangersGone(tx, key, inside); err != nil {
			return err
		}
		legacy, _, err := strangerPolicy(tx, c, &row)
		if err != nil {
			return err
		}
		if !legacy {
			if _, err := s.noteStrangers(tx, c, strangers, "audit", actor, p.now); err != nil {
				return err
			}
			out.Strangers = len(strangers)
			return recordAudit(tx, p.now, actor, key, out)
		}
		// Counted as strangers until they are gone (the removal's leave
		// forgets them).
		if _, err := s.noteStrangers(tx, c, strangers, "audit", actor, p.now); err != nil {
			return err
		}
		n, err := s.queueStrangers(tx, c, strangers, actor)
		if err != nil {
			return err
		}
		out.Strangers = n
		if n > 0 {
			kind := gate.ActionRemove
			if c.OnViolation == gate.ViolationFlag {
				kind = gate.ActionFlag
			}
			out.Queued.add(string(kind), n)
		}
		// The audit's outcome, for a reconcile pass that queued it on
		// another instance (AuditResults).
		return recordAudit(tx, p.now, actor, key, out)
	})
	return out, err
}

// setInChat sets in_chat for members in a chat, inserting the state rows
// that do not exist: two statements per chunk.
func (s *Store) setInChat(p *planner, key string, ms []*Member, in bool) error {
	return chunks(ms, chunkSize, func(part []*Member) error {
		ids := make([]int64, len(part))
		for i, m := range part {
			ids[i] = m.ID
		}
		cond, arg := s.in("member_id", ids)
		if err := p.tx.Model(&ChatState{}).Where("chat_key = ?", key).Where(cond, arg).Update("in_chat", in).Error; err != nil {
			return fmt.Errorf("record membership: %w", err)
		}
		var have []int64
		if err := p.tx.Model(&ChatState{}).Where("chat_key = ?", key).Where(cond, arg).Pluck("member_id", &have).Error; err != nil {
			return fmt.Errorf("record membership: %w", err)
		}
		var rows [][]any
		for _, id := range ids {
			if !slices.Contains(have, id) {
				rows = append(rows, []any{id, key, string(gate.StateNotEligible), "", in, nil, int64(0), p.now})
			}
		}
		if err := s.insertRows(p.tx, "chat_states", stateCols, rows, onConflict{}); err != nil {
			return fmt.Errorf("record membership: %w", err)
		}
		return nil
	})
}

// queueStrangers queues the removal (or flag) of accounts inside a gated
// chat that no member is linked to, except those with one waiting already.
func (s *Store) queueStrangers(tx *gorm.DB, c *gate.Chat, ids []int64, actor string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	kind := gate.ActionRemove
	if c.OnViolation == gate.ViolationFlag {
		kind = gate.ActionFlag
	}
	waiting := map[int64]bool{}
	err := chunks(ids, chunkSize, func(part []int64) error {
		cond, arg := s.in("tg_user_id", part)
		var have []int64
		err := tx.Model(&Action{}).Where("chat_key = ? AND member_id = 0 AND kind = ? AND status IN ?", c.Key, string(kind), []string{ActionPending, ActionRunning, ActionHeld}).
			Where(cond, arg).Pluck("tg_user_id", &have).Error
		for _, id := range have {
			waiting[id] = true
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("load waiting removals: %w", err)
	}
	now := s.clock()
	reason := gate.Reason{Code: gate.ReasonStranger}.String()
	status, err := s.removalStatus(tx, c.Key, kind)
	if err != nil {
		return 0, err
	}
	hold := ""
	if status == ActionHeld {
		hold = HoldDryRun
	}
	var queued []*Action
	var events [][]any
	for _, id := range ids {
		if waiting[id] {
			continue
		}
		queued = append(queued, &Action{IdemKey: fmt.Sprintf("t%d/%s/%s/%d", id, c.Key, kind, now.UnixNano()), Kind: string(kind),
			ChatKey: c.Key, TgUserID: &id, Reason: reason, Status: status, Hold: hold, NotBefore: now, CreatedAt: now, UpdatedAt: now})
		events = append(events, []any{now, actor, EventStranger, nil, c.Key, nil, nil,
			fmt.Sprintf("Telegram user %d is in the chat but linked to no member; queued %s", id, kind)})
	}
	// An audit may find many strangers at once: they pass the removal
	// breaker like any removal.
	if err := s.capRemovals(tx, actor, now, queued); err != nil {
		return 0, err
	}
	actions := make([][]any, len(queued))
	for i, a := range queued {
		actions[i] = []any{a.IdemKey, a.Kind, int64(0), "", a.ChatKey, *a.TgUserID, int64(0), a.Reason, a.Status, 0, now, "", now, now, a.Hold}
	}
	err = s.insertRows(tx, "actions", []string{"idem_key", "kind", "member_id", "member_ext", "chat_key", "tg_user_id", "state_version", "reason", "status", "attempts", "not_before", "last_error", "created_at", "updated_at", "hold"},
		actions, onConflict{})
	if err != nil {
		return 0, fmt.Errorf("queue %s for strangers: %w", kind, err)
	}
	if err := s.insertRows(tx, "events", []string{"at", "actor", "kind", "member_ext", "chat_key", "from_state", "to_state", "detail"}, events, onConflict{}); err != nil {
		return 0, fmt.Errorf("write events: %w", err)
	}
	return len(actions), nil
}

// QueueChatAction queues an action about a whole chat (create its group,
// audit it) unless one of that kind is waiting or running for the chat
// already, and reports whether it queued one. Its idempotency key counts
// the chat's earlier actions of the kind, so that two instances queueing at
// once queue one.
func (s *Store) QueueChatAction(ctx context.Context, kind, chat, reason string) (bool, error) {
	if c, _ := s.chatIndex(chat); c == nil {
		return false, fmt.Errorf("chat %q: %w", chat, ErrNotFound)
	}
	var queued bool
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		queued = false
		var n, open int64
		if err := tx.Model(&Action{}).Where("chat_key = ? AND kind = ? AND member_id = 0", chat, kind).Count(&n).Error; err != nil {
			return fmt.Errorf("count actions: %w", err)
		}
		err := tx.Model(&Action{}).Where("chat_key = ? AND kind = ? AND member_id = 0 AND status IN ?", chat, kind, []string{ActionPending, ActionRunning}).Count(&open).Error
		if err != nil {
			return fmt.Errorf("count actions: %w", err)
		}
		if open > 0 {
			return nil
		}
		now := s.clock()
		queued, err = s.insertFresh(tx, "actions", "idem_key", "kind, member_id, member_ext, chat_key, state_version, reason, status, attempts, not_before, last_error, created_at, updated_at",
			fmt.Sprintf("%s/%s/%d", kind, chat, n), kind, 0, "", chat, 0, reason, ActionPending, 0, now, "", now, now)
		if err != nil {
			return fmt.Errorf("queue %s: %w", kind, err)
		}
		return nil
	})
	return queued, err
}

// WakeActions makes the waiting actions of these kinds due now (a userbot
// account became ready, say).
func (s *Store) WakeActions(ctx context.Context, kinds []string) error {
	now := s.clock()
	err := s.db.gorm.WithContext(ctx).Model(&Action{}).Where("status = ? AND kind IN ? AND not_before > ?", ActionPending, kinds, now).
		Updates(map[string]any{"not_before": now, "updated_at": now}).Error
	if err != nil {
		return fmt.Errorf("wake actions: %w", err)
	}
	return nil
}

// RecordGroupCreated binds a gated chat to the group a userbot account
// created for it (see BindChatBy) and records the creation in the audit
// trail.
func (s *Store) RecordGroupCreated(ctx context.Context, key string, tgChatID, by int64, actor string) error {
	if err := s.BindChatBy(ctx, key, tgChatID, by, actor); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *gorm.DB) error {
		return tx.Create(&Event{At: s.clock(), Actor: actor, Kind: EventGroupCreated, ChatKey: &key,
			Detail: fmt.Sprintf("group %d created by Telegram user %d", tgChatID, by)}).Error
	})
}

// SecretVerifier returns the master secret's verifier kept in the
// database ("" when none is kept yet, or the schema is empty). It reads
// nothing else and writes nothing.
func (db *DB) SecretVerifier(ctx context.Context) (string, error) {
	g := db.read.WithContext(ctx)
	if !g.Migrator().HasTable("meta") {
		return "", nil
	}
	var row metaRow
	err := g.Where("k = ?", "secret_verifier").Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read secret verifier: %w", err)
	}
	return row.V, nil
}

// KeepSecretVerifier stores the master secret's verifier unless one is
// kept already, and returns the one kept.
func (db *DB) KeepSecretVerifier(ctx context.Context, v string) (string, error) {
	err := db.gorm.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&metaRow{K: "secret_verifier", V: v}).Error
	if err != nil {
		return "", fmt.Errorf("store secret verifier: %w", err)
	}
	var row metaRow
	if err := db.gorm.WithContext(ctx).Where("k = ?", "secret_verifier").Take(&row).Error; err != nil {
		return "", fmt.Errorf("read secret verifier: %w", err)
	}
	return row.V, nil
}
