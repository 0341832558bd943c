// Package dashboard is karmagate's admin dashboard, served under /admin on
// KARMAGATE_LISTEN beside the REST API.
//
// It is rendered on the server with html/template; the templates, the
// stylesheet and the logo are embedded in the binary, there is no
// JavaScript and no front-end build, and the charts are SVG drawn by Go.
// Its pages: the gated chats with their counts, the members with their
// link and per-chat state, the planned removals, the userbot accounts, the
// audit trail and the charts.
//
// Sign-in takes a per-admin name and bcrypt password
// (KARMAGATE_ADMIN_USERS, in htpasswd's "name:hash" form) or, only when
// Options.APIKeySignIn is set (KARMAGATE_DASHBOARD_API_KEY), the API key.
// Failed sign-ins are limited per name and per client address, the slot
// taken before the password is checked; an unknown name is checked against
// a dummy hash of the configured cost. The client's address comes from
// X-Forwarded-For only when the peer is a trusted proxy.
//
// A session is a row (SessionStore): the cookie (Secure, HttpOnly,
// SameSite=Strict) carries a random token, the row an HMAC of it under a
// key derived from KARMAGATE_SECRET and the fingerprint of the credential
// signed in with. Signing out deletes the row, "sign out everywhere"
// deletes the admin's rows, and a changed password or key no longer
// matches the fingerprint. Every form that changes something carries the
// session's CSRF token. Pages are sent with a Content-Security-Policy that
// allows no script and no framing.
//
// The dashboard reads and writes through the small interfaces it declares
// (Store, SessionStore, Userbots, RemovalConfirmer); *models.Store is its
// Store and its SessionStore.
package dashboard
