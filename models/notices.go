package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

// Notice statuses: a notice is recorded as sending before the message goes
// out, so that a crash in between never sends it twice.
const (
	NoticeSending = "sending" // begun; outcome unknown until finished
	NoticeSent    = "sent"
	NoticeFailed  = "failed" // Telegram refused it (blocked the bot, …): not sent
)

// Notice is one message the bot sends a person, at most once per key.
type Notice struct {
	IdemKey   string `gorm:"primaryKey"`
	TgUserID  int64  `gorm:"column:tg_user_id"`
	MemberExt *string
	Kind      string
	Status    string
	Detail    string
	CreatedAt time.Time
	DoneAt    *time.Time
}

// TableName is the notifications table.
func (Notice) TableName() string { return "notifications" }

// BeginNotice records that the message n.IdemKey names is about to be
// sent. It returns false when it was begun before (sent, refused, or in an
// unknown state after a crash): the caller must not send it again. A
// message is thus sent at most once; one whose send was cut short by a
// crash is not sent at all, which for a notification beats sending it twice.
func (s *Store) BeginNotice(ctx context.Context, n Notice) (bool, error) {
	now := s.clock()
	n.Status, n.CreatedAt, n.DoneAt, n.Detail = NoticeSending, now, nil, Truncate(n.Detail, 1000)
	var fresh bool
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var err error
		fresh, err = s.insertFresh(tx, "notifications", "idem_key", "tg_user_id, member_ext, kind, status, detail, created_at",
			n.IdemKey, n.TgUserID, n.MemberExt, n.Kind, n.Status, n.Detail, n.CreatedAt)
		if err != nil {
			return fmt.Errorf("record notice: %w", err)
		}
		return nil
	})
	return fresh, err
}

// FinishNotice records how a begun notice ended: NoticeSent, or
// NoticeFailed with why. A notice that certainly did not go out and may be
// tried again (a 429) should be forgotten with ForgetNotice instead.
func (s *Store) FinishNotice(ctx context.Context, key, status, detail string) error {
	now := s.clock()
	err := s.db.gorm.WithContext(ctx).Model(&Notice{}).Where("idem_key = ?", key).
		Updates(map[string]any{"status": status, "detail": Truncate(detail, 1000), "done_at": now}).Error
	if err != nil {
		return fmt.Errorf("finish notice: %w", err)
	}
	return nil
}

// ForgetNotice removes a begun notice that certainly was not sent, so that
// a later attempt may send it.
func (s *Store) ForgetNotice(ctx context.Context, key string) error {
	if err := s.db.gorm.WithContext(ctx).Where("idem_key = ? AND status = ?", key, NoticeSending).Delete(&Notice{}).Error; err != nil {
		return fmt.Errorf("forget notice: %w", err)
	}
	return nil
}

// Notices lists the notices sent or begun for a Telegram user, oldest
// first (all users when tgUserID is 0): for tests, the dashboard and audits.
func (s *Store) Notices(ctx context.Context, tgUserID int64) ([]Notice, error) {
	q := s.db.read.WithContext(ctx).Order("created_at, idem_key")
	if tgUserID != 0 {
		q = q.Where("tg_user_id = ?", tgUserID)
	}
	var out []Notice
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list notices: %w", err)
	}
	return out, nil
}

// LastReplyTo returns when the bot last began answering a Telegram user
// in their private chat (a notice of kind "reply"); ok is false when it
// never did.
func (s *Store) LastReplyTo(ctx context.Context, tgUserID int64) (at time.Time, ok bool, err error) {
	var n []Notice
	err = s.db.read.WithContext(ctx).Select("created_at").Where("tg_user_id = ? AND kind = ?", tgUserID, "reply").
		Order("created_at DESC").Limit(1).Find(&n).Error
	if err != nil {
		return time.Time{}, false, fmt.Errorf("last reply to %d: %w", tgUserID, err)
	}
	if len(n) == 0 {
		return time.Time{}, false, nil
	}
	return n[0].CreatedAt, true, nil
}

// insertFresh inserts a row of key and cols (args in that order) unless
// one with that key exists, and reports whether it inserted. SQLite says so
// through ON CONFLICT DO NOTHING; on MySQL, whose affected-row count cannot
// tell a no-op upsert from an insert under CLIENT_FOUND_ROWS, a plain INSERT
// meets the duplicate key (which does not abort the transaction there).
func (s *Store) insertFresh(tx *gorm.DB, table, key, cols string, args ...any) (bool, error) {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")
	q := fmt.Sprintf("INSERT INTO %s (%s, %s) VALUES (%s)", table, key, cols, marks)
	if s.db.dialect == SQLite {
		res := tx.Exec(q+" ON CONFLICT ("+key+") DO NOTHING", args...)
		return res.RowsAffected == 1, res.Error
	}
	err := tx.Exec(q, args...).Error
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) && me.Number == 1062 {
		return false, nil
	}
	return err == nil, err
}

// ActionNotify is the outbox kind of a message queued by QueueNotice.
const ActionNotify = "notify"

// NoticePayload is what a notify action carries.
type NoticePayload struct {
	Key  string `json:"key"`  // the notice's idempotency key
	Kind string `json:"kind"` // e.g. join_declined
	Text string `json:"text"`
	// Buttons are inline buttons under the message, in rows.
	Buttons [][]NoticeButton `json:"buttons,omitempty"`
}

// NoticeButton is an inline button: its label and its callback data.
type NoticeButton struct {
	Text string `json:"text"`
	Data string `json:"data"`
}

// QueueNotice queues a message to a Telegram user in the outbox, so that
// the work that decided it (answering a join request within Telegram's
// deadline, say) need not wait for the message's turn under Telegram's
// limits. The notice key makes queueing it twice a no-op.
func (s *Store) QueueNotice(ctx context.Context, chat string, tgUserID int64, memberExt string, p NoticePayload) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode notice: %w", err)
	}
	now := s.clock()
	return s.inTx(ctx, func(tx *gorm.DB) error {
		_, err := s.insertFresh(tx, "actions", "idem_key", "kind, member_ext, chat_key, tg_user_id, state_version, reason, status, attempts, not_before, last_error, created_at, updated_at, payload",
			"n/"+p.Key, ActionNotify, memberExt, chat, tgUserID, 0, p.Kind, ActionPending, 0, now, "", now, now, string(data))
		if err != nil {
			return fmt.Errorf("queue notice: %w", err)
		}
		return nil
	})
}
