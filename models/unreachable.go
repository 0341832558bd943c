package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Why the bot cannot message a person, from Telegram's answer to a message
// (issue 14 #4).
const (
	// UnreachableBlocked: 403 "bot was blocked by the user".
	UnreachableBlocked = "blocked"
	// UnreachableNotStarted: 403 "bot can't initiate conversation with a
	// user": the bot has seen them (a group, a join request older than
	// the 5 minutes Telegram allows) but they never started it.
	UnreachableNotStarted = "not_started"
	// UnreachableUnknown: 400 "chat not found" for a private chat: the bot
	// has never seen them at all.
	UnreachableUnknown = "unknown"
	// UnreachableGone: the account is deactivated or deleted.
	UnreachableGone = "gone"
)

// UnreachableUser is a person the bot found it cannot message: they are not
// messaged again until they write to the bot.
type UnreachableUser struct {
	TgUserID int64 `gorm:"column:tg_user_id;primaryKey;autoIncrement:false"`
	Reason   string
	Detail   string
	Since    time.Time
}

// TableName is the unreachable_users table.
func (UnreachableUser) TableName() string { return "unreachable_users" }

// MarkUnreachable records that the bot cannot message tgUserID, and why;
// the member linked to that account, if any, shows it too
// (members.unreachable_at). A person marked already keeps their first date.
func (s *Store) MarkUnreachable(ctx context.Context, tgUserID int64, reason, detail string) error {
	now := s.clock()
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		row := UnreachableUser{TgUserID: tgUserID, Reason: reason, Detail: Truncate(detail, 1000), Since: now}
		if err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "tg_user_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"reason", "detail"}),
		}).Create(&row).Error; err != nil {
			return err
		}
		return tx.Model(&Member{}).Where("tg_user_id = ? AND unreachable_at IS NULL", tgUserID).Update("unreachable_at", now).Error
	})
	if err != nil {
		return fmt.Errorf("record an unreachable person: %w", err)
	}
	return nil
}

// UnreachableFor says whether the bot found it cannot message tgUserID
// (and they have not written to it since); ErrNotFound when it can.
func (s *Store) UnreachableFor(ctx context.Context, tgUserID int64) (*UnreachableUser, error) {
	var rows []UnreachableUser
	if err := s.db.gorm.WithContext(ctx).Where("tg_user_id = ?", tgUserID).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read reachability: %w", err)
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return &rows[0], nil
}

// ClearUnreachable records that tgUserID wrote to the bot: it may message
// them again. It reports whether they were marked; it writes only then.
func (s *Store) ClearUnreachable(ctx context.Context, tgUserID int64) (bool, error) {
	if _, err := s.UnreachableFor(ctx, tgUserID); errors.Is(err, ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	var cleared bool
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("tg_user_id = ?", tgUserID).Delete(&UnreachableUser{})
		if res.Error != nil {
			return res.Error
		}
		cleared = res.RowsAffected > 0
		return tx.Model(&Member{}).Where("tg_user_id = ?", tgUserID).Update("unreachable_at", nil).Error
	})
	if err != nil {
		return false, fmt.Errorf("record a reachable person: %w", err)
	}
	return cleared, nil
}
