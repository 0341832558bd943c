package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Flood waits of a userbot account, per method.

// UserbotWait is a FLOOD_WAIT: the account may not call Method before Until.
type UserbotWait struct {
	UserbotID int64  `gorm:"primaryKey;autoIncrement:false"`
	Method    string `gorm:"primaryKey"`
	Until     time.Time
}

// TableName is the userbot_waits table.
func (UserbotWait) TableName() string { return "userbot_waits" }

// SetWait records a FLOOD_WAIT: the account may not call method before
// until.
func (u *Userbots) SetWait(ctx context.Context, id int64, method string, until time.Time) error {
	w := UserbotWait{UserbotID: id, Method: method, Until: until.UTC().Truncate(time.Microsecond)}
	err := u.db.gorm.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "userbot_id"}, {Name: "method"}}, DoUpdates: clause.Assignments(map[string]any{"until": w.Until}),
	}).Create(&w).Error
	if err != nil {
		return fmt.Errorf("record flood wait: %w", err)
	}
	return nil
}

// Waits returns the flood waits not yet over, of one account (every
// account when id is 0).
func (u *Userbots) Waits(ctx context.Context, id int64) ([]UserbotWait, error) {
	q := u.db.read.WithContext(ctx).Where("until > ?", u.clock()).Order("userbot_id, method")
	if id != 0 {
		q = q.Where("userbot_id = ?", id)
	}
	var out []UserbotWait
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("load flood waits: %w", err)
	}
	return out, nil
}
