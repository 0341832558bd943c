// Package oidc is the sandbox's OpenID Connect issuer, shaped like
// Telegram's (oauth.telegram.org): the issuer URL is the sandbox's Bot
// API address, with discovery at /.well-known/openid-configuration, the
// JWKS (one RS256 key, made when first needed) at /.well-known/jwks.json, the
// authorization endpoint at /auth and the token endpoint at /token.
//
// One client, the sandbox's bot: client id = the bot's id, a client secret
// made at start, redirect URLs allowed one by one (AllowRedirect, as in
// BotFather's Web Login settings). Authorize takes the authorization code
// flow with PKCE S256 only and scopes among openid (required), profile,
// phone and telegram:bot_access. The person is the one signed in by the
// UserCookie (a sign-in page sets it); one who consented before through
// Authorize (the control API's POST /sandbox/users/{id}/authorize) to the
// scopes asked for, or whose browser carries AutoConsentCookie, gets a
// code at once, anyone else a consent page with
// Accept, Decline, a "share my phone" box and an "allow messages" box
// (telegram:bot_access: granted, the bot may write to the person first,
// through People's AllowWrites when it has one). Token takes
// client_secret_basic or client_secret_post (one of them), spends the
// code on first sight, and checks redirect_uri and the verifier; the ID
// token carries iss, aud, sub, exp, iat, nonce, id, name,
// preferred_username, picture and, with the phone scope granted and a
// phone on the account, phone_number. Forge makes the next ID token
// faulty (another audience, expired, signed by another key, another
// nonce or issuer), for tests of a relying party.
package oidc
