package linking

import (
	"fmt"
	"strings"
	"unicode"
)

// E.164 allows at most 15 digits; the shortest numbers in use have 7. The
// models package checks member phones against the same range.
const (
	minPhoneDigits = 7
	maxPhoneDigits = 15
)

// NormalizePhone returns s in E.164: '+' and 7 to 15 digits, the first not 0.
// It accepts spaces, dashes, dots and parentheses between digits, a leading
// "00" for '+', and digits with no '+' at all, the way Telegram's
// contact.phone_number often comes: those are taken as already starting with
// the country code. A national number with a trunk prefix ("8 916 …") cannot
// be told apart and comes out wrong; website phones are E.164 already.
// Failures are ErrPhoneInvalid and never repeat the number (logs are not the
// place for it).
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	var b strings.Builder
	b.Grow(1 + maxPhoneDigits)
	b.WriteByte('+')
	plus, digits := false, 0
	for i, r := range s {
		switch {
		case '0' <= r && r <= '9':
			if digits == maxPhoneDigits+2 { // room for a leading "00"
				return "", errorf(CodePhoneInvalid, fmt.Sprintf("phone number has more than %d digits", maxPhoneDigits))
			}
			b.WriteRune(r)
			digits++
		case r == '+':
			if i != 0 {
				return "", errorf(CodePhoneInvalid, "phone number has a '+' after its start")
			}
			plus = true
		case r == '-' || r == '.' || r == '(' || r == ')' || unicode.IsSpace(r):
		default:
			return "", errorf(CodePhoneInvalid, "phone number has a character other than digits, '+', spaces, dashes, dots and parentheses")
		}
	}
	n := b.String()
	if !plus && strings.HasPrefix(n, "+00") {
		n = "+" + n[3:]
	}
	switch d := len(n) - 1; {
	case d < minPhoneDigits || d > maxPhoneDigits:
		return "", errorf(CodePhoneInvalid, fmt.Sprintf("phone number has %d digits; E.164 numbers have %d to %d", d, minPhoneDigits, maxPhoneDigits))
	case n[1] == '0':
		return "", errorf(CodePhoneInvalid, "phone number's country code starts with 0")
	}
	return n, nil
}

// SamePhone reports whether a and b are the same valid number, however
// each is written.
func SamePhone(a, b string) bool {
	na, err := NormalizePhone(a)
	if err != nil {
		return false
	}
	nb, err := NormalizePhone(b)
	return err == nil && na == nb
}

// Contact is a contact shared with the bot (the Bot API's Contact, the
// fields linking needs).
type Contact struct {
	PhoneNumber string
	UserID      int64 // the Telegram user the contact belongs to; 0 when not a Telegram user
}

// CheckContact reports whether contact proves that its sender owns the
// phone want (the member's, E.164). A contact counts only when it is the
// sender's own (contact.user_id equals the sender; anyone can share someone
// else's card): otherwise ErrForeignContact. A different number is
// ErrPhoneMismatch; an unreadable one ErrPhoneInvalid.
func CheckContact(contact Contact, senderID int64, want string) error {
	if contact.UserID == 0 || contact.UserID != senderID {
		return ErrForeignContact
	}
	w, err := NormalizePhone(want)
	if err != nil {
		return fmt.Errorf("member phone: %w", err)
	}
	got, err := NormalizePhone(contact.PhoneNumber)
	if err != nil {
		return fmt.Errorf("contact phone: %w", err)
	}
	if got != w {
		return ErrPhoneMismatch
	}
	return nil
}
