package models

import (
	"context"
	"fmt"
	"time"
)

// Groups a userbot account creates for gated chats.

// UserbotGroup is one attempt of an account to create a gated chat's group.
type UserbotGroup struct {
	ID         int64 `gorm:"primaryKey"`
	UserbotID  int64
	ChatKey    string
	Title      string
	StartedAt  time.Time
	ChannelID  *int64
	AccessHash *int64
	DoneAt     *time.Time
}

// TableName is the userbot_groups table.
func (UserbotGroup) TableName() string { return "userbot_groups" }

// BeginGroup records that an account is about to create a chat's group.
func (u *Userbots) BeginGroup(ctx context.Context, id int64, chat, title string) (*UserbotGroup, error) {
	g := UserbotGroup{UserbotID: id, ChatKey: chat, Title: title, StartedAt: u.clock()}
	if err := u.db.gorm.WithContext(ctx).Create(&g).Error; err != nil {
		return nil, fmt.Errorf("record group creation: %w", err)
	}
	return &g, nil
}

// FinishGroup records the channel an attempt created.
func (u *Userbots) FinishGroup(ctx context.Context, groupID, channelID, accessHash int64) error {
	err := u.db.gorm.WithContext(ctx).Model(&UserbotGroup{}).Where("id = ?", groupID).Updates(map[string]any{
		"channel_id": channelID, "access_hash": accessHash, "done_at": u.clock(),
	}).Error
	if err != nil {
		return fmt.Errorf("record created group: %w", err)
	}
	return nil
}

// AbandonGroup forgets an attempt that certainly created nothing.
func (u *Userbots) AbandonGroup(ctx context.Context, groupID int64) error {
	if err := u.db.gorm.WithContext(ctx).Where("id = ? AND channel_id IS NULL", groupID).Delete(&UserbotGroup{}).Error; err != nil {
		return fmt.Errorf("forget group attempt: %w", err)
	}
	return nil
}

// Groups returns a chat's creation attempts, oldest first.
func (u *Userbots) Groups(ctx context.Context, chat string) ([]UserbotGroup, error) {
	var out []UserbotGroup
	if err := u.db.read.WithContext(ctx).Where("chat_key = ?", chat).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("load group attempts: %w", err)
	}
	return out, nil
}

// CreatedSince counts the groups each account began to create since t.
func (u *Userbots) CreatedSince(ctx context.Context, since time.Time) (map[int64]int, error) {
	var rows []struct {
		UserbotID int64
		N         int
	}
	err := u.db.read.WithContext(ctx).Model(&UserbotGroup{}).Select("userbot_id, COUNT(*) AS n").
		Where("started_at >= ?", since.UTC()).Group("userbot_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count created groups: %w", err)
	}
	out := map[int64]int{}
	for _, r := range rows {
		out[r.UserbotID] = r.N
	}
	return out, nil
}
