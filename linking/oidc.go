package linking

import "time"

// OIDCUser is the Telegram account an ID token of Telegram's OpenID
// Connect issuer names, its signature, issuer, audience, nonce and expiry
// checked (package login does that).
type OIDCUser struct {
	ID       int64  // the id claim (the Telegram user id)
	Username string // preferred_username, "" when the account has none
	Name     string // name
	// Phone is phone_number in E.164, given when the person granted the
	// phone scope; "" otherwise.
	Phone    string
	IssuedAt time.Time // iat
}
