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
}

func (e *Error) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("telegram: %s (%s, retry after %s)", e.Description, e.RPC, e.RetryAfter)
	}
	return fmt.Sprintf("telegram: %s (%s)", e.Description, e.RPC)
}

// Is reports whether target is an *Error with the same RPC type, so that
// errors.Is(err, world.ErrPeerFlood) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.RPC == e.RPC
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
	ErrChatNotFound          = BadRequest("CHANNEL_INVALID", "chat not found")
	ErrUserNotFound          = BadRequest("USER_ID_INVALID", "user not found")
	ErrChatAdminRequired     = BadRequest("CHAT_ADMIN_REQUIRED", "")
	ErrNotEnoughRights       = BadRequest("RIGHT_FORBIDDEN", "not enough rights")
	ErrUserAlreadyMember     = BadRequest("USER_ALREADY_PARTICIPANT", "")
	ErrUserNotParticipant    = BadRequest("USER_NOT_PARTICIPANT", "")
	ErrUserPrivacyRestricted = Forbidden("USER_PRIVACY_RESTRICTED", "")
	ErrUserNotMutualContact  = BadRequest("USER_NOT_MUTUAL_CONTACT", "")
	ErrUserKicked            = BadRequest("USER_KICKED", "")
	ErrPeerFlood             = BadRequest("PEER_FLOOD", "")
	ErrUsersTooMuch          = BadRequest("USERS_TOO_MUCH", "")
	ErrUserChannelsTooMuch   = BadRequest("USER_CHANNELS_TOO_MUCH", "")
	ErrChannelsTooMuch       = BadRequest("CHANNELS_TOO_MUCH", "")
	ErrHideRequesterMissing  = BadRequest("HIDE_REQUESTER_MISSING", "")
	ErrInviteHashInvalid     = BadRequest("INVITE_HASH_INVALID", "")
	ErrInviteHashExpired     = BadRequest("INVITE_HASH_EXPIRED", "")
	ErrPhoneNumberInvalid    = BadRequest("PHONE_NUMBER_INVALID", "")
	ErrPhoneNumberOccupied   = BadRequest("PHONE_NUMBER_OCCUPIED", "")
	ErrPhoneNumberUnoccupied = BadRequest("PHONE_NUMBER_UNOCCUPIED", "")
	ErrPhoneCodeInvalid      = BadRequest("PHONE_CODE_INVALID", "")
	ErrPhoneCodeExpired      = BadRequest("PHONE_CODE_EXPIRED", "")
	ErrPhoneCodeHashEmpty    = BadRequest("PHONE_CODE_HASH_EMPTY", "")
	ErrUsernameInvalid       = BadRequest("USERNAME_INVALID", "")
	ErrUsernameOccupied      = BadRequest("USERNAME_OCCUPIED", "")
	ErrFirstNameInvalid      = BadRequest("FIRSTNAME_INVALID", "")
	ErrChatTitleEmpty        = BadRequest("CHAT_TITLE_EMPTY", "")
	ErrBotBlocked            = Forbidden("USER_IS_BLOCKED", "bot was blocked by the user")
	ErrCantInitiate          = Forbidden("USER_IS_BLOCKED", "bot can't initiate conversation with a user")
	ErrMessageNotFound       = BadRequest("MESSAGE_ID_INVALID", "message to delete not found")
	ErrMessageCantDelete     = BadRequest("MESSAGE_DELETE_FORBIDDEN", "message can't be deleted")
	ErrCantRemoveOwner       = BadRequest("USER_ADMIN_INVALID", "can't remove chat owner")
	ErrUserIsAdmin           = BadRequest("USER_ADMIN_INVALID", "user is an administrator of the chat")
	ErrCantDemoteCreator     = BadRequest("USER_CREATOR", "can't demote chat creator")
	ErrBotIsNotMember        = Forbidden("CHANNEL_PRIVATE", "bot is not a member of the supergroup chat")
	ErrFloodWait             = &Error{Code: 429, Description: "Too Many Requests", RPC: "FLOOD_WAIT", RPCCode: 420}
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
