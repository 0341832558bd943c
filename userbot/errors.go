package userbot

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gotd/td/tgerr"

	"github.com/karmagate/karmagate/models"
)

// Error is a refusal the operator can act on: a wrong code, an unknown
// phone, a login step out of order. It carries the HTTP status and problem
// kind the API answers with, and Telegram's reason when Telegram gave one.
type Error struct {
	Status   int
	Kind     string // problem kind, e.g. "code-invalid"
	Telegram string // Telegram's error type, e.g. PHONE_CODE_INVALID; "" when not from Telegram
	Detail   string
	Err      error
}

func (e *Error) Error() string {
	if e.Telegram != "" {
		return e.Detail + " (Telegram: " + e.Telegram + ")"
	}
	return e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status the API answers with.
func (e *Error) HTTPStatus() int { return e.Status }

// ProblemKind names the problem for the API's problem+json type.
func (e *Error) ProblemKind() string { return e.Kind }

// TelegramError is Telegram's error type behind the refusal, if any.
func (e *Error) TelegramError() string { return e.Telegram }

func refusal(status int, kind, detail string, err error) *Error {
	e := &Error{Status: status, Kind: kind, Detail: detail, Err: err}
	if rpc, ok := tgerr.As(err); ok {
		e.Telegram = rpc.Type
	}
	return e
}

// loginError turns what Telegram answered a login step into an Error an
// operator can act on; errors that are not Telegram's refusals stay as
// they are.
func loginError(err error) error {
	if err == nil {
		return nil
	}
	if d, ok := tgerr.AsFloodWait(err); ok {
		return refusal(http.StatusTooManyRequests, "flood-wait", fmt.Sprintf("Telegram asks to wait %s before trying again", d.Round(time.Second)), err)
	}
	rpc, ok := tgerr.As(err)
	if !ok {
		return err
	}
	switch rpc.Type {
	case "PHONE_NUMBER_INVALID":
		return refusal(http.StatusUnprocessableEntity, "phone-invalid", "Telegram does not accept this phone number", err)
	case "PHONE_NUMBER_BANNED":
		return refusal(http.StatusForbidden, "phone-banned", "Telegram banned this phone number", err)
	case "PHONE_NUMBER_UNOCCUPIED":
		return refusal(http.StatusNotFound, "phone-unknown", "no Telegram account uses this phone number (karmagate does not sign up new accounts)", err)
	case "PHONE_CODE_INVALID", "PHONE_CODE_EMPTY":
		return refusal(http.StatusUnprocessableEntity, "code-invalid", "the login code is wrong; check it and send it again", err)
	case "PHONE_CODE_EXPIRED", "PHONE_CODE_HASH_EMPTY":
		return refusal(http.StatusGone, "code-expired", "the login code expired; start the login again", err)
	case "PASSWORD_HASH_INVALID":
		return refusal(http.StatusUnprocessableEntity, "password-invalid", "the 2FA password is wrong", err)
	case "API_ID_INVALID", "API_ID_PUBLISHED_FLOOD":
		return refusal(http.StatusBadGateway, "api-id-invalid", "Telegram refused the app credentials: check TELEGRAM_API_ID and TELEGRAM_API_HASH", err)
	case "AUTH_TOKEN_EXPIRED", "AUTH_TOKEN_INVALID":
		return refusal(http.StatusGone, "qr-expired", "the QR login token expired; start again", err)
	case "PHONE_NUMBER_FLOOD":
		return refusal(http.StatusTooManyRequests, "phone-flood", "Telegram sends no more login codes to this number for now (too many were asked for): wait a day before trying again, or log in by QR code", err)
	case "SEND_CODE_UNAVAILABLE":
		return refusal(http.StatusTooManyRequests, "send-code-unavailable", "Telegram has used up every way of sending a login code to this number: wait before trying again, or log in by QR code (karmagate userbot login --qr)", err)
	case "AUTH_KEY_DUPLICATED":
		return refusal(http.StatusConflict, "session-duplicated", sessionDuplicated, err)
	}
	return refusal(http.StatusBadGateway, "telegram", "Telegram refused the login step", err)
}

// Operator words for account refusals (README "Telegram's answers and
// what karmagate does").
const (
	sessionDuplicated = "Telegram ended this account's session because it was used from two places at once (AUTH_KEY_DUPLICATED: two karmagate instances or copies of one database on the same account): log the account in again with karmagate userbot login, and give each deployment accounts of its own"
	userRestricted    = "Telegram restricted this account after spam reports (USER_RESTRICTED): karmagate gives it no more jobs. Check it with @SpamBot in a Telegram app; once the limit is lifted, log it out and in again"
)

// lostReason is what the operator reads on the dashboard and in
// `userbot list` when an account leaves the pool.
func lostReason(err error) string {
	switch {
	case tgerr.Is(err, "AUTH_KEY_DUPLICATED"):
		return sessionDuplicated + " (" + err.Error() + ")"
	case tgerr.Is(err, "USER_RESTRICTED"):
		return userRestricted + " (" + err.Error() + ")"
	}
	return err.Error()
}

// accountState says what an error means for the account that met it:
// the state it leaves the pool in, or "" when it stays.
func accountState(err error) string {
	rpc, ok := tgerr.As(err)
	if !ok {
		return ""
	}
	switch rpc.Type {
	case "AUTH_KEY_UNREGISTERED", "SESSION_REVOKED", "SESSION_EXPIRED", "AUTH_KEY_PERM_EMPTY", "AUTH_KEY_INVALID",
		"AUTH_KEY_DUPLICATED": // the session is dead: a new login
		return models.UserbotUnauthorized
	case "USER_RESTRICTED":
		return models.UserbotRestricted
	case "USER_DEACTIVATED", "USER_DEACTIVATED_BAN":
		return models.UserbotDeactivated
	case "FROZEN_METHOD_INVALID", "FROZEN_PARTICIPANT_MISSING":
		return models.UserbotFrozen
	}
	return ""
}

// waitError means an account may not call a method before Until: Telegram
// said so (FLOOD_WAIT_X) or karmagate's pacing does. The call was not
// made, or Telegram refused it.
type waitError struct {
	Account int64
	Method  string
	Until   time.Time
	Err     error
}

func (e *waitError) Error() string {
	return fmt.Sprintf("userbot %d may not call %s before %s: %v", e.Account, e.Method, e.Until.UTC().Format(time.RFC3339), e.Err)
}

func (e *waitError) Unwrap() error { return e.Err }

// lostError means the account left the pool while the call ran.
type lostError struct {
	Account int64
	State   string
	Err     error
}

func (e *lostError) Error() string {
	return fmt.Sprintf("userbot %d left the pool (%s): %v", e.Account, e.State, e.Err)
}

func (e *lostError) Unwrap() error { return e.Err }

// errNoAccount means no account of this instance can do the job now.
var errNoAccount = errors.New("no userbot account can do this now")

// isRPC reports whether err is an answer from Telegram (not a transport
// failure, after which the call's effect is unknown).
func isRPC(err error) bool {
	_, ok := tgerr.As(err)
	return ok
}
