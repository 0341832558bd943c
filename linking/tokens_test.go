package linking_test

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/karmagate/karmagate/linking"
)

func TestNewTokens(t *testing.T) {
	store := &linking.MemTokenStore{}
	tests := []struct {
		name    string
		opts    linking.TokenOptions
		wantErr string
	}{
		{"defaults", linking.TokenOptions{Secret: secret, Store: store}, ""},
		{"custom TTL", linking.TokenOptions{Secret: secret, Store: store, TTL: time.Hour}, ""},
		{"no secret", linking.TokenOptions{Store: store}, "secret is 0 bytes"},
		{"short secret", linking.TokenOptions{Secret: secret[:31], Store: store}, "secret is 31 bytes"},
		{"no store", linking.TokenOptions{Secret: secret}, "no token store"},
		{"negative TTL", linking.TokenOptions{Secret: secret, Store: store, TTL: -time.Second}, "negative TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk, err := linking.NewTokens(tt.opts)
			if tt.wantErr == "" {
				if err != nil || tk == nil {
					t.Fatalf("NewTokens = %v, %v; want tokens", tk, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewTokens error = %v; want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestTokens_Issue_format pins the token format and the stored hash by
// computing both independently from the secret and known random bytes.
func TestTokens_Issue_format(t *testing.T) {
	random := bytes.Repeat([]byte{0xA5}, 16)
	store := &linking.MemTokenStore{}
	clk := newClock()
	tk, err := linking.NewTokens(linking.TokenOptions{Secret: secret, Store: store, Now: clk.Now, Rand: bytes.NewReader(random), TTL: 10 * time.Minute})
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	tok, expires, err := tk.Issue(context.Background(), "alice", linking.TelegramUser{Username: "@Alice_TG"})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}

	macKey, err := hkdf.Key(sha256.New, secret, nil, "karmagate link token mac v1", 32)
	if err != nil {
		t.Fatalf("hkdf: %v", err)
	}
	m := hmac.New(sha256.New, macKey)
	m.Write(random)
	want := base64.RawURLEncoding.EncodeToString(append(bytes.Clone(random), m.Sum(nil)[:8]...))
	if tok != want {
		t.Errorf("token = %q; want %q", tok, want)
	}
	if len(tok) != linking.TokenLen || len(tok) > 64 || !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(tok) {
		t.Errorf("token %q: want %d characters of A-Za-z0-9_-", tok, linking.TokenLen)
	}
	if !expires.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("expires = %v; want %v", expires, t0.Add(10*time.Minute))
	}

	hashKey, err := hkdf.Key(sha256.New, secret, nil, "karmagate link token hash v1", 32)
	if err != nil {
		t.Fatalf("hkdf: %v", err)
	}
	h := hmac.New(sha256.New, hashKey)
	h.Write([]byte(tok))
	rec, found, err := store.FindToken(context.Background(), h.Sum(nil))
	if err != nil || !found {
		t.Fatalf("FindToken(HMAC of token) = %v, %v; want the record", found, err)
	}
	wantRec := linking.TokenRecord{Hash: h.Sum(nil), MemberID: "alice", ExpectUsername: "alice_tg", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	if !bytes.Equal(rec.Hash, wantRec.Hash) || rec.MemberID != wantRec.MemberID || rec.ExpectUsername != wantRec.ExpectUsername ||
		rec.ExpectUserID != 0 || !rec.CreatedAt.Equal(wantRec.CreatedAt) || !rec.ExpiresAt.Equal(wantRec.ExpiresAt) || !rec.UsedAt.IsZero() {
		t.Errorf("record = %+v; want %+v", rec, wantRec)
	}
	if bytes.Contains(rec.Hash, []byte(tok)) || bytes.Contains(rec.Hash, random) {
		t.Errorf("record hash %x carries the token", rec.Hash)
	}
}

func TestTokens_Issue(t *testing.T) {
	t.Run("tokens differ", func(t *testing.T) {
		store := &linking.MemTokenStore{}
		tk := mustTokens(t, store, newClock())
		seen := map[string]bool{}
		for range 100 {
			tok := mustIssue(t, tk, "alice", linking.TelegramUser{})
			if seen[tok] {
				t.Fatalf("token %q issued twice", tok)
			}
			seen[tok] = true
		}
		if store.Len() != 100 {
			t.Errorf("store holds %d records; want 100", store.Len())
		}
	})
	t.Run("sub-second clock is truncated", func(t *testing.T) {
		clk := newClock()
		clk.Advance(700 * time.Millisecond)
		tk := mustTokens(t, &linking.MemTokenStore{}, clk)
		_, expires, err := tk.Issue(context.Background(), "alice", linking.TelegramUser{})
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		if want := t0.Add(linking.DefaultTokenTTL); !expires.Equal(want) {
			t.Errorf("expires = %v; want %v", expires, want)
		}
	})
	errTests := []struct {
		name   string
		member string
		store  linking.TokenStore
		rand   io.Reader
		want   error
	}{
		{"empty member", "", &linking.MemTokenStore{}, nil, nil},
		{"store fails", "alice", failingStore{errDisk}, nil, errDisk},
		{"random fails", "alice", &linking.MemTokenStore{}, iotest.ErrReader(errDisk), errDisk},
		{"random short", "alice", &linking.MemTokenStore{}, bytes.NewReader(make([]byte, 15)), io.ErrUnexpectedEOF},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			tk, err := linking.NewTokens(linking.TokenOptions{Secret: secret, Store: tt.store, Rand: tt.rand})
			if err != nil {
				t.Fatalf("NewTokens: %v", err)
			}
			tok, _, err := tk.Issue(context.Background(), tt.member, linking.TelegramUser{})
			if err == nil || tok != "" {
				t.Fatalf("Issue = %q, %v; want an error", tok, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Issue error = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestURL(t *testing.T) {
	tests := []struct {
		name, bot, token, want string
	}{
		{"plain", "karma_bot", "abc_-9", "https://t.me/karma_bot?start=abc_-9"},
		{"at sign", "@karma_bot", "abc", "https://t.me/karma_bot?start=abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := linking.URL(tt.bot, tt.token); got != tt.want {
				t.Errorf("URL(%q, %q) = %q; want %q", tt.bot, tt.token, got, tt.want)
			}
		})
	}
}

func TestTokens_Check(t *testing.T) {
	tk := mustTokens(t, &linking.MemTokenStore{}, newClock())
	good := mustIssue(t, tk, "alice", linking.TelegramUser{})
	otherSecret := bytes.Repeat([]byte{'z'}, linking.MinSecretLen)
	other, err := linking.NewTokens(linking.TokenOptions{Secret: otherSecret, Store: &linking.MemTokenStore{}})
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	foreign := mustIssue(t, other, "alice", linking.TelegramUser{})
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"good", good, nil},
		{"empty", "", linking.ErrMalformed},
		{"short", good[:31], linking.ErrMalformed},
		{"long", good + "A", linking.ErrMalformed},
		{"padding", good[:31] + "=", linking.ErrMalformed},
		{"standard base64 alphabet", good[:31] + "+", linking.ErrMalformed},
		{"newline", good[:31] + "\n", linking.ErrMalformed},
		{"space", " " + good[1:], linking.ErrMalformed},
		{"other start parameter", "ref_website_footer", linking.ErrMalformed},
		{"random part changed", flip(good, 3), linking.ErrForged},
		{"mac changed", flip(good, 31), linking.ErrForged},
		{"other deployment", foreign, linking.ErrForged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tk.Check(tt.token)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check(%q) = %v; want nil", tt.token, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check(%q) = %v; want %v", tt.token, err, tt.want)
			}
		})
	}
}

// flip changes the token's i-th character to another of the alphabet.
func flip(tok string, i int) string {
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func TestTokens_Consume(t *testing.T) {
	alice := linking.TelegramUser{ID: 4101, Username: "Alice_TG"}
	mallory := linking.TelegramUser{ID: 666, Username: "mallory"}
	tests := []struct {
		name    string
		expect  linking.TelegramUser                                                  // who the token is issued for
		prepare func(t *testing.T, tok string, tk *linking.Tokens, clk *clock) string // returns the token to consume
		who     linking.TelegramUser
		want    error
	}{
		{name: "anyone", who: mallory},
		{name: "just before expiry", who: alice, prepare: func(_ *testing.T, tok string, _ *linking.Tokens, clk *clock) string {
			clk.Advance(linking.DefaultTokenTTL - time.Nanosecond)
			return tok
		}},
		{name: "expired", who: alice, want: linking.ErrExpired, prepare: func(_ *testing.T, tok string, _ *linking.Tokens, clk *clock) string {
			clk.Advance(linking.DefaultTokenTTL)
			return tok
		}},
		{name: "used", who: alice, want: linking.ErrUsed, prepare: func(t *testing.T, tok string, tk *linking.Tokens, _ *clock) string {
			if _, err := tk.Consume(context.Background(), tok, linking.TelegramUser{ID: 4200}); err != nil {
				t.Fatalf("first Consume: %v", err)
			}
			return tok
		}},
		{name: "used by the same sender, before expiry: a retry", who: alice, prepare: func(t *testing.T, tok string, tk *linking.Tokens, _ *clock) string {
			if _, err := tk.Consume(context.Background(), tok, alice); err != nil {
				t.Fatalf("first Consume: %v", err)
			}
			return tok
		}},
		{name: "used and expired reads as used", who: alice, want: linking.ErrUsed, prepare: func(t *testing.T, tok string, tk *linking.Tokens, clk *clock) string {
			if _, err := tk.Consume(context.Background(), tok, alice); err != nil {
				t.Fatalf("first Consume: %v", err)
			}
			clk.Advance(time.Hour)
			return tok
		}},
		{name: "malformed", who: alice, want: linking.ErrMalformed, prepare: func(*testing.T, string, *linking.Tokens, *clock) string { return "hello" }},
		{name: "forged", who: alice, want: linking.ErrForged, prepare: func(_ *testing.T, tok string, _ *linking.Tokens, _ *clock) string { return flip(tok, 0) }},
		{name: "unknown: issued by a database since wiped", who: alice, want: linking.ErrUnknown, prepare: func(t *testing.T, _ string, _ *linking.Tokens, clk *clock) string {
			return mustIssue(t, mustTokens(t, &linking.MemTokenStore{}, clk), "alice", linking.TelegramUser{})
		}},
		{name: "expected id matches", expect: linking.TelegramUser{ID: 4101}, who: alice},
		{name: "expected id, other sender", expect: linking.TelegramUser{ID: 4101}, who: mallory, want: linking.ErrForeign},
		{name: "expected id wins over a stale username", expect: linking.TelegramUser{ID: 4101, Username: "old_name"}, who: alice},
		{name: "expected id, sender with the username", expect: linking.TelegramUser{ID: 4101, Username: "mallory"}, who: mallory, want: linking.ErrForeign},
		{name: "expected username, any case and @", expect: linking.TelegramUser{Username: "@alice_tg"}, who: alice},
		{name: "expected username, other sender", expect: linking.TelegramUser{Username: "alice_tg"}, who: mallory, want: linking.ErrForeign},
		{name: "expected username, sender without one", expect: linking.TelegramUser{Username: "alice_tg"}, who: linking.TelegramUser{ID: 4101}, want: linking.ErrForeign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clk := newClock()
			tk := mustTokens(t, &linking.MemTokenStore{}, clk)
			tok := mustIssue(t, tk, "alice", tt.expect)
			if tt.prepare != nil {
				tok = tt.prepare(t, tok, tk, clk)
			}
			member, err := tk.Consume(ctx, tok, tt.who)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || member != "" {
					t.Fatalf("Consume = %q, %v; want %v", member, err, tt.want)
				}
				return
			}
			if err != nil || member != "alice" {
				t.Fatalf("Consume = %q, %v; want alice", member, err)
			}
		})
	}
}

// TestTokens_Consume_foreignKeepsToken: a foreign attempt must not use up
// the token of the account it was meant for.
func TestTokens_Consume_foreignKeepsToken(t *testing.T) {
	ctx := context.Background()
	tk := mustTokens(t, &linking.MemTokenStore{}, newClock())
	tok := mustIssue(t, tk, "alice", linking.TelegramUser{ID: 4101})
	if _, err := tk.Consume(ctx, tok, linking.TelegramUser{ID: 666}); !errors.Is(err, linking.ErrForeign) {
		t.Fatalf("foreign Consume = %v; want ErrForeign", err)
	}
	if m, err := tk.Consume(ctx, tok, linking.TelegramUser{ID: 4101}); err != nil || m != "alice" {
		t.Fatalf("rightful Consume = %q, %v; want alice", m, err)
	}
}

func TestTokens_Consume_errors(t *testing.T) {
	ctx := context.Background()
	t.Run("no sender id", func(t *testing.T) {
		tk := mustTokens(t, &linking.MemTokenStore{}, newClock())
		tok := mustIssue(t, tk, "alice", linking.TelegramUser{})
		if _, err := tk.Consume(ctx, tok, linking.TelegramUser{Username: "alice"}); err == nil || linking.CodeOf(err) != "" {
			t.Fatalf("Consume = %v; want an uncoded error", err)
		}
	})
	t.Run("store fails", func(t *testing.T) {
		issuer := mustTokens(t, &linking.MemTokenStore{}, newClock())
		tok := mustIssue(t, issuer, "alice", linking.TelegramUser{})
		tk := mustTokens(t, failingStore{errDisk}, newClock())
		_, err := tk.Consume(ctx, tok, linking.TelegramUser{ID: 1})
		if !errors.Is(err, errDisk) || linking.CodeOf(err) != "" {
			t.Fatalf("Consume = %v; want the store's error, uncoded", err)
		}
	})
	t.Run("take fails", func(t *testing.T) {
		store := &takeHookStore{}
		tk := mustTokens(t, store, newClock())
		tok := mustIssue(t, tk, "alice", linking.TelegramUser{})
		store.beforeTake = func() error { return errDisk }
		if _, err := tk.Consume(ctx, tok, linking.TelegramUser{ID: 1}); !errors.Is(err, errDisk) {
			t.Fatalf("Consume = %v; want the store's error", err)
		}
	})
	t.Run("lost the race between find and take", func(t *testing.T) {
		store := &takeHookStore{}
		clk := newClock()
		tk := mustTokens(t, store, clk)
		tok := mustIssue(t, tk, "alice", linking.TelegramUser{})
		store.beforeTake = func() error {
			store.beforeTake = nil
			if m, err := tk.Consume(ctx, tok, linking.TelegramUser{ID: 2}); err != nil || m != "alice" {
				t.Errorf("racing Consume = %q, %v; want alice", m, err)
			}
			return nil
		}
		if m, err := tk.Consume(ctx, tok, linking.TelegramUser{ID: 1}); !errors.Is(err, linking.ErrUsed) || m != "" {
			t.Fatalf("Consume = %q, %v; want ErrUsed", m, err)
		}
	})
}

// takeHookStore is a MemTokenStore that runs beforeTake before each take.
type takeHookStore struct {
	linking.MemTokenStore
	beforeTake func() error
}

func (s *takeHookStore) TakeToken(ctx context.Context, hash []byte, by int64, now time.Time) (bool, error) {
	if s.beforeTake != nil {
		if err := s.beforeTake(); err != nil {
			return false, err
		}
	}
	return s.MemTokenStore.TakeToken(ctx, hash, by, now)
}

// TestTokens_Consume_concurrent: of 50 senders racing one token, exactly
// one links, and every other is told it was used.
func TestTokens_Consume_concurrent(t *testing.T) {
	const n = 50
	ctx := context.Background()
	store := &linking.MemTokenStore{}
	tk := mustTokens(t, store, newClock())
	tok := mustIssue(t, tk, "alice", linking.TelegramUser{})
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		members = make([]string, n)
		errs    = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			members[i], errs[i] = tk.Consume(ctx, tok, linking.TelegramUser{ID: int64(1000 + i)})
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i := range n {
		switch {
		case errs[i] == nil && members[i] == "alice":
			won++
		case errors.Is(errs[i], linking.ErrUsed) && members[i] == "":
		default:
			t.Errorf("consumer %d: %q, %v; want alice or ErrUsed", i, members[i], errs[i])
		}
	}
	if won != 1 {
		t.Fatalf("%d consumers linked; want exactly 1", won)
	}
}
