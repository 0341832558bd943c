package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Relink statuses.
const (
	RelinkPending   = "pending"   // waiting for the old account's answer
	RelinkConfirmed = "confirmed" // the old account confirmed: the member moved
	RelinkRefused   = "refused"   // the old account refused: nothing moved
	RelinkExpired   = "expired"   // answered after its lifetime: nothing moved
	RelinkVoid      = "void"      // the member's link changed meanwhile (a forced move, an unlink)
)

// Event kinds of relinking.
const (
	EventRelinkAsked   = "member.relink_asked"
	EventRelinkRefused = "member.relink_refused"
)

// Relink is a request to move a linked member to another Telegram account,
// waiting for the account linked now to confirm it (table relinks).
type Relink struct {
	ID          int64 `gorm:"primaryKey"`
	MemberID    int64
	MemberExt   string
	OldTgUserID int64   `gorm:"column:old_tg_user_id"`
	NewTgUserID int64   `gorm:"column:new_tg_user_id"`
	NewUsername *string `gorm:"column:new_username"`
	NewLanguage *string `gorm:"column:new_language"`
	NewName     string  `gorm:"column:new_name"`
	Via         string  // token, widget, contact
	Status      string
	ExpiresAt   time.Time
	CreatedAt   time.Time
	DecidedAt   *time.Time
}

// TableName is the relinks table.
func (Relink) TableName() string { return "relinks" }

// NewUser is the account the request would link.
func (r *Relink) NewUser() TelegramUser {
	u := TelegramUser{ID: r.NewTgUserID}
	if r.NewUsername != nil {
		u.Username = *r.NewUsername
	}
	if r.NewLanguage != nil {
		u.LanguageCode = *r.NewLanguage
	}
	return u
}

// LinkRequest is a link to make: who asks, through what, and whether the
// website vouched for moving the member without the old account.
type LinkRequest struct {
	User TelegramUser
	Name string // the account's name, to tell the old account who asks
	Via  string // token, widget, contact
	// Replace moves a member linked to another account at once (a deep
	// link issued with {"replace": true}); otherwise that waits for the
	// old account.
	Replace bool
	// Expires ends a request to the old account; its answer after that
	// moves nothing.
	Expires time.Time
}

// LinkOrAsk links the member to req.User as RelinkTelegram does, unless
// the member is linked to another Telegram account and req.Replace is
// false: then nothing moves, and the result's Pending names the request
// the old account must confirm (one per member and new account: asking
// again returns the pending one). A link that moves the member closes
// every request pending for it.
func (s *Store) LinkOrAsk(ctx context.Context, id string, req LinkRequest, actor string) (LinkResult, error) {
	var res LinkResult
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		m, err := lockMember(tx, id)
		if err != nil {
			return err
		}
		if m.TgUserID == nil || *m.TgUserID == req.User.ID || req.Replace {
			if res, err = s.relinkLocked(tx, m, req.User, actor); err != nil {
				return err
			}
			if res.Unchanged {
				return nil
			}
			return s.voidRelinks(tx, m.ID)
		}
		res = LinkResult{}
		now := s.clock()
		var r Relink
		err = tx.Where("member_id = ? AND new_tg_user_id = ? AND old_tg_user_id = ? AND status = ? AND expires_at > ?",
			m.ID, req.User.ID, *m.TgUserID, RelinkPending, now).Order("id DESC").Take(&r).Error
		switch {
		case err == nil:
		case errors.Is(err, gorm.ErrRecordNotFound):
			r = Relink{
				MemberID: m.ID, MemberExt: m.ExternalID, OldTgUserID: *m.TgUserID, NewTgUserID: req.User.ID,
				NewUsername: blankToNil(&req.User.Username), NewLanguage: blankToNil(&req.User.LanguageCode),
				NewName: Truncate(req.Name, 200), Via: req.Via, Status: RelinkPending,
				ExpiresAt: req.Expires.UTC(), CreatedAt: now,
			}
			if err := tx.Create(&r).Error; err != nil {
				return fmt.Errorf("record relink request: %w", err)
			}
			p := s.newPlanner(tx, actor)
			p.event(EventRelinkAsked, m, "", fmt.Sprintf("Telegram user %d asks to take over the link from %d (%s); waiting for %d to confirm", req.User.ID, *m.TgUserID, req.Via, *m.TgUserID))
			if err := p.flush(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("find relink request: %w", err)
		}
		chats, err := s.memberStates(tx, m)
		if err != nil {
			return err
		}
		res.View, res.Pending = &MemberView{Member: m, Chats: chats}, &r
		return nil
	})
	return res, err
}

// voidRelinks closes the member's pending requests: its link changed.
func (s *Store) voidRelinks(tx *gorm.DB, memberID int64) error {
	err := tx.Model(&Relink{}).Where("member_id = ? AND status = ?", memberID, RelinkPending).
		Updates(map[string]any{"status": RelinkVoid, "decided_at": s.clock()}).Error
	if err != nil {
		return fmt.Errorf("close relink requests: %w", err)
	}
	return nil
}

// Outcomes of DecideRelink.
const (
	RelinkNotYours = "not_yours" // pressed by another account than the old one: nothing changes
	RelinkClosed   = "closed"    // decided before, or void: nothing changes
)

// RelinkDecision says what DecideRelink did: Outcome is RelinkConfirmed,
// RelinkRefused, RelinkExpired, RelinkNotYours or RelinkClosed; Link is
// the move when confirmed.
type RelinkDecision struct {
	Relink  Relink
	Outcome string
	Link    LinkResult
}

// DecideRelink records the answer of Telegram user by to relink request
// id: only the account linked to the member when it was asked decides,
// once, before the request expires; a confirmation moves the member as
// RelinkTelegram does, in the same transaction.
func (s *Store) DecideRelink(ctx context.Context, id, by int64, confirm bool, actor string) (RelinkDecision, error) {
	var d RelinkDecision
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		d = RelinkDecision{}
		r, err := takeOne[Relink](tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id), fmt.Sprintf("relink request %d", id))
		if err != nil {
			return err
		}
		d.Relink = *r
		now := s.clock()
		settle := func(status string) error {
			d.Relink.Status, d.Relink.DecidedAt = status, &now
			if err := tx.Model(&Relink{}).Where("id = ?", r.ID).Updates(map[string]any{"status": status, "decided_at": now}).Error; err != nil {
				return fmt.Errorf("record relink answer: %w", err)
			}
			return nil
		}
		switch {
		case by != r.OldTgUserID:
			d.Outcome = RelinkNotYours
			return nil
		case r.Status != RelinkPending:
			d.Outcome = RelinkClosed
			return nil
		case !now.Before(r.ExpiresAt):
			d.Outcome = RelinkExpired
			return settle(RelinkExpired)
		}
		m, err := lockMember(tx, r.MemberExt)
		if errors.Is(err, ErrNotFound) {
			d.Outcome = RelinkClosed
			return settle(RelinkVoid)
		}
		if err != nil {
			return err
		}
		if m.ID != r.MemberID || m.TgUserID == nil || *m.TgUserID != r.OldTgUserID {
			d.Outcome = RelinkClosed // deleted, unlinked or moved meanwhile
			return settle(RelinkVoid)
		}
		if !confirm {
			d.Outcome = RelinkRefused
			p := s.newPlanner(tx, actor)
			p.event(EventRelinkRefused, m, "", fmt.Sprintf("Telegram user %d refused to hand the link to %d", r.OldTgUserID, r.NewTgUserID))
			if err := p.flush(); err != nil {
				return err
			}
			return settle(RelinkRefused)
		}
		if d.Link, err = s.relinkLocked(tx, m, r.NewUser(), actor); err != nil {
			return err
		}
		if err := s.voidRelinks(tx, m.ID); err != nil {
			return err
		}
		d.Outcome = RelinkConfirmed
		return settle(RelinkConfirmed)
	})
	return d, err
}

// TelegramLinked reports whether a Telegram account is linked to a member.
func (s *Store) TelegramLinked(ctx context.Context, tgUserID int64) (bool, error) {
	var n int64
	if err := s.db.read.WithContext(ctx).Model(&Member{}).Where("tg_user_id = ?", tgUserID).Limit(1).Count(&n).Error; err != nil {
		return false, fmt.Errorf("check link of %d: %w", tgUserID, err)
	}
	return n > 0, nil
}
