// Package bot is karmagate's Telegram bot, on the Bot API.
//
// It links website members to Telegram accounts (/start with a deep-link
// token, a shared contact, the Login Widget through the API), lets eligible
// members into the gated chats through each chat's join-request link and
// keeps everyone else out (a join request is approved only for a linked
// member whose state qualifies, so a leaked link admits nobody), learns who
// is really in each chat from chat_member updates, carries out the outbox's
// actions for the worker pool (invite, uninvite, warn, remove, flag, and
// the survey of who is inside a group bound over people), and answers group
// admins' commands. A group bound while people are in it besides its admins
// starts in dry run: its removals wait for an admin's /confirm.
//
// A member linked to one Telegram account is moved to another only when
// that account confirms with a button (relink.go) or through a link the
// website issued with replace. A person who is no member is answered at
// most once a minute (throttle.go).
//
// At a chat whose rules say door: app, the bot as guard bot shows someone
// who does not qualify yet its Mini App (package door) instead of declining,
// holds the request open in the outbox, approves it during a visit once
// they qualify, and otherwise decides it as it would have at once
// (door.go).
//
// Updates arrive by webhook (Options.WebhookURL) or long polling, and are
// stored before they are acknowledged and processed after, in order per
// user or group, so a crash loses none and processes none twice. Every call
// to Telegram goes through one Sender that paces it to Telegram's limits; a
// 429 holds up only the chat it concerns. Messages to people are recorded
// before they are sent, so a crash never sends one twice.
//
// go-telegram/bot (Bot API 9.4) makes the calls it knows; the newer ones
// (join-request queries of Bot API 10.1, member tags of 9.5) go through a
// small wrapper over the same HTTP client, server and token.
package bot
