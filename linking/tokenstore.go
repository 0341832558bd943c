package linking

import (
	"context"
	"time"
)

// TokenRecord is what the store keeps for one token: never the token itself.
type TokenRecord struct {
	Hash           []byte    // HMAC-SHA256 of the token (32 bytes): the primary key
	MemberID       string    // the website member the token was issued for
	ExpectUserID   int64     // only this Telegram user may consume it; 0 = see ExpectUsername
	ExpectUsername string    // with ExpectUserID 0: only this username (lower case, no '@'); "" = anyone
	CreatedAt      time.Time // whole seconds, UTC
	ExpiresAt      time.Time // valid while now is before this
	UsedAt         time.Time // zero while unused
	UsedBy         int64     // the Telegram user who consumed it
	// Replace: the website vouched for moving a member linked to another
	// Telegram account without that account's confirmation.
	Replace bool
}

// admits reports whether who may consume the token.
func (r TokenRecord) admits(who TelegramUser) bool {
	return Admits(TelegramUser{ID: r.ExpectUserID, Username: r.ExpectUsername}, who)
}

// Admits reports whether the Telegram account who is the one expect names
// (the website's idea of the member's account). A user id is
// authoritative; a username only counts when no id was given, since
// usernames change hands (compared without '@' and case); a zero expect
// admits anyone. Deep links and the Login Widget check the same way.
func Admits(expect, who TelegramUser) bool {
	switch {
	case expect.ID != 0:
		return who.ID == expect.ID
	case normUsername(expect.Username) != "":
		return normUsername(who.Username) == normUsername(expect.Username)
	default:
		return true
	}
}

// TokenStore keeps token records. The models package implements it on the
// database; MemTokenStore is an in-memory one for tests.
//
// TakeToken is what makes a token single use, so it must be atomic: in SQL
// one conditional UPDATE,
//
//	UPDATE link_tokens SET used_at = ?now, used_by = ?usedBy
//	 WHERE hash = ?hash AND used_at IS NULL AND expires_at > ?now
//
// with taken = (rows affected == 1). Of any number of concurrent callers
// exactly one sees a row affected; no transaction or read is needed. Rows
// may be deleted once expired (a sweep of expires_at < now - a day, say);
// a deleted token then reads as ErrUnknown rather than ErrExpired.
type TokenStore interface {
	// SaveToken stores a new record; its hash is unique.
	SaveToken(ctx context.Context, rec TokenRecord) error
	// FindToken returns the record with this hash; found is false when
	// there is none.
	FindToken(ctx context.Context, hash []byte) (rec TokenRecord, found bool, err error)
	// TakeToken marks the record used by usedBy at now if it exists, is
	// unused and expires after now, all in one atomic step; taken reports
	// whether this call did it.
	TakeToken(ctx context.Context, hash []byte, usedBy int64, now time.Time) (taken bool, err error)
}
