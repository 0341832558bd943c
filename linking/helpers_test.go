package linking_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/linking"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

var secret = []byte(strings.Repeat("k", linking.MinSecretLen))

// clock is a settable clock, safe for concurrent reads.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// mustTokens builds Tokens on store with the test secret and clock.
func mustTokens(t testing.TB, store linking.TokenStore, clk *clock) *linking.Tokens {
	t.Helper()
	tk, err := linking.NewTokens(linking.TokenOptions{Secret: secret, Store: store, Now: clk.Now})
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	return tk
}

// mustIssue issues a token for member and fails the test on error.
func mustIssue(t testing.TB, tk *linking.Tokens, member string, expect linking.TelegramUser) string {
	t.Helper()
	tok, _, err := tk.Issue(context.Background(), member, expect)
	if err != nil {
		t.Fatalf("Issue(%q): %v", member, err)
	}
	return tok
}

// failingStore fails every call with err.
type failingStore struct{ err error }

func (s failingStore) SaveToken(context.Context, linking.TokenRecord) error { return s.err }
func (s failingStore) FindToken(context.Context, []byte) (linking.TokenRecord, bool, error) {
	return linking.TokenRecord{}, false, s.err
}
func (s failingStore) TakeToken(context.Context, []byte, int64, time.Time) (bool, error) {
	return false, s.err
}

var errDisk = errors.New("disk on fire")
