package models

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/karmagate/karmagate/gate"
)

// ActionCallback is the outbox kind of a callback to the website
// (KARMAGATE_CALLBACK_URL): a signed POST telling it what happened to one of
// its members.
const ActionCallback = "callback"

// Callback types: what happened to a member.
const (
	CallbackLinked   = "member.linked"   // a Telegram account was linked to the member
	CallbackUnlinked = "member.unlinked" // the member's Telegram account was unlinked
	CallbackJoined   = "member.joined"   // Telegram says the member is in a gated chat
	CallbackLeft     = "member.left"     // Telegram says the member left a gated chat
	CallbackWarned   = "member.warned"   // the bot told the member they are in grace
	CallbackRemoved  = "member.removed"  // the bot took the member out of a gated chat
	CallbackBound    = "chat.bound"      // a gated chat was bound to a Telegram group (or moved to another)
	CallbackUnbound  = "chat.unbound"    // a gated chat was released from its Telegram group
)

// Callback is the body of a callback to the website, as JSON. It is queued
// in the outbox in the transaction of the change it reports; Seq is filled
// in when it is sent.
type Callback struct {
	// ID names this event: a retried delivery carries the same ID, so the
	// website can drop one it has seen.
	ID   string `json:"id"`
	Type string `json:"type"`
	// At is when karmagate recorded what happened.
	At time.Time `json:"at"`
	// Seq is the outbox row's id: it grows with each event karmagate
	// records for a member, so the website can drop an older event that
	// arrives after a newer one (deliveries are retried independently).
	Seq int64 `json:"seq"`
	// Member is the website's member id; empty (left out) in a chat's
	// events (chat.bound, chat.unbound).
	Member    string            `json:"member,omitempty"`
	Chat      string            `json:"chat,omitempty"`
	ChatTitle string            `json:"chat_title,omitempty"`
	Telegram  *CallbackTelegram `json:"telegram,omitempty"`
	Reason    string            `json:"reason,omitempty"`
	// Until is when a warned member's grace period ends.
	Until *time.Time `json:"until,omitempty"`
	// TelegramChatID is the Telegram group a chat event is about (the one
	// bound, or the one released); Previous, on chat.bound, the group the
	// chat was bound to before, when it moved.
	TelegramChatID *int64 `json:"telegram_chat_id,omitempty"`
	Previous       *int64 `json:"previous_telegram_chat_id,omitempty"`
	// Actor is who bound or unbound the chat, as in the audit trail
	// (bot:<Telegram user id>, userbot, …).
	Actor string `json:"actor,omitempty"`
}

// chatCallback queues, when callbacks are on, a chat event (chat.bound,
// chat.unbound) in tx.
func (s *Store) chatCallback(tx *gorm.DB, typ, chat string, tgChatID int64, previous *int64, actor string, now time.Time) error {
	if !s.callbacks {
		return nil
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	cb := Callback{ID: hex.EncodeToString(b[:]), Type: typ, At: now, Chat: chat, TelegramChatID: &tgChatID, Previous: previous, Actor: actor}
	if c, _ := s.chatIndex(chat); c != nil {
		cb.ChatTitle = c.Title
	}
	return s.writeCallbacks(tx, []Callback{cb}, now)
}

// CallbackTelegram is the Telegram account a callback is about.
type CallbackTelegram struct {
	UserID   int64   `json:"user_id"`
	Username *string `json:"username"`
}

// newCallback makes a callback about m, with a fresh event id; chat may be
// empty.
func (s *Store) newCallback(typ string, m *Member, chat string, now time.Time) Callback {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	cb := Callback{ID: hex.EncodeToString(b[:]), Type: typ, At: now, Member: m.ExternalID, Chat: chat}
	if c, _ := s.chatIndex(chat); c != nil {
		cb.ChatTitle = c.Title
	}
	if m.TgUserID != nil {
		cb.Telegram = &CallbackTelegram{UserID: *m.TgUserID, Username: m.TgUsername}
	}
	return cb
}

// callback records, when callbacks are on, that the website is to be told
// what happened to m; flush queues it with the rest of the transaction. It
// returns the callback for the caller to fill in (valid until the next
// call), or nil when callbacks are off.
func (p *planner) callback(typ string, m *Member, chat, reason string) *Callback {
	if !p.s.callbacks {
		return nil
	}
	cb := p.s.newCallback(typ, m, chat, p.now)
	cb.Reason = Truncate(reason, 500)
	p.callbacks = append(p.callbacks, cb)
	return &p.callbacks[len(p.callbacks)-1]
}

// writeCallbacks queues callbacks in the outbox. They belong to no member
// row (member_id 0): a website that does not answer must hold up neither the
// member's Telegram actions nor anyone else's callbacks, and a member's
// later decisions (unlinking, deletion) cancel their Telegram actions but
// never what the website is still to be told.
func (s *Store) writeCallbacks(tx *gorm.DB, cbs []Callback, now time.Time) error {
	if len(cbs) == 0 {
		return nil
	}
	rows := make([][]any, len(cbs))
	for i, cb := range cbs {
		body, err := json.Marshal(cb)
		if err != nil {
			return fmt.Errorf("encode callback: %w", err)
		}
		var tg *int64
		if cb.Telegram != nil {
			tg = &cb.Telegram.UserID
		}
		rows[i] = []any{"cb/" + cb.ID, ActionCallback, int64(0), cb.Member, cb.Chat, tg, int64(0), cb.Type,
			ActionPending, 0, now, "", now, now, string(body)}
	}
	err := s.insertRows(tx, "actions",
		[]string{"idem_key", "kind", "member_id", "member_ext", "chat_key", "tg_user_id", "state_version", "reason", "status", "attempts", "not_before", "last_error", "created_at", "updated_at", "payload"},
		rows, onConflict{})
	if err != nil {
		return fmt.Errorf("queue callbacks: %w", err)
	}
	return nil
}

// completionCallback is the callback a completed warn or remove action
// asks for, or nil: the member was warned (until their grace ends) or
// removed.
func (s *Store) completionCallback(tx *gorm.DB, a *Action, now time.Time) (*Callback, error) {
	if !s.callbacks || a.MemberID == 0 || a.MemberExt == "" {
		return nil, nil // callbacks off, or a stranger's removal
	}
	var typ string
	switch gate.ActionKind(a.Kind) {
	case gate.ActionWarn:
		typ = CallbackWarned
	case gate.ActionRemove:
		typ = CallbackRemoved
	default:
		return nil, nil
	}
	// The member as the action knew them: it may have been deleted since.
	m := &Member{ID: a.MemberID, ExternalID: a.MemberExt, TgUserID: a.TgUserID}
	var cur Member
	if err := tx.Where("id = ?", a.MemberID).Limit(1).Find(&cur).Error; err != nil {
		return nil, fmt.Errorf("load member: %w", err)
	}
	if cur.ID == a.MemberID && cur.TgUserID != nil && a.TgUserID != nil && *cur.TgUserID == *a.TgUserID {
		m.TgUsername = cur.TgUsername
	}
	cb := s.newCallback(typ, m, a.ChatKey, now)
	cb.Reason = a.Reason
	if typ == CallbackWarned {
		var st ChatState
		if err := tx.Where("member_id = ? AND chat_key = ?", a.MemberID, a.ChatKey).Limit(1).Find(&st).Error; err != nil {
			return nil, fmt.Errorf("load chat state: %w", err)
		}
		if st.GraceUntil != nil {
			u := st.GraceUntil.UTC()
			cb.Until = &u
		}
	}
	return &cb, nil
}

// membershipCallback tells the website that m joined or left chat, when
// Telegram's report changes what karmagate knew (was: in the chat before).
func membershipCallback(p *planner, m *Member, chat string, was, in bool) {
	switch {
	case in && !was:
		p.callback(CallbackJoined, m, chat, "")
	case !in && was:
		p.callback(CallbackLeft, m, chat, "")
	}
}
