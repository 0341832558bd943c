// Package sandbox is an embedded Telegram for tests and the demo: one
// world.World served over the Bot API (package botapi, HTTP) and MTProto
// (package mtproto, gotd's tgtest), plus a control API under /sandbox/ on
// the Bot API's address and a Go API on *Sandbox that play the people.
//
// Start it in-process with Start(ctx, Config{}) (":0" addresses by default)
// or as `karmagate sandbox`. Env and WriteEnvFile give the variables that
// point `karmagate serve` at it: TELEGRAM_BOT_API_URL, TELEGRAM_BOT_TOKEN,
// TELEGRAM_API_ID, TELEGRAM_API_HASH, TELEGRAM_DC_ADDR, TELEGRAM_SERVER_KEY;
// OIDCEnv the OpenID Connect client of the issuer it serves (package oidc):
// TELEGRAM_OIDC_ISSUER, TELEGRAM_OIDC_CLIENT_ID, TELEGRAM_OIDC_CLIENT_SECRET.
//
// Control API (ids are Bot API ids: users positive, supergroups -100…;
// a field a call does not take is a 400 naming the fields it takes):
//
//	POST /sandbox/users                      create a person: first_name, last_name, username, phone, privacy, password, language_code, dc
//	DELETE /sandbox/users/{id}               delete a person: gone from every chat, request and contact list
//	POST /sandbox/users/{id}/messages        the person sends text to chat_id (default: the bot)
//	POST /sandbox/users/{id}/contact         the person shares their own contact with the bot
//	POST /sandbox/users/{id}/join            the person opens invite_link → {"result","reason"}
//	POST /sandbox/users/{id}/leave           the person leaves chat_id
//	POST /sandbox/users/{id}/block           the person blocks the bot ({"blocked": false} unblocks)
//	POST /sandbox/users/{id}/privacy         who may add the person to groups: everybody, contacts, nobody
//	POST /sandbox/users/{id}/press           the person presses an inline button: message_id, data, chat_id
//	POST /sandbox/users/{id}/share_chat      the person answers a request_chat button: request_id, chat_id
//	POST /sandbox/users/{id}/restrict        the person's account is reported for spam: USER_RESTRICTED ({"restricted": false} lifts it)
//	POST /sandbox/users/{id}/ban_account     Telegram bans the account: USER_DEACTIVATED_BAN, PHONE_NUMBER_BANNED ({"banned": false} lifts it)
//	POST /sandbox/users/{id}/send_code       what auth.sendCode answers for the phone: PHONE_NUMBER_FLOOD, SEND_CODE_UNAVAILABLE, email_setup, payment, ""
//	POST /sandbox/users/{id}/scan            the person scans a QR login code: url
//	POST /sandbox/users/{id}/webapp          the person opens a web_app button they received (a guard bot's Mini App): url → {"url" with #tgWebAppData, "init_data", "bot_id", "auth_date"}
//	POST /sandbox/users/{id}/authorize       the person consents to Log in with Telegram: client_id, scope
//	GET  /sandbox/oidc                       the OpenID Connect client: issuer, client_id, client_secret, redirect_urls
//	POST /sandbox/oidc/redirects             allow one more redirect URL: url
//	POST /sandbox/oidc/forge                 make the next ID token faulty: kind (audience, expired, signature, nonce, issuer)
//	GET  /sandbox/callbacks/{query_id}       the bot's answer to a press
//	GET  /sandbox/users/{id}/messages        what the person received
//	POST /sandbox/chats                      a person creates a supergroup: title, creator, about
//	POST /sandbox/chats/{chat_id}/admins     the creator makes user_id (default: the bot) an admin
//	POST /sandbox/chats/{chat_id}/guard_bot  the creator names user_id (default: the bot; 0: none) guard bot
//	GET  /sandbox/chats                      the world's chats
//	GET  /sandbox/chats/{chat_id}/members    a chat's real member list (?banned=1 adds the banned)
//	GET  /sandbox/chats/{chat_id}/links      a chat's invite links (unmasked), with use counts
//	GET  /sandbox/chats/{chat_id}/requests   a chat's pending join requests
//	GET  /sandbox/codes/{phone}              the last login code sent to the phone
//	GET  /sandbox/calls                      the last 10000 Bot API and MTProto calls (?api=, ?method=, ?since=seq)
//	POST /sandbox/faults                     faults: rate (0–1), seed, kinds (5xx, timeout, drop, 429, duplicate)
//	POST /sandbox/bot/groups                 BotFather's Allow Groups? for the bot: allowed (false: BOT_GROUPS_BLOCKED)
//	POST /sandbox/reset                      empty the world; the bot and its token stay, ids are never reused
//
// The HTTP wiring (http.go) sits between Start (sandbox.go) and the two
// APIs it serves: the control handlers (control.go, over the Go API in
// people.go) and package botapi.
//
// What the sandbox emulates and where it differs from Telegram is written
// in the package docs of world, botapi and mtproto, and in README.md.
package sandbox
