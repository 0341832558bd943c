package linking

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Token layout: base64url without padding of 16 random bytes followed by the
// first 8 bytes of HMAC-SHA256(macKey, random). 24 bytes make exactly 32
// characters, so every token has one spelling and fits Telegram's 64
// character start parameter.
const (
	tokenRandLen = 16
	tokenMACLen  = 8
	tokenRawLen  = tokenRandLen + tokenMACLen
	// TokenLen is the length of every token, in characters.
	TokenLen = (tokenRawLen * 8) / 6
)

// HKDF info strings: changing one changes every token and stored hash.
const (
	infoMAC  = "karmagate link token mac v1"
	infoHash = "karmagate link token hash v1"
)

// DefaultTokenTTL is how long a token stays valid unless told otherwise
// (KARMAGATE_LINK_TTL).
const DefaultTokenTTL = 15 * time.Minute

// MinSecretLen is the shortest master secret accepted, in bytes.
const MinSecretLen = 32

// TelegramUser is a Telegram account as far as linking cares: its id and,
// when it has one, its username (with or without '@', any case).
type TelegramUser struct {
	ID       int64
	Username string
}

// TokenOptions configures Tokens. Secret and Store are required; the rest
// have defaults.
type TokenOptions struct {
	Secret []byte           // the master secret (KARMAGATE_SECRET), at least MinSecretLen bytes
	Store  TokenStore       // where token records live
	TTL    time.Duration    // how long a token is valid; DefaultTokenTTL when zero
	Now    func() time.Time // the clock; time.Now when nil
	Rand   io.Reader        // randomness; crypto/rand when nil
}

// Tokens issues and consumes deep-link tokens. It is safe for concurrent use.
type Tokens struct {
	macKey  []byte
	hashKey []byte
	store   TokenStore
	ttl     time.Duration
	now     func() time.Time
	rand    io.Reader
}

// NewTokens checks the options and derives the token keys from the secret.
func NewTokens(opts TokenOptions) (*Tokens, error) {
	if len(opts.Secret) < MinSecretLen {
		return nil, fmt.Errorf("link tokens: secret is %d bytes, need at least %d", len(opts.Secret), MinSecretLen)
	}
	if opts.Store == nil {
		return nil, errors.New("link tokens: no token store")
	}
	if opts.TTL < 0 {
		return nil, fmt.Errorf("link tokens: negative TTL %s", opts.TTL)
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTokenTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	macKey, err := hkdf.Key(sha256.New, opts.Secret, nil, infoMAC, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("link tokens: derive mac key: %w", err)
	}
	hashKey, err := hkdf.Key(sha256.New, opts.Secret, nil, infoHash, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("link tokens: derive hash key: %w", err)
	}
	return &Tokens{macKey: macKey, hashKey: hashKey, store: opts.Store, ttl: opts.TTL, now: opts.Now, rand: opts.Rand}, nil
}

// Issue creates a token for the member and stores its hash. expect names the
// Telegram account the website knows the member by, if any: then only that
// account may consume the token (by id when expect.ID is set, otherwise by
// username, compared without '@' and case); a zero expect lets anyone.
// Times are whole seconds in UTC, so they survive a DATETIME column.
func (t *Tokens) Issue(ctx context.Context, memberID string, expect TelegramUser) (token string, expires time.Time, err error) {
	return t.issue(ctx, memberID, expect, false)
}

// IssueReplace is Issue for a token whose use moves a member linked to
// another Telegram account without asking that account (ConsumeLink says
// Replace): the website's answer when the old account cannot confirm.
func (t *Tokens) IssueReplace(ctx context.Context, memberID string, expect TelegramUser) (token string, expires time.Time, err error) {
	return t.issue(ctx, memberID, expect, true)
}

func (t *Tokens) issue(ctx context.Context, memberID string, expect TelegramUser, replace bool) (token string, expires time.Time, err error) {
	if memberID == "" {
		return "", time.Time{}, errors.New("issue link token: empty member id")
	}
	var raw [tokenRawLen]byte
	if _, err := io.ReadFull(t.rand, raw[:tokenRandLen]); err != nil {
		return "", time.Time{}, fmt.Errorf("issue link token: read random: %w", err)
	}
	copy(raw[tokenRandLen:], t.mac(raw[:tokenRandLen]))
	token = base64.RawURLEncoding.EncodeToString(raw[:])

	now := t.now().UTC().Truncate(time.Second)
	rec := TokenRecord{
		Hash:           t.hash(token),
		MemberID:       memberID,
		ExpectUserID:   expect.ID,
		ExpectUsername: normUsername(expect.Username),
		CreatedAt:      now,
		ExpiresAt:      now.Add(t.ttl),
		Replace:        replace,
	}
	if err := t.store.SaveToken(ctx, rec); err != nil {
		return "", time.Time{}, fmt.Errorf("issue link token: %w", err)
	}
	return token, rec.ExpiresAt, nil
}

// URL is the deep link that hands token to the bot: https://t.me/<bot>?start=<token>.
func URL(botUsername, token string) string {
	return "https://t.me/" + url.PathEscape(strings.TrimPrefix(botUsername, "@")) + "?start=" + url.QueryEscape(token)
}

// Check reports whether token is well formed (ErrMalformed) and was issued
// under this deployment's secret (ErrForged), without reading the store.
func (t *Tokens) Check(token string) error {
	if len(token) != TokenLen {
		return ErrMalformed
	}
	for i := range len(token) {
		if !isTokenByte(token[i]) {
			return ErrMalformed
		}
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != tokenRawLen {
		return ErrMalformed
	}
	if !hmac.Equal(raw[tokenRandLen:], t.mac(raw[:tokenRandLen])) {
		return ErrForged
	}
	return nil
}

// Consume checks the token, marks it used by who and returns the member it
// was issued for; linking the two is the caller's next step. Of any number
// of concurrent calls with one token exactly one succeeds (TokenStore's
// TakeToken decides, atomically) and the others get ErrUsed. Failures are
// *Error values: ErrMalformed, ErrForged, ErrUnknown, ErrExpired, ErrUsed,
// ErrForeign; a foreign attempt leaves the token for its rightful owner.
// Anything else is a storage failure, worth a retry. The person who used a
// token may use it again until it expires and gets the same member: that is
// a caller retrying after a crash between consuming and linking.
func (t *Tokens) Consume(ctx context.Context, token string, who TelegramUser) (memberID string, err error) {
	c, err := t.ConsumeLink(ctx, token, who)
	return c.MemberID, err
}

// Consumed is what a consumed token grants.
type Consumed struct {
	MemberID string
	// Replace: move the member even when linked to another account,
	// without asking it (IssueReplace).
	Replace bool
	// ExpiresAt is the end of the token's lifetime: a request to the
	// member's account linked now lasts as long.
	ExpiresAt time.Time
}

// ConsumeLink is Consume, telling also how the token was issued.
func (t *Tokens) ConsumeLink(ctx context.Context, token string, who TelegramUser) (Consumed, error) {
	if err := t.Check(token); err != nil {
		return Consumed{}, err
	}
	if who.ID == 0 {
		return Consumed{}, errors.New("consume link token: sender has no Telegram user id")
	}
	hash := t.hash(token)
	rec, found, err := t.store.FindToken(ctx, hash)
	if err != nil {
		return Consumed{}, fmt.Errorf("consume link token: %w", err)
	}
	now := t.now()
	ok := Consumed{MemberID: rec.MemberID, Replace: rec.Replace, ExpiresAt: rec.ExpiresAt}
	switch {
	case !found:
		return Consumed{}, ErrUnknown
	case !rec.UsedAt.IsZero() && rec.UsedBy == who.ID && now.Before(rec.ExpiresAt):
		// The same person again before it expires: the bot retrying an
		// update after a crash between consuming the token and linking.
		return ok, nil
	case !rec.UsedAt.IsZero():
		return Consumed{}, ErrUsed
	case !now.Before(rec.ExpiresAt):
		return Consumed{}, ErrExpired
	case !rec.admits(who):
		return Consumed{}, ErrForeign
	}
	taken, err := t.store.TakeToken(ctx, hash, who.ID, now)
	if err != nil {
		return Consumed{}, fmt.Errorf("consume link token: %w", err)
	}
	if !taken {
		return Consumed{}, ErrUsed // another consumer won the race
	}
	return ok, nil
}

// TTL is how long a token stays valid.
func (t *Tokens) TTL() time.Duration { return t.ttl }

func (t *Tokens) mac(random []byte) []byte {
	m := hmac.New(sha256.New, t.macKey)
	m.Write(random)
	return m.Sum(nil)[:tokenMACLen]
}

// hash is what the store keeps: HMAC-SHA256 of the token under its own key.
func (t *Tokens) hash(token string) []byte {
	m := hmac.New(sha256.New, t.hashKey)
	m.Write([]byte(token))
	return m.Sum(nil)
}

func isTokenByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// normUsername is a username's comparison key: no '@', lower case
// (Telegram usernames are ASCII and case-insensitive).
func normUsername(s string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "@"))
}
