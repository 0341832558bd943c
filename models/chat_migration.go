package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// EventChatMigrated records that Telegram upgraded a bound basic group to
// a supergroup and the chat followed it to the new id.
const EventChatMigrated = "chat.migrated"

// MigrateChat follows a basic group Telegram upgraded to a supergroup: the
// chat bound to fromID is bound to toID, everything else kept (members'
// states, dry run, who bound it); its join link is dropped (made again in
// the supergroup), and an audit event written. It returns the chat's key,
// and ErrNotFound when no chat is bound to fromID (none, or moved already:
// both service messages and every refused call report the move).
func (s *Store) MigrateChat(ctx context.Context, fromID, toID int64, actor string) (string, error) {
	var key string
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		var row ChatRow
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("tg_chat_id = ?", fromID).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("no chat bound to Telegram chat %d: %w", fromID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("load chat: %w", err)
		}
		key = row.ChatKey
		var taken int64
		if err := tx.Model(&ChatRow{}).Where("tg_chat_id = ?", toID).Count(&taken).Error; err != nil {
			return fmt.Errorf("look for a chat bound to %d: %w", toID, err)
		}
		if taken > 0 {
			return fmt.Errorf("the supergroup %d is bound to another chat already", toID)
		}
		if err := tx.Model(&ChatRow{}).Where("chat_key = ?", key).Updates(map[string]any{
			"tg_chat_id": toID, "join_link": nil, "updated_at": now,
		}).Error; err != nil {
			return fmt.Errorf("rebind chat: %w", err)
		}
		if err := wakeChat(tx, key, now); err != nil {
			return err
		}
		return tx.Create(&Event{At: now, Actor: actor, Kind: EventChatMigrated, ChatKey: &key,
			Detail: fmt.Sprintf("Telegram upgraded basic group %d to supergroup %d; the chat follows it, its state kept", fromID, toID)}).Error
	})
	if err != nil {
		return "", err
	}
	return key, nil
}
