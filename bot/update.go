package bot

import (
	"encoding/json"
	"errors"
	"fmt"

	tgmodels "github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/models"
)

// update is a decoded Telegram update: go-telegram/bot's type, plus the
// fields of Bot API versions it does not know yet.
type update struct {
	tgmodels.Update
	// JoinQueryID is chat_join_request.query_id (Bot API 10.1): set when
	// the bot is the chat's guard bot and must answer within 10 seconds.
	JoinQueryID string
	// BotCanManageTags is my_chat_member.new_chat_member.can_manage_tags
	// (Bot API 9.5).
	BotCanManageTags bool
	// Seq is the update's arrival number in the store (models.Update.Seq),
	// 0 when it was not stored.
	Seq int64
}

// key names what the update causes (replies, notices) in idempotency
// keys: by its arrival, which never repeats, not by its update_id, which
// Telegram starts again at random after a quiet week. Rows stored before
// arrivals were numbered took their update_id as their number, so their
// keys did not change.
func (u *update) key() string {
	if u.Seq != 0 {
		return fmt.Sprintf("u%d", u.Seq)
	}
	return fmt.Sprintf("u%d", u.ID)
}

// newerFields are the parts of an update go-telegram/bot (Bot API 9.4)
// drops.
type newerFields struct {
	ChatJoinRequest *struct {
		QueryID string `json:"query_id"`
	} `json:"chat_join_request"`
	MyChatMember *struct {
		NewChatMember struct {
			CanManageTags  *bool `json:"can_manage_tags"`
			CanPinMessages bool  `json:"can_pin_messages"`
		} `json:"new_chat_member"`
	} `json:"my_chat_member"`
}

// MaxUpdateSize bounds one update; Telegram's are a few KiB.
const MaxUpdateSize = 1 << 20

// decodeUpdate parses a stored or received update.
func decodeUpdate(raw []byte) (*update, error) {
	var u update
	if err := json.Unmarshal(raw, &u.Update); err != nil {
		return nil, fmt.Errorf("decode update: %w", err)
	}
	if u.ID <= 0 {
		return nil, errors.New("decode update: no update_id")
	}
	var x newerFields
	if err := json.Unmarshal(raw, &x); err != nil {
		return nil, fmt.Errorf("decode update: %w", err)
	}
	if x.ChatJoinRequest != nil {
		u.JoinQueryID = x.ChatJoinRequest.QueryID
	}
	if x.MyChatMember != nil {
		// Optional: "if omitted defaults to the value of can_pin_messages".
		n := x.MyChatMember.NewChatMember
		u.BotCanManageTags = n.CanPinMessages
		if n.CanManageTags != nil {
			u.BotCanManageTags = *n.CanManageTags
		}
	}
	return &u, nil
}

// kind names the update's content.
func (u *update) kind() string {
	switch {
	case u.Message != nil:
		return "message"
	case u.CallbackQuery != nil:
		return "callback_query"
	case u.ChatJoinRequest != nil:
		return "chat_join_request"
	case u.ChatMember != nil:
		return "chat_member"
	case u.MyChatMember != nil:
		return "my_chat_member"
	case u.EditedMessage != nil:
		return "edited_message"
	}
	return "other"
}

// lane is the ordering key: updates about one person (their messages,
// button presses, join requests and membership changes) are processed one at
// a time in order, and so are a group's own messages and the bot's status
// in it; different lanes run in parallel.
func (u *update) lane() int64 {
	switch {
	case u.Message != nil:
		if u.Message.Chat.Type == tgmodels.ChatTypePrivate && u.Message.From != nil {
			return u.Message.From.ID
		}
		return u.Message.Chat.ID
	case u.CallbackQuery != nil:
		return u.CallbackQuery.From.ID
	case u.ChatJoinRequest != nil:
		return u.ChatJoinRequest.From.ID
	case u.ChatMember != nil:
		return memberUser(&u.ChatMember.NewChatMember).ID
	case u.MyChatMember != nil:
		return u.MyChatMember.Chat.ID
	}
	return 0
}

// storable turns a raw update into the row that stores it.
func storable(raw []byte) (models.Update, error) {
	u, err := decodeUpdate(raw)
	if err != nil {
		return models.Update{}, err
	}
	return models.Update{UpdateID: u.ID, Lane: u.lane(), Kind: u.kind(), Payload: string(raw)}, nil
}

// memberUser is the user a ChatMember is about (never nil).
func memberUser(c *tgmodels.ChatMember) *tgmodels.User {
	var u *tgmodels.User
	switch {
	case c.Owner != nil:
		u = c.Owner.User
	case c.Administrator != nil:
		u = &c.Administrator.User
	case c.Member != nil:
		u = c.Member.User
	case c.Restricted != nil:
		u = c.Restricted.User
	case c.Left != nil:
		u = c.Left.User
	case c.Banned != nil:
		u = c.Banned.User
	}
	if u == nil {
		return &tgmodels.User{}
	}
	return u
}

// present reports whether a ChatMember is in the chat.
func present(c *tgmodels.ChatMember) bool {
	switch c.Type {
	case tgmodels.ChatMemberTypeOwner, tgmodels.ChatMemberTypeAdministrator, tgmodels.ChatMemberTypeMember:
		return true
	case tgmodels.ChatMemberTypeRestricted:
		return c.Restricted != nil && c.Restricted.IsMember
	}
	return false
}

// isAdmin reports whether a ChatMember is the chat's creator or an admin.
func isAdmin(c *tgmodels.ChatMember) bool {
	return c.Type == tgmodels.ChatMemberTypeOwner || c.Type == tgmodels.ChatMemberTypeAdministrator
}
