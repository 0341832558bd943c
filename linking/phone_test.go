package linking_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/linking"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" = ErrPhoneInvalid
	}{
		{"E.164", "+14155550123", "+14155550123"},
		{"spaces dashes parentheses", "+1 (415) 555-0123", "+14155550123"},
		{"dots", "+44.20.7946.0958", "+442079460958"},
		{"leading 00", "0044 20 7946 0958", "+442079460958"},
		{"Telegram contact without +", "79161234567", "+79161234567"},
		{"surrounding space", "  +79161234567\n", "+79161234567"},
		{"no-break space", "+7\u00a0916\u00a0123\u00a045\u00a067", "+79161234567"},
		{"shortest", "+6834002", "+6834002"},
		{"longest", "+123456789012345", "+123456789012345"},
		{"empty", "", ""},
		{"only +", "+", ""},
		{"too short", "+123456", ""},
		{"too long", "+1234567890123456", ""},
		{"very long", strings.Repeat("1", 1000), ""},
		{"country code 0", "+0123456789", ""},
		{"national number with trunk 0", "020 7946 0958", ""},
		{"+00", "+0044207946095", ""},
		{"+ inside", "7+9161234567", ""},
		{"two +", "++79161234567", ""},
		{"letters", "+1 415 CALL-NOW", ""},
		{"extension", "+14155550123 ext 5", ""},
		{"slash", "+1/4155550123", ""},
		{"arabic-indic digits", "+٧٩١٦١٢٣٤٥٦٧", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := linking.NormalizePhone(tt.in)
			if tt.want == "" {
				if !errors.Is(err, linking.ErrPhoneInvalid) || got != "" {
					t.Fatalf("NormalizePhone(%q) = %q, %v; want ErrPhoneInvalid", tt.in, got, err)
				}
				if digits := strings.Trim(tt.in, " +\n"); len(digits) > 6 && strings.Contains(err.Error(), digits) {
					t.Errorf("error %q repeats the number", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSamePhone(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"same", "+79161234567", "+79161234567", true},
		{"Telegram form", "79161234567", "+7 916 123-45-67", true},
		{"00 form", "0079161234567", "+79161234567", true},
		{"different", "+79161234567", "+79161234568", false},
		{"prefix only", "+7916123456", "+79161234567", false},
		{"both invalid", "abc", "abc", false},
		{"one invalid", "", "+79161234567", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := linking.SamePhone(tt.a, tt.b); got != tt.want {
				t.Errorf("SamePhone(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestCheckContact(t *testing.T) {
	const sender = 4101
	tests := []struct {
		name    string
		contact linking.Contact
		want    string
		err     error
	}{
		{"own contact, Telegram form", linking.Contact{PhoneNumber: "79161234567", UserID: sender}, "+79161234567", nil},
		{"own contact, with +", linking.Contact{PhoneNumber: "+79161234567", UserID: sender}, "+7 916 123 45 67", nil},
		{"someone else's card", linking.Contact{PhoneNumber: "79161234567", UserID: 666}, "+79161234567", linking.ErrForeignContact},
		{"card without a user", linking.Contact{PhoneNumber: "79161234567"}, "+79161234567", linking.ErrForeignContact},
		{"foreign wins over mismatch", linking.Contact{PhoneNumber: "70000000000", UserID: 666}, "+79161234567", linking.ErrForeignContact},
		{"other number", linking.Contact{PhoneNumber: "79160000000", UserID: sender}, "+79161234567", linking.ErrPhoneMismatch},
		{"unreadable contact phone", linking.Contact{PhoneNumber: "hidden", UserID: sender}, "+79161234567", linking.ErrPhoneInvalid},
		{"member has no valid phone", linking.Contact{PhoneNumber: "79161234567", UserID: sender}, "", linking.ErrPhoneInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := linking.CheckContact(tt.contact, sender, tt.want)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("CheckContact = %v; want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("CheckContact = %v; want %v", err, tt.err)
			}
		})
	}
}
