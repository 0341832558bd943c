package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Why TakeOIDCLogin refuses a state.
var (
	ErrLoginUnknown = errors.New("no login was started with this state")
	ErrLoginUsed    = errors.New("this login was finished already")
	ErrLoginExpired = errors.New("this login took too long")
)

// EventPhoneVerified records the phone number Telegram vouched for a
// member's account (the ID token's phone_number claim).
const EventPhoneVerified = "member.phone_verified"

// oidcLogin is a login started with Telegram's OpenID Connect issuer and
// not yet finished (table oidc_logins): only a hash of its state is kept.
type oidcLogin struct {
	StateHash []byte `gorm:"primaryKey"`
	MemberExt string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

func (oidcLogin) TableName() string { return "oidc_logins" }

// telegramPhone is a phone number Telegram vouched for (table
// telegram_phones).
type telegramPhone struct {
	TgUserID   int64 `gorm:"column:tg_user_id;primaryKey"`
	Phone      string
	Via        string
	VerifiedAt time.Time
}

func (telegramPhone) TableName() string { return "telegram_phones" }

// StartOIDCLogin records a login for the member memberID under a hash of
// its state, valid for ttl; ErrNotFound when there is no such member.
// Logins that ended more than a day ago are deleted on the way.
func (s *Store) StartOIDCLogin(ctx context.Context, stateHash []byte, memberID string, ttl time.Duration) (time.Time, error) {
	now := s.clock()
	expires := now.Add(ttl)
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Member{}).Where("external_id = ?", memberID).Count(&n).Error; err != nil {
			return fmt.Errorf("find member: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("member %s: %w", memberID, ErrNotFound)
		}
		if err := tx.Where("expires_at < ?", now.Add(-24*time.Hour)).Delete(&oidcLogin{}).Error; err != nil {
			return fmt.Errorf("delete old logins: %w", err)
		}
		if err := tx.Create(&oidcLogin{StateHash: stateHash, MemberExt: memberID, CreatedAt: now, ExpiresAt: expires}).Error; err != nil {
			return fmt.Errorf("store login: %w", err)
		}
		return nil
	})
	return expires, err
}

// TakeOIDCLogin spends the login stored under stateHash and returns its
// member: by one conditional UPDATE, so of concurrent returns with one
// state exactly one gets it. A state never stored is ErrLoginUnknown, one
// spent before ErrLoginUsed, one past its time ErrLoginExpired.
func (s *Store) TakeOIDCLogin(ctx context.Context, stateHash []byte) (string, error) {
	now := s.clock()
	var row oidcLogin
	err := s.db.gorm.WithContext(ctx).Where("state_hash = ?", stateHash).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return "", ErrLoginUnknown
	case err != nil:
		return "", fmt.Errorf("load login: %w", err)
	case row.UsedAt != nil:
		return "", ErrLoginUsed
	case !row.ExpiresAt.After(now):
		return "", ErrLoginExpired
	}
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&oidcLogin{}).Where("state_hash = ? AND used_at IS NULL AND expires_at > ?", stateHash, now).Update("used_at", now)
		if res.Error != nil {
			return fmt.Errorf("spend login: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return ErrLoginUsed
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return row.MemberExt, nil
}

// SetVerifiedPhone records phone (E.164) as the phone Telegram vouched
// for the account tgUserID, through via ("oidc"), when the member
// memberID is linked to that account; an audit event says so. It changes
// nothing, and says so with ErrAlreadyLinked, when the member is linked to
// another account or none.
func (s *Store) SetVerifiedPhone(ctx context.Context, memberID string, tgUserID int64, phone, via string) error {
	if !phonePattern.MatchString(phone) {
		return inputErrorf("phone", "%q is not an E.164 number", Truncate(phone, 40))
	}
	return s.inTx(ctx, func(tx *gorm.DB) error {
		m, err := lockMember(tx, memberID)
		if err != nil {
			return err
		}
		if m.TgUserID == nil || *m.TgUserID != tgUserID {
			return fmt.Errorf("%s is not linked to Telegram user %d: %w", memberID, tgUserID, ErrAlreadyLinked)
		}
		now := s.clock()
		row := telegramPhone{TgUserID: tgUserID, Phone: phone, Via: via, VerifiedAt: now}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "tg_user_id"}}, UpdateAll: true}).Create(&row).Error; err != nil {
			return fmt.Errorf("store verified phone: %w", err)
		}
		ext := m.ExternalID
		return tx.Create(&Event{At: now, Actor: via, Kind: EventPhoneVerified, MemberExt: &ext,
			Detail: fmt.Sprintf("Telegram vouched for the phone of user %d (%s)", tgUserID, via)}).Error
	})
}

// VerifiedPhone is the phone Telegram vouched for the account tgUserID,
// and when; "" when none.
func (s *Store) VerifiedPhone(ctx context.Context, tgUserID int64) (string, time.Time, error) {
	var row telegramPhone
	err := s.db.read.WithContext(ctx).Where("tg_user_id = ?", tgUserID).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return "", time.Time{}, nil
	case err != nil:
		return "", time.Time{}, fmt.Errorf("load verified phone: %w", err)
	}
	return row.Phone, row.VerifiedAt, nil
}
