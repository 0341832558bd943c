package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/karmagate/karmagate/linking"
)

// linkToken is a deep-link token as stored: only its hash.
type linkToken struct {
	Hash             []byte `gorm:"primaryKey"`
	MemberID         int64
	MemberExt        string
	ExpectTgUserID   *int64  `gorm:"column:expect_tg_user_id"`
	ExpectTgUsername *string `gorm:"column:expect_tg_username"`
	ExpiresAt        time.Time
	UsedAt           *time.Time
	UsedBy           *int64
	CreatedAt        time.Time
	ReplaceLink      bool `gorm:"column:replace_link"`
}

func (linkToken) TableName() string { return "link_tokens" }

// Tokens is the store's side of deep-link tokens (linking.TokenStore).
type Tokens struct{ s *Store }

// Tokens returns the deep-link token storage.
func (s *Store) Tokens() *Tokens { return &Tokens{s: s} }

var _ linking.TokenStore = (*Tokens)(nil)

// SaveToken stores a new token for an existing member.
func (t *Tokens) SaveToken(ctx context.Context, rec linking.TokenRecord) error {
	s := t.s
	return s.inTx(ctx, func(tx *gorm.DB) error {
		var m Member
		err := tx.Select("id").Where("external_id = ?", rec.MemberID).Take(&m).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("member %q: %w", rec.MemberID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("load member: %w", err)
		}
		row := linkToken{Hash: rec.Hash, MemberID: m.ID, MemberExt: rec.MemberID, ExpiresAt: rec.ExpiresAt.UTC(), CreatedAt: rec.CreatedAt.UTC(), ReplaceLink: rec.Replace}
		if rec.ExpectUserID != 0 {
			row.ExpectTgUserID = &rec.ExpectUserID
		}
		if rec.ExpectUsername != "" {
			row.ExpectTgUsername = &rec.ExpectUsername
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("store token: %w", err)
		}
		return nil
	})
}

// FindToken returns the token with this hash.
func (t *Tokens) FindToken(ctx context.Context, hash []byte) (linking.TokenRecord, bool, error) {
	var row linkToken
	err := t.s.db.gorm.WithContext(ctx).Where("hash = ?", hash).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return linking.TokenRecord{}, false, nil
	}
	if err != nil {
		return linking.TokenRecord{}, false, fmt.Errorf("load token: %w", err)
	}
	rec := linking.TokenRecord{Hash: row.Hash, MemberID: row.MemberExt, CreatedAt: row.CreatedAt.UTC(), ExpiresAt: row.ExpiresAt.UTC(), Replace: row.ReplaceLink}
	if row.ExpectTgUserID != nil {
		rec.ExpectUserID = *row.ExpectTgUserID
	}
	if row.ExpectTgUsername != nil {
		rec.ExpectUsername = *row.ExpectTgUsername
	}
	if row.UsedAt != nil {
		rec.UsedAt = row.UsedAt.UTC()
	}
	if row.UsedBy != nil {
		rec.UsedBy = *row.UsedBy
	}
	return rec, true, nil
}

// TakeToken marks a token used in one conditional UPDATE: of concurrent
// callers exactly one takes it.
func (t *Tokens) TakeToken(ctx context.Context, hash []byte, usedBy int64, now time.Time) (bool, error) {
	now = now.UTC().Truncate(time.Microsecond)
	res := t.s.db.gorm.WithContext(ctx).Model(&linkToken{}).Where("hash = ? AND used_at IS NULL AND expires_at > ?", hash, now).
		Updates(map[string]any{"used_at": now, "used_by": usedBy})
	if res.Error != nil {
		return false, fmt.Errorf("take token: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// PruneTokens deletes tokens that expired before cutoff and Login Widget
// replay records past their use.
func (t *Tokens) PruneTokens(ctx context.Context, cutoff time.Time) (int64, error) {
	g := t.s.db.gorm.WithContext(ctx)
	res := g.Where("expires_at < ?", cutoff.UTC()).Delete(&linkToken{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune tokens: %w", res.Error)
	}
	res2 := g.Where("expires_at < ?", t.s.clock()).Delete(&widgetLogin{})
	if res2.Error != nil {
		return res.RowsAffected, fmt.Errorf("prune widget logins: %w", res2.Error)
	}
	return res.RowsAffected + res2.RowsAffected, nil
}

type widgetLogin struct {
	Hash      string `gorm:"primaryKey"`
	ExpiresAt time.Time
}

func (widgetLogin) TableName() string { return "widget_logins" }

var _ linking.WidgetReplayStore = (*Tokens)(nil)

// MarkWidgetUsed records a Login Widget payload's hash until it could no
// longer be accepted anyway; fresh is false for a replay.
func (t *Tokens) MarkWidgetUsed(ctx context.Context, hash string, until time.Time) (bool, error) {
	s := t.s
	var fresh bool
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var err error
		fresh, err = s.insertFresh(tx, "widget_logins", "hash", "expires_at", hash, until.UTC())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record widget login: %w", err)
	}
	return fresh, nil
}
