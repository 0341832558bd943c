package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/karmagate/karmagate/gate"
)

// Memberships: what Telegram reports of who is in a gated chat, recorded
// once per update, and strangers met there.

// Membership says what recording a Telegram membership change did.
type Membership struct {
	Chat   string      // the gated chat's key
	Member *MemberView // the member the account is linked to; nil for a stranger
	// Queued is the action queued for a stranger inside a gated chat
	// (remove or flag, by the chat's on_violation); empty otherwise.
	Queued gate.ActionKind
	// Repeat: the update was applied before (RecordMembershipOnce), and
	// nothing was recorded now.
	Repeat bool
}

// RecordMembership records that Telegram user tgUserID is (in) or is not in
// the Telegram chat tgChatID, from a chat_member update or a participant
// list. A linked member is re-planned. A stranger (no member is linked to
// the account) inside a gated chat is removed or flagged, as the chat's
// on_violation says; the caller must not pass the chat's admins. An unknown
// chat is ErrNotFound.
func (s *Store) RecordMembership(ctx context.Context, tgChatID, tgUserID int64, in bool, actor string) (Membership, error) {
	return s.RecordMembershipOnce(ctx, 0, tgChatID, tgUserID, in, actor)
}

// RecordMembershipOnce is RecordMembership for the stored update updateID
// (0: none), applied at most once: the update is marked applied in the same
// transaction, and an update already applied changes nothing. A processor
// killed after the change committed but before the update was marked done
// hands it, once its lease runs out, to another that must not record the
// join (or leave) a second time: by then a removal may have followed it.
func (s *Store) RecordMembershipOnce(ctx context.Context, updateID, tgChatID, tgUserID int64, in bool, actor string) (Membership, error) {
	row, err := s.ChatByTelegram(ctx, tgChatID)
	if err != nil {
		return Membership{}, err
	}
	out := Membership{Chat: row.ChatKey}
	c, _ := s.chatIndex(row.ChatKey)
	if c == nil {
		return out, fmt.Errorf("chat %q is no longer in the rules: %w", row.ChatKey, ErrNotFound)
	}
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		out.Member, out.Queued = nil, gate.ActionNone
		if updateID != 0 {
			res := tx.Model(&Update{}).Where("update_id = ? AND applied_at IS NULL", updateID).Update("applied_at", s.clock())
			if res.Error != nil {
				return fmt.Errorf("mark update %d applied: %w", updateID, res.Error)
			}
			if res.RowsAffected == 0 {
				var n int64
				if err := tx.Model(&Update{}).Where("update_id = ?", updateID).Count(&n).Error; err != nil {
					return fmt.Errorf("find update %d: %w", updateID, err)
				}
				if n > 0 {
					out.Repeat = true
					return nil // applied before: nothing new
				}
			}
		}
		var m Member
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("tg_user_id = ?", tgUserID).Take(&m).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			if !in {
				return forgetStranger(tx, tgUserID, row.ChatKey)
			}
			return s.stranger(tx, c, tgUserID, actor, &out)
		case err != nil:
			return fmt.Errorf("load member: %w", err)
		}
		p := s.newPlanner(tx, actor)
		p.keep = true
		var cur ChatState
		err = tx.Where("member_id = ? AND chat_key = ?", m.ID, row.ChatKey).Take(&cur).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("load chat state: %w", err)
		}
		if err == nil && cur.InChat == in {
			chats, err := s.memberStates(tx, &m)
			out.Member = &MemberView{Member: &m, Chats: chats}
			return err // nothing new
		}
		if err := markInChat(p, &m, row.ChatKey, in); err != nil {
			return err
		}
		verb := "left"
		if in {
			verb = "joined"
		}
		p.event(EventMembership, &m, row.ChatKey, "Telegram: "+verb)
		membershipCallback(p, &m, row.ChatKey, cur.InChat, in)
		if err := p.plan([]*Member{&m}, false); err != nil {
			return err
		}
		out.Member = &MemberView{Member: &m, Chats: p.final[m.ID]}
		return p.flush()
	})
	return out, err
}

// stranger queues what happens to an account no member is linked to that
// is inside a gated chat.
func (s *Store) stranger(tx *gorm.DB, c *gate.Chat, tgUserID int64, actor string, out *Membership) error {
	if pool, err := isPoolAccount(tx, tgUserID); err != nil || pool {
		return err // the userbot pool's account, joining to audit (auditjoin.go)
	}
	now := s.clock()
	kind := gate.ActionRemove
	if c.OnViolation == gate.ViolationFlag {
		kind = gate.ActionFlag
	}
	reason := gate.Reason{Code: gate.ReasonStranger}.String()
	status, err := s.removalStatus(tx, c.Key, kind)
	if err != nil {
		return err
	}
	a := Action{
		IdemKey: fmt.Sprintf("t%d/%s/%s/%d", tgUserID, c.Key, kind, now.UnixNano()), Kind: string(kind),
		ChatKey: c.Key, TgUserID: &tgUserID, Reason: reason, Status: status,
		NotBefore: now, CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.Create(&a).Error; err != nil {
		return fmt.Errorf("queue %s for a stranger: %w", kind, err)
	}
	out.Queued = kind
	return tx.Create(&Event{At: now, Actor: actor, Kind: EventStranger, ChatKey: &c.Key,
		Detail: fmt.Sprintf("Telegram user %d is in the chat but linked to no member; queued %s", tgUserID, kind)}).Error
}
