package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Personal links: the one-person invite links made for a member and a chat.

// MemberLink is a personal invite link (member_limit=1) made for one member
// and chat.
type MemberLink struct {
	MemberID  int64  `gorm:"primaryKey;autoIncrement:false"`
	ChatKey   string `gorm:"primaryKey"`
	Link      string
	ExpiresAt time.Time
	CreatedAt time.Time
}

// TableName is the member_links table.
func (MemberLink) TableName() string { return "member_links" }

// SaveMemberLink records a member's personal link for a chat, replacing an
// older one.
func (s *Store) SaveMemberLink(ctx context.Context, l MemberLink) error {
	l.CreatedAt = s.clock()
	err := s.db.gorm.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&l).Error
	if err != nil {
		return fmt.Errorf("record member link: %w", err)
	}
	return nil
}

// MemberLinkFor returns a member's personal link for a chat.
func (s *Store) MemberLinkFor(ctx context.Context, memberID int64, chat string) (*MemberLink, error) {
	return takeOne[MemberLink](s.db.read.WithContext(ctx).Where("member_id = ? AND chat_key = ?", memberID, chat), "member link")
}

// DeleteMemberLink forgets a member's personal link for a chat (revoked).
func (s *Store) DeleteMemberLink(ctx context.Context, memberID int64, chat string) error {
	if err := s.db.gorm.WithContext(ctx).Where("member_id = ? AND chat_key = ?", memberID, chat).Delete(&MemberLink{}).Error; err != nil {
		return fmt.Errorf("forget member link: %w", err)
	}
	return nil
}

// ForgetLink forgets a personal link by its URL (it was used or revoked).
func (s *Store) ForgetLink(ctx context.Context, chat, link string) error {
	if err := s.db.gorm.WithContext(ctx).Where("chat_key = ? AND link = ?", chat, link).Delete(&MemberLink{}).Error; err != nil {
		return fmt.Errorf("forget link: %w", err)
	}
	return nil
}

// MemberLinks returns a member's personal links, by chat key.
func (s *Store) MemberLinks(ctx context.Context, memberID int64) (map[string]MemberLink, error) {
	var rows []MemberLink
	if err := s.db.read.WithContext(ctx).Where("member_id = ?", memberID).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load member links: %w", err)
	}
	out := make(map[string]MemberLink, len(rows))
	for _, r := range rows {
		out[r.ChatKey] = r
	}
	return out, nil
}
