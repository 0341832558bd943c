// Package login is Log in with Telegram over OpenID Connect, beside the
// legacy Login Widget: the website sends a member to
// GET /auth/telegram?member=ID&exp=UNIX&sig=HEX (sig: HMAC-SHA256 under
// KARMAGATE_LINK_SECRET, see Sign), or to a link from
// POST /api/v1/members/{id}/login-url (LoginURL). karmagate records the
// login under a hash of a random state (the PKCE verifier and the nonce
// are derived from the state under a key from the master secret, so the
// database holds no secret of it), binds it to the browser with a
// cookie, and sends the person to the issuer (Telegram's,
// https://oauth.telegram.org, or the sandbox's; its endpoints from
// discovery) for the authorization code flow with PKCE S256.
//
// The return (GET /auth/telegram/callback) must come to the same browser
// with a state not yet used (one conditional UPDATE spends it); the code
// is exchanged with the client secret (HTTP Basic) and the verifier, and
// the ID token checked with github.com/coreos/go-oidc: signature against
// the issuer's JWKS, issuer, audience (the client id), expiry, then the
// nonce and the id claim against sub. The member is linked through the
// Linker (the bot: the deep link's rules, so a member linked to another
// account is not moved without that account's word), the phone_number
// claim recorded as the account's verified phone, and the person sent to
// KARMAGATE_PROFILE_URL with ?telegram=linked, ?telegram=pending or
// ?telegram=error&reason=… (or to karmagate's own page at DonePath).
package login
