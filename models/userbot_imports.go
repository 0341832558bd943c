package models

import (
	"context"
	"fmt"
	"time"
)

// Phone numbers a userbot account imported as contacts to look them up,
// counted per account over the last days.

// userbotImport is one phone an account imported as a contact (lookups).
type userbotImport struct {
	ID        int64 `gorm:"primaryKey"`
	UserbotID int64
	At        time.Time
}

func (userbotImport) TableName() string { return "userbot_imports" }

// RecordPhoneImport records that an account imported one phone to look it
// up; imports older than two days are dropped on the way.
func (u *Userbots) RecordPhoneImport(ctx context.Context, id int64) error {
	now := u.clock().UTC().Truncate(time.Microsecond)
	g := u.db.gorm.WithContext(ctx)
	if err := g.Create(&userbotImport{UserbotID: id, At: now}).Error; err != nil {
		return fmt.Errorf("record phone import: %w", err)
	}
	if err := g.Where("at < ?", now.Add(-48*time.Hour)).Delete(&userbotImport{}).Error; err != nil {
		return fmt.Errorf("drop old phone imports: %w", err)
	}
	return nil
}

// PhoneImportsSince counts, per account, the phones imported since.
func (u *Userbots) PhoneImportsSince(ctx context.Context, since time.Time) (map[int64]int, error) {
	var rows []struct {
		UserbotID int64
		N         int
	}
	err := u.db.read.WithContext(ctx).Model(&userbotImport{}).Select("userbot_id, COUNT(*) AS n").
		Where("at >= ?", since.UTC().Truncate(time.Microsecond)).Group("userbot_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count phone imports: %w", err)
	}
	out := map[int64]int{}
	for _, r := range rows {
		out[r.UserbotID] = r.N
	}
	return out, nil
}
