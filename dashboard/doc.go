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
// Sign-in takes the API key (KARMAGATE_API_KEY) or, when configured, a
// per-admin name and bcrypt password (KARMAGATE_ADMIN_USERS, in htpasswd's
// "name:hash" form). A session is a cookie (Secure, HttpOnly,
// SameSite=Strict) signed with HMAC-SHA256 under a key derived from
// KARMAGATE_SECRET; it names the credential it was made with, so changing
// the API key or a password ends the sessions made with the old one. Every
// form that changes something carries the session's CSRF token. Pages are
// sent with a Content-Security-Policy that allows no script and no framing.
//
// The dashboard reads and writes through the small interfaces it declares
// (Store, Userbots, RemovalConfirmer); *models.Store is its Store.
package dashboard
