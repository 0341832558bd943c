package mtproto

import (
	"crypto/rand"
	"testing"

	"github.com/gotd/td/telegram/auth"
)

// TestSRP checks the server side against gotd's client side of Telegram's SRP.
func TestSRP(t *testing.T) {
	vr, err := newSRPVerifier(rand.Reader, "hunter2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		password string
		ok       bool
	}{
		{"right password", "hunter2", true},
		{"wrong password", "hunter3", false},
		{"empty password", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newSRPSession(rand.Reader, 1, 1, vr)
			if err != nil {
				t.Fatal(err)
			}
			random := make([]byte, 256)
			if _, err := rand.Read(random); err != nil {
				t.Fatal(err)
			}
			answer, err := auth.PasswordHash([]byte(tc.password), s.id, s.gb[:], random, vr.algo())
			if err != nil {
				t.Fatalf("client hash: %v", err)
			}
			err = s.check(answer.A, answer.M1)
			if got := err == nil; got != tc.ok {
				t.Fatalf("check = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
