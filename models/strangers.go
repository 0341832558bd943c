package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/karmagate/karmagate/gate"
)

// Strangers: people inside a gated chat whom no member is linked to, as an
// audit listed them or the bot saw them in the group (table strangers,
// migration 0016). What happens to them is the chat's strangers: rule
// (gate.Strangers): kept, or removed once remove_after has passed since
// karmagate first saw them, after being told once (ActionTellStranger).
// A chat with no strangers: rule keeps them when it was bound by hand (the
// group had a life before karmagate), and removes or flags them at once,
// as on_violation says, when karmagate made it (nobody was inside before).
// Nobody who joins through a link karmagate did not give is a stranger
// here: they are removed at once (RecordMembership).

// Stranger is one stranger of a chat.
type Stranger struct {
	ChatKey     string
	TgUserID    int64 `gorm:"column:tg_user_id"`
	FirstSeenAt time.Time
	LastSeenAt  time.Time
	SeenBy      string // audit, message
	ToldAt      *time.Time
}

// TableName is the strangers table.
func (Stranger) TableName() string { return "strangers" }

// ActionTellStranger is the outbox kind of the message that tells a
// stranger, once, that they will be removed unless they link: its payload
// is the time of their removal (RFC 3339).
const ActionTellStranger = "tell_stranger"

// EventStrangerClock is a stranger's clock started (strangers:
// remove_after).
const EventStrangerClock = "stranger.clock_started"

// strangerPolicy says what chat c, bound to row, does with the strangers
// found inside: legacy (removed or flagged at once), or kept until clock
// (0: for good).
func strangerPolicy(tx *gorm.DB, c *gate.Chat, row *ChatRow) (legacy bool, clock time.Duration, err error) {
	if c.Strangers.Set {
		return false, c.Strangers.RemoveAfter, nil
	}
	hand, err := boundByHand(tx, row)
	return !hand, 0, err
}

// boundByHand reports whether a chat's group was made by hand and bound
// (/bind, /setup), not created by the userbot pool: people may have been
// inside before karmagate.
func boundByHand(tx *gorm.DB, row *ChatRow) (bool, error) {
	if row == nil || row.TgChatID == nil || row.BoundBy == nil {
		return false, nil // not bound, or bound with no one's command
	}
	channel := -*row.TgChatID - 1_000_000_000_000
	var n int64
	err := tx.Model(&UserbotGroup{}).Where("chat_key = ? AND channel_id = ? AND done_at IS NOT NULL", row.ChatKey, channel).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("load created groups: %w", err)
	}
	return n == 0, nil
}

// noteStrangers records accounts found inside chat c whom no member is
// linked to; those seen for the first time start their clock when the
// chat has one (a tell_stranger action queued, an event written). It
// returns how many were new.
func (s *Store) noteStrangers(tx *gorm.DB, c *gate.Chat, ids []int64, seenBy, actor string, now time.Time) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var row ChatRow
	if err := tx.Where("chat_key = ?", c.Key).Limit(1).Find(&row).Error; err != nil {
		return 0, fmt.Errorf("load chat: %w", err)
	}
	_, clock, err := strangerPolicy(tx, c, &row)
	if err != nil {
		return 0, err
	}
	known := map[int64]bool{}
	err = chunks(ids, chunkSize, func(part []int64) error {
		cond, arg := s.in("tg_user_id", part)
		var have []int64
		if err := tx.Model(&Stranger{}).Where("chat_key = ?", c.Key).Where(cond, arg).Pluck("tg_user_id", &have).Error; err != nil {
			return err
		}
		for _, id := range have {
			known[id] = true
		}
		return tx.Model(&Stranger{}).Where("chat_key = ?", c.Key).Where(cond, arg).Update("last_seen_at", now).Error
	})
	if err != nil {
		return 0, fmt.Errorf("load strangers: %w", err)
	}
	var rows, actions, events [][]any
	for _, id := range ids {
		if known[id] {
			continue
		}
		known[id] = true
		var told *time.Time
		if clock > 0 {
			told = &now
			until := now.Add(clock).UTC().Format(time.RFC3339)
			actions = append(actions, []any{fmt.Sprintf("%s/%s/t%d/%d", ActionTellStranger, c.Key, id, now.UnixNano()), ActionTellStranger, int64(0), "", c.Key, id, int64(0),
				"a stranger's clock started", ActionPending, 0, now, "", now, now, until})
			events = append(events, []any{now, actor, EventStrangerClock, nil, c.Key, nil, nil,
				fmt.Sprintf("Telegram user %d is inside but linked to no member (seen by %s): removed at %s unless they link", id, seenBy, until)})
		}
		rows = append(rows, []any{c.Key, id, now, now, seenBy, told})
	}
	if err := s.insertRows(tx, "strangers", []string{"chat_key", "tg_user_id", "first_seen_at", "last_seen_at", "seen_by", "told_at"}, rows, onConflict{}); err != nil {
		return 0, fmt.Errorf("record strangers: %w", err)
	}
	if err := s.insertRows(tx, "actions", []string{"idem_key", "kind", "member_id", "member_ext", "chat_key", "tg_user_id", "state_version", "reason", "status", "attempts", "not_before", "last_error", "created_at", "updated_at", "payload"},
		actions, onConflict{}); err != nil {
		return 0, fmt.Errorf("queue stranger notices: %w", err)
	}
	if err := s.insertRows(tx, "events", []string{"at", "actor", "kind", "member_ext", "chat_key", "from_state", "to_state", "detail"}, events, onConflict{}); err != nil {
		return 0, fmt.Errorf("write events: %w", err)
	}
	return len(rows), nil
}

// forgetStrangersGone drops the strangers of chat key that a full
// participant list (inside) no longer has.
func forgetStrangersGone(tx *gorm.DB, key string, inside map[int64]bool) error {
	var have []int64
	if err := tx.Model(&Stranger{}).Where("chat_key = ?", key).Pluck("tg_user_id", &have).Error; err != nil {
		return fmt.Errorf("load strangers: %w", err)
	}
	gone := slices.DeleteFunc(have, func(id int64) bool { return inside[id] })
	return chunks(gone, chunkSize, func(part []int64) error {
		if err := tx.Where("chat_key = ? AND tg_user_id IN ?", key, part).Delete(&Stranger{}).Error; err != nil {
			return fmt.Errorf("forget strangers gone: %w", err)
		}
		return nil
	})
}

// forgetStranger drops a Telegram account from every chat's strangers: it
// was linked to a member, or left.
func forgetStranger(tx *gorm.DB, tgUserID int64, chat string) error {
	q := tx.Where("tg_user_id = ?", tgUserID)
	if chat != "" {
		q = q.Where("chat_key = ?", chat)
	}
	if err := q.Delete(&Stranger{}).Error; err != nil {
		return fmt.Errorf("forget stranger: %w", err)
	}
	return nil
}

// StrangerSeen records that Telegram user tgUserID, linked to no member,
// was seen inside the Telegram chat tgChatID (they spoke in it): the
// caller leaves out the chat's admins. It reports whether they were new.
// An unknown chat is ErrNotFound.
func (s *Store) StrangerSeen(ctx context.Context, tgChatID, tgUserID int64, actor string) (bool, error) {
	row, err := s.ChatByTelegram(ctx, tgChatID)
	if err != nil {
		return false, err
	}
	c, _ := s.chatIndex(row.ChatKey)
	if c == nil {
		return false, fmt.Errorf("chat %q is no longer in the rules: %w", row.ChatKey, ErrNotFound)
	}
	var n int
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		var linked int64
		if err := tx.Model(&Member{}).Where("tg_user_id = ?", tgUserID).Count(&linked).Error; err != nil {
			return fmt.Errorf("load member: %w", err)
		}
		if linked > 0 {
			n = 0
			return nil // linked meanwhile
		}
		var err error
		n, err = s.noteStrangers(tx, c, []int64{tgUserID}, "message", actor, s.clock())
		return err
	})
	return n > 0, err
}

// ExpireStrangers queues the removal of strangers whose clock ran out
// (strangers: remove_after), once each: held under dry run and counted by
// the removal breaker like any removal. It returns how many it queued.
func (s *Store) ExpireStrangers(ctx context.Context, actor string) (int, error) {
	var total int
	for _, c := range s.rules.Chats {
		if !c.Strangers.Set || c.Strangers.RemoveAfter == 0 {
			continue
		}
		err := s.inTx(ctx, func(tx *gorm.DB) error {
			now := s.clock()
			var due []Stranger
			if err := tx.Where("chat_key = ? AND first_seen_at <= ?", c.Key, now.Add(-c.Strangers.RemoveAfter)).Order("tg_user_id").Limit(5000).Find(&due).Error; err != nil {
				return fmt.Errorf("find strangers due: %w", err)
			}
			if len(due) == 0 {
				return nil
			}
			queued := make([]Action, 0, len(due))
			keys := make([]string, 0, len(due))
			for _, st := range due {
				keys = append(keys, fmt.Sprintf("stranger/%s/t%d/%d", c.Key, st.TgUserID, st.FirstSeenAt.UnixNano()))
			}
			done := map[string]bool{}
			err := chunks(keys, chunkSize, func(part []string) error {
				var have []string
				err := tx.Model(&Action{}).Where("idem_key IN ?", part).Pluck("idem_key", &have).Error
				for _, k := range have {
					done[k] = true
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("find removals queued: %w", err)
			}
			reason := gate.Reason{Code: gate.ReasonStranger}.String() + " (remove_after " + gate.FormatWindow(c.Strangers.RemoveAfter) + ")"
			for i, st := range due {
				if done[keys[i]] {
					continue
				}
				id := st.TgUserID
				queued = append(queued, Action{IdemKey: keys[i], Kind: string(gate.ActionRemove), ChatKey: c.Key, TgUserID: &id,
					Reason: reason, Status: ActionPending, NotBefore: now, CreatedAt: now, UpdatedAt: now})
			}
			if len(queued) == 0 {
				return nil
			}
			if err := s.holdRemovals(tx, actor, now, queued); err != nil {
				return err
			}
			rows := make([][]any, len(queued))
			events := make([][]any, len(queued))
			for i, a := range queued {
				rows[i] = []any{a.IdemKey, a.Kind, int64(0), "", a.ChatKey, *a.TgUserID, int64(0), a.Reason, a.Status, 0, now, "", now, now, a.Hold}
				events[i] = []any{now, actor, EventStranger, nil, c.Key, nil, nil,
					fmt.Sprintf("Telegram user %d, linked to no member, is still inside after %s: queued remove", *a.TgUserID, gate.FormatWindow(c.Strangers.RemoveAfter))}
			}
			if err := s.insertRows(tx, "actions", []string{"idem_key", "kind", "member_id", "member_ext", "chat_key", "tg_user_id", "state_version", "reason", "status", "attempts", "not_before", "last_error", "created_at", "updated_at", "hold"},
				rows, onConflict{}); err != nil {
				return fmt.Errorf("queue strangers' removals: %w", err)
			}
			if err := s.insertRows(tx, "events", []string{"at", "actor", "kind", "member_ext", "chat_key", "from_state", "to_state", "detail"}, events, onConflict{}); err != nil {
				return fmt.Errorf("write events: %w", err)
			}
			total += len(queued)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("strangers of %s: %w", c.Key, err)
		}
	}
	return total, nil
}

// People is who is inside a gated chat, as far as karmagate knows.
type People struct {
	// Inside is how many people Telegram last said were inside besides
	// the admins (getChatMemberCount minus getChatAdministrators); nil
	// when never counted.
	Inside    *int
	CountedAt *time.Time
	// Known: members linked and recorded inside.
	Known int
	// Strangers: accounts inside linked to no member, known by an audit
	// or seen in the group.
	Strangers int
}

// Unknown is how many of those inside karmagate knows nothing about; nil
// when Inside was never counted.
func (p People) Unknown() *int {
	if p.Inside == nil {
		return nil
	}
	n := max(*p.Inside-p.Known-p.Strangers, 0)
	return &n
}

// ChatPeople says who is inside chat key. An unknown chat is ErrNotFound.
func (s *Store) ChatPeople(ctx context.Context, key string) (People, error) {
	if c, _ := s.chatIndex(key); c == nil {
		return People{}, fmt.Errorf("chat %q: %w", key, ErrNotFound)
	}
	g := s.db.read.WithContext(ctx)
	var out People
	var row struct {
		PeopleInside    *int
		PeopleCountedAt *time.Time
	}
	err := g.Model(&ChatRow{}).Select("people_inside, people_counted_at").Where("chat_key = ?", key).Limit(1).Scan(&row).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return out, fmt.Errorf("load chat: %w", err)
	}
	out.Inside, out.CountedAt = row.PeopleInside, row.PeopleCountedAt
	var known, strangers int64
	if err := g.Model(&ChatState{}).Where("chat_key = ? AND in_chat = ?", key, true).Count(&known).Error; err != nil {
		return out, fmt.Errorf("count members inside: %w", err)
	}
	if err := g.Model(&Stranger{}).Where("chat_key = ?", key).Count(&strangers).Error; err != nil {
		return out, fmt.Errorf("count strangers: %w", err)
	}
	out.Known, out.Strangers = int(known), int(strangers)
	return out, nil
}

// SetPeopleInside records how many people Telegram says are inside chat
// key besides its admins.
func (s *Store) SetPeopleInside(ctx context.Context, key string, n int) error {
	return s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		if err := tx.Model(&ChatRow{}).Where("chat_key = ?", key).Updates(map[string]any{"people_inside": n, "people_counted_at": now}).Error; err != nil {
			return fmt.Errorf("record people inside: %w", err)
		}
		return nil
	})
}
