package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// Audits of groups bound by hand (/audit on): a bot cannot list a group's
// members, a userbot account can, but only from inside. The bot makes a
// one-use invite link and queues ActionAuditJoin; an account of the pool
// joins with it and queues ActionAuditPromote; the bot makes the account
// an admin that can only see the members (can_manage_chat), marks the
// chat audit_on and queues its audit. Every step is an outbox action, so
// bot and userbot meet only there, and a crash resumes where it stopped.
const (
	ActionAuditJoin    = "audit_join"    // the userbot pool: join with the payload's link
	ActionAuditPromote = "audit_promote" // the bot: promote tg_user_id, then audit
)

// Audit trail kinds of /audit on.
const (
	EventAuditAsked = "audit.asked"
	EventAuditOn    = "audit.on"
)

// QueueAuditJoin queues the join of a userbot account to chat's group
// through invite link (one use), asked by actor. It reports whether it
// queued one: not while an earlier join waits or runs.
func (s *Store) QueueAuditJoin(ctx context.Context, chat, link, actor string) (bool, error) {
	if c, _ := s.chatIndex(chat); c == nil {
		return false, fmt.Errorf("chat %q: %w", chat, ErrNotFound)
	}
	var queued bool
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		queued = false
		now := s.clock()
		var n, open int64
		if err := tx.Model(&Action{}).Where("chat_key = ? AND kind = ? AND member_id = 0", chat, ActionAuditJoin).Count(&n).Error; err != nil {
			return fmt.Errorf("count audit joins: %w", err)
		}
		if err := tx.Model(&Action{}).Where("chat_key = ? AND kind IN ? AND member_id = 0 AND status IN ?", chat,
			[]string{ActionAuditJoin, ActionAuditPromote}, []string{ActionPending, ActionRunning}).Count(&open).Error; err != nil {
			return fmt.Errorf("count audit joins: %w", err)
		}
		if open > 0 {
			return nil
		}
		var err error
		queued, err = s.insertFresh(tx, "actions", "idem_key", "kind, member_id, member_ext, chat_key, state_version, reason, status, attempts, not_before, last_error, created_at, updated_at, payload",
			fmt.Sprintf("%s/%s/%d", ActionAuditJoin, chat, n), ActionAuditJoin, 0, "", chat, 0, "/audit on", ActionPending, 0, now, "", now, now, link)
		if err != nil {
			return fmt.Errorf("queue audit join: %w", err)
		}
		if !queued {
			return nil
		}
		return tx.Create(&Event{At: now, Actor: actor, Kind: EventAuditAsked, ChatKey: &chat,
			Detail: "audits asked: a userbot account joins with a one-use link and is made an admin that can only see the members"}).Error
	})
	return queued, err
}

// QueueAuditPromote queues the bot's promotion of the pool's account
// tgUserID, which joined chat's group for its audits.
func (s *Store) QueueAuditPromote(ctx context.Context, chat string, tgUserID int64) error {
	if c, _ := s.chatIndex(chat); c == nil {
		return fmt.Errorf("chat %q: %w", chat, ErrNotFound)
	}
	return s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		var n int64
		if err := tx.Model(&Action{}).Where("chat_key = ? AND kind = ? AND member_id = 0", chat, ActionAuditPromote).Count(&n).Error; err != nil {
			return fmt.Errorf("count promotions: %w", err)
		}
		_, err := s.insertFresh(tx, "actions", "idem_key", "kind, member_id, member_ext, chat_key, tg_user_id, state_version, reason, status, attempts, not_before, last_error, created_at, updated_at",
			fmt.Sprintf("%s/%s/u%d/%d", ActionAuditPromote, chat, tgUserID, n), ActionAuditPromote, 0, "", chat, tgUserID, 0, "the audit account joined", ActionPending, 0, now, "", now, now)
		if err != nil {
			return fmt.Errorf("queue promotion: %w", err)
		}
		return nil
	})
}

// SetAuditOn records that chat's group has a userbot account, tgUserID,
// that audits it, and queues its first audit.
func (s *Store) SetAuditOn(ctx context.Context, chat string, tgUserID int64, actor string) error {
	if c, _ := s.chatIndex(chat); c == nil {
		return fmt.Errorf("chat %q: %w", chat, ErrNotFound)
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		if err := tx.Model(&ChatRow{}).Where("chat_key = ?", chat).Updates(map[string]any{"audit_on": true, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("record audits on: %w", err)
		}
		return tx.Create(&Event{At: now, Actor: actor, Kind: EventAuditOn, ChatKey: &chat,
			Detail: fmt.Sprintf("Telegram user %d, an account of the userbot pool, joined and was made an admin that can see the members: audits list everyone inside", tgUserID)}).Error
	})
	if err != nil {
		return err
	}
	_, err = s.QueueChatAction(ctx, "audit", chat, "audits on")
	return err
}

// isPoolAccount reports whether a Telegram account is one of the userbot
// pool's: never a stranger.
func isPoolAccount(tx *gorm.DB, tgUserID int64) (bool, error) {
	var n int64
	if err := tx.Model(&Userbot{}).Where("tg_user_id = ?", tgUserID).Count(&n).Error; err != nil {
		return false, fmt.Errorf("load userbot accounts: %w", err)
	}
	return n > 0, nil
}
