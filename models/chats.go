package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/karmagate/karmagate/gate"
)

// ChatSummary is a gated chat with how many members are in each state.
type ChatSummary struct {
	Chat     *gate.Chat
	TgChatID *int64
	Counts   map[gate.State]int64
}

// ChatSummaries returns every chat of the rules with its state counts.
func (s *Store) ChatSummaries(ctx context.Context) ([]ChatSummary, error) {
	tx := s.db.read.WithContext(ctx)
	var counts []struct {
		ChatKey string
		State   string
		N       int64
	}
	if err := tx.Model(&ChatState{}).Select("chat_key, state, COUNT(*) AS n").Group("chat_key, state").Scan(&counts).Error; err != nil {
		return nil, fmt.Errorf("count chat states: %w", err)
	}
	var rows []ChatRow
	if err := tx.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load chats: %w", err)
	}
	var members int64
	if err := tx.Model(&Member{}).Count(&members).Error; err != nil {
		return nil, fmt.Errorf("count members: %w", err)
	}
	out := make([]ChatSummary, len(s.rules.Chats))
	for i, c := range s.rules.Chats {
		out[i] = ChatSummary{Chat: c, Counts: map[gate.State]int64{}}
		for _, st := range gate.States {
			out[i].Counts[st] = 0
		}
		// Members without a recorded state are not eligible; the rows that
		// say not_eligible are counted among them.
		recorded := int64(0)
		for _, n := range counts {
			if n.ChatKey == c.Key && n.State != string(gate.StateNotEligible) {
				out[i].Counts[gate.State(n.State)] = n.N
				recorded += n.N
			}
		}
		out[i].Counts[gate.StateNotEligible] = max(members-recorded, 0)
		for _, r := range rows {
			if r.ChatKey == c.Key {
				out[i].TgChatID = r.TgChatID
			}
		}
	}
	return out, nil
}

// ErrChatBound means the Telegram chat already gates another key.
var ErrChatBound = errors.New("telegram chat already bound to another gated chat")

// BindChat records which Telegram chat (Bot API id, -100…) a gated chat of
// the rules is: when the userbot creates it or an admin binds it with /bind.
// Binding the same pair again is a no-op.
func (s *Store) BindChat(ctx context.Context, key string, tgChatID int64, actor string) error {
	c, _ := s.chatIndex(key)
	if c == nil {
		return fmt.Errorf("chat %q: %w", key, ErrNotFound)
	}
	return s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		var other ChatRow
		err := tx.Where("tg_chat_id = ? AND chat_key <> ?", tgChatID, key).Take(&other).Error
		if err == nil {
			return fmt.Errorf("bind %s to %d (bound to %s): %w", key, tgChatID, other.ChatKey, ErrChatBound)
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("check binding: %w", err)
		}
		var cur ChatRow
		err = tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("chat_key = ?", key).Take(&cur).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			err = tx.Create(&ChatRow{ChatKey: key, TgChatID: &tgChatID, Title: c.Title, CreatedAt: now, UpdatedAt: now}).Error
		case err != nil:
			return fmt.Errorf("load chat: %w", err)
		case cur.TgChatID != nil && *cur.TgChatID == tgChatID:
			return nil
		default:
			// A rebind (or a bind after an unbind): nothing of the old
			// group's may reach anyone, so its join link, the bot's
			// standing there and the personal links made for it go, and
			// what was counted or audited there is forgotten.
			err = tx.Model(&ChatRow{}).Where("chat_key = ?", key).Updates(map[string]any{
				"tg_chat_id": tgChatID, "join_link": nil, "bot_status": "", "can_invite": false, "can_restrict": false,
				"can_manage_tags": false, "guard": false, "people_inside": nil, "people_counted_at": nil, "audit_on": false, "updated_at": now,
			}).Error
			if err == nil {
				err = forgetMemberLinks(tx, key)
			}
		}
		if err != nil {
			return fmt.Errorf("bind chat: %w", err)
		}
		detail := fmt.Sprintf("bound to Telegram chat %d", tgChatID)
		if cur.TgChatID != nil {
			detail += fmt.Sprintf(" (moved from %d; its join link and personal links forgotten)", *cur.TgChatID)
		}
		if err := tx.Create(&Event{At: now, Actor: actor, Kind: EventChatBound, ChatKey: &key, Detail: detail}).Error; err != nil {
			return fmt.Errorf("record the binding: %w", err)
		}
		return s.chatCallback(tx, CallbackBound, key, tgChatID, cur.TgChatID, actor, now)
	})
}

// forgetMemberLinks forgets the personal links made for a chat's group: it
// is bound to another group now, or to none.
func forgetMemberLinks(tx *gorm.DB, key string) error {
	if err := tx.Where("chat_key = ?", key).Delete(&MemberLink{}).Error; err != nil {
		return fmt.Errorf("forget the chat's personal links: %w", err)
	}
	return nil
}
