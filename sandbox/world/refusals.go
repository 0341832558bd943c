package world

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Refusal makes the next calls of a Bot API method answer one of
// Telegram's refusals that the world has no cause of its own for: a person
// Telegram limits after spam reports (USER_BANNED_IN_CHANNEL), a ban that
// raced an approval (USER_KICKED), a chat gone private to the bot
// (CHANNEL_PRIVATE), and any other refusal by name. Those with a cause of
// their own happen by themselves too (USER_CHANNELS_TOO_MUCH past
// Limits.ChannelsPerAccount, USERS_TOO_MUCH past Limits.MaxMembers, "user
// is an administrator of the chat" when approving an admin).
type Refusal struct {
	// Method is the Bot API method, e.g. "approveChatJoinRequest".
	Method string `json:"method"`
	// Error names the refusal: its RPC name (USER_KICKED) or its text
	// ("user is an administrator of the chat"); RefusalNames lists them.
	Error string `json:"error"`
	// UserID and ChatID, when set, limit it to calls with that user_id or
	// chat_id.
	UserID int64 `json:"user_id,omitempty"`
	ChatID int64 `json:"chat_id,omitempty"`
	// Times is how many calls it answers (default 1).
	Times int `json:"times,omitempty"`

	err *Error
}

type refusals struct {
	mu   sync.Mutex
	list []*Refusal
}

// refusalForms are the refusals by name, as the Bot API words them.
var refusalForms = func() map[string]*Error {
	m := map[string]*Error{}
	for _, e := range []*Error{
		ErrUserChannelsTooMuch, ErrUsersTooMuch, ErrUserKicked, ErrUserIsAdmin,
		BadRequest("USER_BANNED_IN_CHANNEL", ""), BadRequest("CHANNEL_PRIVATE", ""),
		ErrChatAdminRequired, ErrNotEnoughRights, ErrUserNotParticipant, ErrUserAlreadyMember,
		ErrHideRequesterMissing, ErrBotBlocked, ErrCantInitiate, ErrBotIsNotMember,
		Forbidden("CHANNEL_PRIVATE", "bot was kicked from the supergroup chat"),
		BadRequest("USER_DEACTIVATED", "user is deactivated"), ErrUserNotFound,
		BadRequest("PEER_ID_INVALID", "chat not found"),
		BadRequest("MESSAGE_TOO_LONG", "message is too long"),
		BadRequest("PARTICIPANT_ID_INVALID", ""),
		BadRequest("MESSAGE_NOT_MODIFIED", "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"),
		ErrMessageNotFound,
		BadRequest("USER_ID_INVALID", ""),
		BadRequest("CHAT_ADMIN_REQUIRED", "need administrator rights in the channel chat"),
		BadRequest("TAG_EMOJI_NOT_ALLOWED", ""), BadRequest("TAG_INVALID", ""),
		ErrEphemeralNotAllowed, ErrEphemeralPrivate, ErrEphemeralToBot,
		ErrMigrated, // without migrate_to_chat_id: UpgradeGroup makes the real one
	} {
		_, text, _ := strings.Cut(e.Description, ": ")
		text, _, _ = strings.Cut(text, ":")
		if _, ok := m[text]; !ok {
			m[text] = e
		}
		if _, ok := m[e.RPC]; !ok && text == e.RPC {
			m[e.RPC] = e
		}
	}
	return m
}()

// RefusalNames lists the names Refuse knows.
func RefusalNames() []string {
	out := make([]string, 0, len(refusalForms))
	for k := range refusalForms {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Refuse arms a refusal.
func (w *World) Refuse(r Refusal) error {
	e, ok := refusalForms[r.Error]
	if !ok {
		return BadRequest("REFUSAL_UNKNOWN", fmt.Sprintf("unknown refusal %q; known: %s", r.Error, strings.Join(RefusalNames(), ", ")))
	}
	if r.Method == "" {
		return BadRequest("METHOD_EMPTY", "method is required")
	}
	if r.Times <= 0 {
		r.Times = 1
	}
	c := *e
	r.err = &c
	w.refuse.mu.Lock()
	defer w.refuse.mu.Unlock()
	w.refuse.list = append(w.refuse.list, &r)
	return nil
}

// TakeRefusal returns the refusal armed for a call of method about userID
// and chatID (0: not in the call), spending it; nil when there is none.
func (w *World) TakeRefusal(method string, userID, chatID int64) *Error {
	w.refuse.mu.Lock()
	defer w.refuse.mu.Unlock()
	for i, r := range w.refuse.list {
		if !strings.EqualFold(r.Method, method) || (r.UserID != 0 && r.UserID != userID) || (r.ChatID != 0 && r.ChatID != chatID) {
			continue
		}
		r.Times--
		if r.Times <= 0 {
			w.refuse.list = append(w.refuse.list[:i], w.refuse.list[i+1:]...)
		}
		e := *r.err
		return &e
	}
	return nil
}

func (r *refusals) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = nil
}
