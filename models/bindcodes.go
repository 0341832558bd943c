package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// BindCodeTTL is how long a bind code stays valid.
const BindCodeTTL = 15 * time.Minute

// Audit events of bind codes.
const (
	EventBindCodeIssued = "bindcode.issued" // a site admin issued a code for a chat
	EventBindCodeUsed   = "bindcode.used"   // someone spent a code in Telegram
)

// ErrBindCode means a bind code is unknown, used, expired or for another
// chat: the bot gives one answer for all of them.
var ErrBindCode = errors.New("bind code unknown, used or expired")

// BindCode is a freshly issued bind code: the only time the code itself is
// known; the store keeps its hash.
type BindCode struct {
	Chat      string
	Code      string
	ExpiresAt time.Time
}

// Command is what the holder sends in the group: /bind KEY CODE.
func (c BindCode) Command() string { return "/bind " + c.Chat + " " + c.Code }

// bindCode is a bind code as stored: only its hash.
type bindCode struct {
	Hash      []byte `gorm:"primaryKey"`
	ChatKey   string
	ExpiresAt time.Time
	UsedAt    *time.Time
	UsedBy    *int64
	CreatedBy string
	CreatedAt time.Time
}

func (bindCode) TableName() string { return "bind_codes" }

// bindCodeAlphabet writes codes in lower-case base32 without padding: easy
// to read out, and a Telegram command argument as it is.
var bindCodeAlphabet = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// hashBindCode is what the store keeps of a code: 128 random bits need no
// key to make their hash safe to keep.
func hashBindCode(code string) []byte {
	h := sha256.Sum256([]byte("karmagate bind code\x00" + strings.ToLower(strings.TrimSpace(code))))
	return h[:]
}

// IssueBindCode makes a one-time code that lets its holder bind (or
// unbind) the chat key in Telegram within BindCodeTTL; actor (a site
// admin: the dashboard, the API, the CLI) is recorded in the audit trail.
func (s *Store) IssueBindCode(ctx context.Context, key, actor string) (BindCode, error) {
	if c, _ := s.chatIndex(key); c == nil {
		return BindCode{}, fmt.Errorf("chat %q: %w", key, ErrNotFound)
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand)
	code := bindCodeAlphabet.EncodeToString(raw[:])
	now := s.clock()
	out := BindCode{Chat: key, Code: code, ExpiresAt: now.Add(BindCodeTTL)}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		row := bindCode{Hash: hashBindCode(code), ChatKey: key, ExpiresAt: out.ExpiresAt, CreatedBy: actor, CreatedAt: now}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("store bind code: %w", err)
		}
		return tx.Create(&Event{At: now, Actor: actor, Kind: EventBindCodeIssued, ChatKey: &key,
			Detail: fmt.Sprintf("bind code issued, valid until %s", out.ExpiresAt.UTC().Format(time.RFC3339))}).Error
	})
	if err != nil {
		return BindCode{}, err
	}
	return out, nil
}

// TakeBindCode spends a bind code for the chat key, for the Telegram user
// who sent it. The code is compared in constant time with the chat's live
// codes and spent by one conditional UPDATE, so of concurrent uses exactly
// one succeeds; every other use, and a code that is unknown, used, expired
// or another chat's, is ErrBindCode.
func (s *Store) TakeBindCode(ctx context.Context, key, code string, tgUserID int64) error {
	if code == "" {
		return ErrBindCode
	}
	now := s.clock()
	want := hashBindCode(code)
	var live []bindCode
	if err := s.db.gorm.WithContext(ctx).Where("chat_key = ? AND used_at IS NULL AND expires_at > ?", key, now).
		Find(&live).Error; err != nil {
		return fmt.Errorf("load bind codes: %w", err)
	}
	var found []byte
	for _, c := range live {
		if subtle.ConstantTimeCompare(c.Hash, want) == 1 {
			found = c.Hash
		}
	}
	if found == nil {
		return ErrBindCode
	}
	return s.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&bindCode{}).Where("hash = ? AND chat_key = ? AND used_at IS NULL AND expires_at > ?", found, key, now).
			Updates(map[string]any{"used_at": now, "used_by": tgUserID})
		if res.Error != nil {
			return fmt.Errorf("spend bind code: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return ErrBindCode
		}
		return tx.Create(&Event{At: now, Actor: fmt.Sprintf("bot:%d", tgUserID), Kind: EventBindCodeUsed, ChatKey: &key,
			Detail: fmt.Sprintf("bind code spent by Telegram user %d", tgUserID)}).Error
	})
}

// BindCodeSpent returns the chat a spent bind code was for and the
// Telegram user who spent it, or ErrBindCode: for an update handled again
// (its first handling spent the code, then could not answer) to tell its
// own earlier use from someone else's.
func (s *Store) BindCodeSpent(ctx context.Context, code string) (key string, usedBy int64, err error) {
	var row bindCode
	err = s.db.gorm.WithContext(ctx).Where("hash = ? AND used_at IS NOT NULL", hashBindCode(code)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && row.UsedBy == nil) {
		return "", 0, ErrBindCode
	}
	if err != nil {
		return "", 0, fmt.Errorf("load bind code: %w", err)
	}
	return row.ChatKey, *row.UsedBy, nil
}

// PruneBindCodes deletes bind codes that expired before cutoff.
func (s *Store) PruneBindCodes(ctx context.Context, cutoff time.Time) (int64, error) {
	res := s.db.gorm.WithContext(ctx).Where("expires_at < ?", cutoff.UTC()).Delete(&bindCode{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune bind codes: %w", res.Error)
	}
	return res.RowsAffected, nil
}
