package world

import (
	"fmt"
	"math"
	"time"
)

// Error is a refusal in Telegram's terms, carrying both faces: the Bot API
// error_code and description, and the MTProto error type. RetryAfter is set
// for rate limits (Bot API 429 retry_after, MTProto FLOOD_WAIT_X).
type Error struct {
	// Code is the Bot API error_code: 400, 403, 404, 409, 429, 500.
	Code int
	// Description is the Bot API text, e.g. "Bad Request: USER_ALREADY_PARTICIPANT".
	Description string
	// RPC is the MTProto error type, e.g. "USER_PRIVACY_RESTRICTED", "FLOOD_WAIT".
	RPC string
	// RPCCode is the MTProto error code (400, 403, 420, 500); zero means Code.
	RPCCode int
	// RetryAfter is how long the caller must wait, for rate limits.
	RetryAfter time.Duration
	// MigrateTo is the supergroup an upgraded basic group became
	// (parameters.migrate_to_chat_id).
	MigrateTo int64

	// key tells apart sentinels that share an RPC type (set by sentinel,
	// kept by copies).
	key string
}

func (e *Error) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("telegram: %s (%s, retry after %s)", e.Description, e.RPC, e.RetryAfter)
	}
	return fmt.Sprintf("telegram: %s (%s)", e.Description, e.RPC)
}

// Is reports whether target is an *Error with the same RPC type (and, for
// sentinels that share one, the same sentinel), so that
// errors.Is(err, world.ErrPeerFlood) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.RPC == e.RPC && (t.key == "" || e.key == "" || t.key == e.key)
}

func sentinel(e *Error) *Error {
	e.key = e.Description
	return e
}

// MTProtoCode is the error code an MTProto client sees.
func (e *Error) MTProtoCode() int {
	if e.RPCCode != 0 {
		return e.RPCCode
	}
	return e.Code
}

// RetryAfterSeconds rounds RetryAfter up to whole seconds, as both APIs do.
func (e *Error) RetryAfterSeconds() int {
	return int(math.Ceil(e.RetryAfter.Seconds()))
}

// BadRequest is a 400 whose description is "Bad Request: <rpc>" unless desc is given.
func BadRequest(rpc, desc string) *Error {
	if desc == "" {
		desc = rpc
	}
	return &Error{Code: 400, Description: "Bad Request: " + desc, RPC: rpc}
}

// Forbidden is a 403.
func Forbidden(rpc, desc string) *Error {
	if desc == "" {
		desc = rpc
	}
	return &Error{Code: 403, Description: "Forbidden: " + desc, RPC: rpc}
}

// TooManyRequests is a 429 / FLOOD_WAIT_X with the wait rounded up to seconds.
func TooManyRequests(wait time.Duration) *Error {
	if wait < time.Second {
		wait = time.Second
	}
	s := int(math.Ceil(wait.Seconds()))
	return &Error{
		Code:        429,
		Description: fmt.Sprintf("Too Many Requests: retry after %d", s),
		RPC:         "FLOOD_WAIT",
		RPCCode:     420,
		RetryAfter:  time.Duration(s) * time.Second,
	}
}

// Sentinels for errors.Is; compare by RPC type.
var (
	ErrChatNotFound          = sentinel(BadRequest("CHANNEL_INVALID", "chat not found"))
	ErrUserNotFound          = sentinel(BadRequest("USER_ID_INVALID", "user not found"))
	ErrChatAdminRequired     = sentinel(BadRequest("CHAT_ADMIN_REQUIRED", ""))
	ErrNotEnoughRights       = sentinel(BadRequest("RIGHT_FORBIDDEN", "not enough rights"))
	ErrUserAlreadyMember     = sentinel(BadRequest("USER_ALREADY_PARTICIPANT", ""))
	ErrUserNotParticipant    = sentinel(BadRequest("USER_NOT_PARTICIPANT", ""))
	ErrUserPrivacyRestricted = sentinel(Forbidden("USER_PRIVACY_RESTRICTED", ""))
	ErrUserNotMutualContact  = sentinel(BadRequest("USER_NOT_MUTUAL_CONTACT", ""))
	ErrUserKicked            = sentinel(BadRequest("USER_KICKED", ""))
	ErrPeerFlood             = sentinel(BadRequest("PEER_FLOOD", ""))
	ErrUsersTooMuch          = sentinel(BadRequest("USERS_TOO_MUCH", ""))
	ErrUserChannelsTooMuch   = sentinel(BadRequest("USER_CHANNELS_TOO_MUCH", ""))
	ErrChannelsTooMuch       = sentinel(BadRequest("CHANNELS_TOO_MUCH", ""))
	ErrHideRequesterMissing  = sentinel(BadRequest("HIDE_REQUESTER_MISSING", ""))
	ErrInviteHashInvalid     = sentinel(BadRequest("INVITE_HASH_INVALID", ""))
	ErrInviteHashExpired     = sentinel(BadRequest("INVITE_HASH_EXPIRED", ""))
	ErrPhoneNumberInvalid    = sentinel(BadRequest("PHONE_NUMBER_INVALID", ""))
	ErrPhoneNumberOccupied   = sentinel(BadRequest("PHONE_NUMBER_OCCUPIED", ""))
	ErrPhoneNumberUnoccupied = sentinel(BadRequest("PHONE_NUMBER_UNOCCUPIED", ""))
	ErrPhoneCodeInvalid      = sentinel(BadRequest("PHONE_CODE_INVALID", ""))
	ErrPhoneCodeExpired      = sentinel(BadRequest("PHONE_CODE_EXPIRED", ""))
	ErrPhoneCodeHashEmpty    = sentinel(BadRequest("PHONE_CODE_HASH_EMPTY", ""))
	ErrUsernameInvalid       = sentinel(BadRequest("USERNAME_INVALID", ""))
	ErrUsernameOccupied      = sentinel(BadRequest("USERNAME_OCCUPIED", ""))
	ErrFirstNameInvalid      = sentinel(BadRequest("FIRSTNAME_INVALID", ""))
	ErrDCInvalid             = sentinel(BadRequest("DC_ID_INVALID", ""))
	ErrBotGroupsBlocked      = sentinel(BadRequest("BOT_GROUPS_BLOCKED", ""))
	ErrAdminsTooMuch         = sentinel(BadRequest("ADMINS_TOO_MUCH", ""))
	ErrChatTitleEmpty        = sentinel(BadRequest("CHAT_TITLE_EMPTY", ""))
	ErrBotBlocked            = sentinel(Forbidden("USER_IS_BLOCKED", "bot was blocked by the user"))
	ErrCantInitiate          = sentinel(Forbidden("USER_IS_BLOCKED", "bot can't initiate conversation with a user"))
	ErrMessageNotFound       = sentinel(BadRequest("MESSAGE_ID_INVALID", "message to delete not found"))
	ErrMessageCantDelete     = sentinel(BadRequest("MESSAGE_DELETE_FORBIDDEN", "message can't be deleted"))
	ErrCantRemoveOwner       = sentinel(BadRequest("USER_ADMIN_INVALID", "can't remove chat owner"))
	ErrUserIsAdmin           = sentinel(BadRequest("USER_ADMIN_INVALID", "user is an administrator of the chat"))
	ErrCantDemoteCreator     = sentinel(BadRequest("USER_CREATOR", "can't demote chat creator"))
	ErrBotIsNotMember        = sentinel(Forbidden("CHANNEL_PRIVATE", "bot is not a member of the supergroup chat"))
	ErrFloodWait             = sentinel(&Error{Code: 429, Description: "Too Many Requests", RPC: "FLOOD_WAIT", RPCCode: 420})
)

// errf clones a sentinel with a more specific description.
func errf(base *Error, format string, args ...any) *Error {
	e := *base
	prefix := "Bad Request: "
	switch e.Code {
	case 403:
		prefix = "Forbidden: "
	case 429:
		prefix = "Too Many Requests: "
	}
	e.Description = prefix + fmt.Sprintf(format, args...)
	return &e
}
