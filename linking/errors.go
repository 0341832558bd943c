package linking

import "errors"

// Code names a failure the bot or the API explains to a person.
type Code string

// The codes of *Error.
const (
	CodeMalformed       Code = "malformed"        // not a link token at all
	CodeForged          Code = "forged"           // a token this deployment did not issue
	CodeUnknown         Code = "unknown"          // issued here, but not on record (database since wiped)
	CodeExpired         Code = "expired"          // too old
	CodeUsed            Code = "used"             // consumed already
	CodeForeign         Code = "foreign"          // meant for another Telegram account
	CodeWidgetMalformed Code = "widget_malformed" // Login Widget fields missing or malformed
	CodeWidgetForged    Code = "widget_forged"    // Login Widget signature does not match
	CodeWidgetStale     Code = "widget_stale"     // Login Widget auth_date too old or in the future
	CodeWidgetReplayed  Code = "widget_replayed"  // Login Widget payload seen before
	CodeWidgetForeign   Code = "widget_foreign"   // Login Widget account is not the one the member's username names
	CodePhoneInvalid    Code = "phone_invalid"    // not a phone number
	CodeForeignContact  Code = "foreign_contact"  // a contact that is not the sender's own
	CodePhoneMismatch   Code = "phone_mismatch"   // the sender's phone is not the member's
)

// Error is a linking failure with a code. Two *Error values match under
// errors.Is when their codes are equal, so a detailed error still matches
// its Err… value.
type Error struct {
	Code    Code
	Message string // for logs; the bot words its own answer from Code
}

func (e *Error) Error() string { return e.Message }

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// CodeOf returns the code of the first *Error in err's chain, or "" when
// there is none (a storage failure, say).
func CodeOf(err error) Code {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return ""
}

// The failures, one per code, for errors.Is.
var (
	ErrMalformed       = &Error{CodeMalformed, "not a link token"}
	ErrForged          = &Error{CodeForged, "link token not issued by this deployment"}
	ErrUnknown         = &Error{CodeUnknown, "link token not on record"}
	ErrExpired         = &Error{CodeExpired, "link token expired"}
	ErrUsed            = &Error{CodeUsed, "link token already used"}
	ErrForeign         = &Error{CodeForeign, "link token is for another Telegram account"}
	ErrWidgetMalformed = &Error{CodeWidgetMalformed, "login widget fields malformed"}
	ErrWidgetForged    = &Error{CodeWidgetForged, "login widget signature does not match"}
	ErrWidgetStale     = &Error{CodeWidgetStale, "login widget data is stale"}
	ErrWidgetReplayed  = &Error{CodeWidgetReplayed, "login widget data already used"}
	ErrWidgetForeign   = &Error{CodeWidgetForeign, "login widget account is not the member's"}
	ErrPhoneInvalid    = &Error{CodePhoneInvalid, "not a phone number"}
	ErrForeignContact  = &Error{CodeForeignContact, "contact is not the sender's own"}
	ErrPhoneMismatch   = &Error{CodePhoneMismatch, "phone does not match the member's"}
)

func errorf(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }
