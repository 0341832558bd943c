package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/karmagate/karmagate/gate"
)

// Chat rows: a gated chat's Telegram group, the bot's standing in it, its
// join link, binding and unbinding.

// ChatByTelegram returns the gated chat bound to a Telegram chat id.
func (s *Store) ChatByTelegram(ctx context.Context, tgChatID int64) (*ChatRow, error) {
	return takeOne[ChatRow](s.db.read.WithContext(ctx).Where("tg_chat_id = ?", tgChatID), fmt.Sprintf("telegram chat %d", tgChatID))
}

// ChatRow returns the Telegram side of a gated chat; a chat of the rules
// that was never created or bound has a row with no TgChatID.
func (s *Store) ChatRow(ctx context.Context, key string) (*ChatRow, error) {
	c, _ := s.chatIndex(key)
	if c == nil {
		return nil, fmt.Errorf("chat %q: %w", key, ErrNotFound)
	}
	var row ChatRow
	err := s.db.read.WithContext(ctx).Where("chat_key = ?", key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return &ChatRow{ChatKey: key, Title: c.Title}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load chat: %w", err)
	}
	return &row, nil
}

// ChatRows returns the Telegram side of every gated chat of the rules, in
// the rules' order.
func (s *Store) ChatRows(ctx context.Context) ([]ChatRow, error) {
	var rows []ChatRow
	if err := s.db.read.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load chats: %w", err)
	}
	out := make([]ChatRow, len(s.rules.Chats))
	for i, c := range s.rules.Chats {
		out[i] = ChatRow{ChatKey: c.Key, Title: c.Title}
		for _, r := range rows {
			if r.ChatKey == c.Key {
				out[i] = r
			}
		}
	}
	return out, nil
}

// BotInChat is the bot's standing in a chat as Telegram reports it.
type BotInChat struct {
	Status        string // creator, administrator, member, restricted, left, kicked
	CanInvite     bool
	CanRestrict   bool
	CanManageTags bool
	Guard         bool
}

// SetChatBot records the bot's standing in a bound chat.
func (s *Store) SetChatBot(ctx context.Context, key string, b BotInChat) error {
	err := s.db.gorm.WithContext(ctx).Model(&ChatRow{}).Where("chat_key = ?", key).Updates(map[string]any{
		"bot_status": b.Status, "can_invite": b.CanInvite, "can_restrict": b.CanRestrict,
		"can_manage_tags": b.CanManageTags, "guard": b.Guard, "updated_at": s.clock(),
	}).Error
	if err != nil {
		return fmt.Errorf("record the bot's rights: %w", err)
	}
	return nil
}

// SetJoinLink records the join-request link the bot keeps for a chat
// (empty to forget it, when it was revoked).
func (s *Store) SetJoinLink(ctx context.Context, key, link string) error {
	err := s.db.gorm.WithContext(ctx).Model(&ChatRow{}).Where("chat_key = ?", key).
		Updates(map[string]any{"join_link": blankToNil(&link), "updated_at": s.clock()}).Error
	if err != nil {
		return fmt.Errorf("record join link: %w", err)
	}
	return nil
}

// BindChatBy binds a gated chat to a Telegram chat (see BindChat) and
// records who did it, then wakes the chat's waiting invites.
func (s *Store) BindChatBy(ctx context.Context, key string, tgChatID, by int64, actor string) error {
	if err := s.BindChat(ctx, key, tgChatID, actor); err != nil {
		return err
	}
	now := s.clock()
	return s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&ChatRow{}).Where("chat_key = ?", key).Updates(map[string]any{"bound_by": by, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("record who bound the chat: %w", err)
		}
		return wakeChat(tx, key, now)
	})
}

// wakeChat makes a chat's waiting actions due now: they were put off while
// the chat had no Telegram side.
func wakeChat(tx *gorm.DB, key string, now time.Time) error {
	err := tx.Model(&Action{}).Where("status = ? AND chat_key = ? AND not_before > ?", ActionPending, key, now).
		Updates(map[string]any{"not_before": now, "updated_at": now}).Error
	if err != nil {
		return fmt.Errorf("wake the chat's actions: %w", err)
	}
	return nil
}

// UnbindChat releases a gated chat from its Telegram chat: the bot stops
// gating it. Members' states stay; they apply again once it is bound anew.
func (s *Store) UnbindChat(ctx context.Context, key, actor string) error {
	if c, _ := s.chatIndex(key); c == nil {
		return fmt.Errorf("chat %q: %w", key, ErrNotFound)
	}
	return s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		var row ChatRow
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("chat_key = ?", key).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && row.TgChatID == nil) {
			return fmt.Errorf("chat %q is not bound: %w", key, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("load chat: %w", err)
		}
		if err := tx.Model(&ChatRow{}).Where("chat_key = ?", key).Updates(map[string]any{
			"tg_chat_id": nil, "join_link": nil, "bot_status": "", "guard": false, "bound_by": nil, "updated_at": now,
		}).Error; err != nil {
			return fmt.Errorf("unbind chat: %w", err)
		}
		if err := forgetMemberLinks(tx, key); err != nil {
			return err
		}
		if err := tx.Create(&Event{At: now, Actor: actor, Kind: EventChatUnbound, ChatKey: &key,
			Detail: fmt.Sprintf("unbound from Telegram chat %d", *row.TgChatID)}).Error; err != nil {
			return fmt.Errorf("record the unbinding: %w", err)
		}
		return s.chatCallback(tx, CallbackUnbound, key, *row.TgChatID, nil, actor, now)
	})
}

// ChatActions lists up to limit of a chat's actions of one kind in one
// status, oldest first (e.g. the removals waiting in a chat).
func (s *Store) ChatActions(ctx context.Context, chat string, kind gate.ActionKind, status string, limit int) ([]Action, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []Action
	err := s.db.read.WithContext(ctx).Where("chat_key = ? AND kind = ? AND status = ?", chat, string(kind), status).
		Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	return out, nil
}
