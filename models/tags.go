package models

import (
	"context"
	"fmt"
)

// Member tags: the tag the bot set for a member in a chat.

// SetTag records the member tag the bot set for a member in a chat.
func (s *Store) SetTag(ctx context.Context, memberID int64, chat, tag string) error {
	err := s.db.gorm.WithContext(ctx).Model(&ChatState{}).Where("member_id = ? AND chat_key = ?", memberID, chat).Update("tag", tag).Error
	if err != nil {
		return fmt.Errorf("record tag: %w", err)
	}
	return nil
}

// Tagged is a member inside a chat, with what their tag is made from and
// the tag the bot last set.
type Tagged struct {
	MemberID  int64
	TgUserID  int64 `gorm:"column:tg_user_id"`
	Karma     int64
	GroupList string
	Name      *string
	Tag       *string
}

// InChat lists the linked members Telegram says are in a chat, with their
// karma, groups and current tag: one query, for keeping tags current.
func (s *Store) InChat(ctx context.Context, chat string) ([]Tagged, error) {
	var out []Tagged
	err := s.db.read.WithContext(ctx).Table("chat_states AS cs").
		Select("m.id AS member_id, m.tg_user_id, m.karma, m.group_list, m.name, cs.tag").
		Joins("JOIN members AS m ON m.id = cs.member_id").
		Where("cs.chat_key = ? AND cs.in_chat = ? AND m.tg_user_id IS NOT NULL", chat, true).
		Order("m.id").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list members in %s: %w", chat, err)
	}
	return out, nil
}
