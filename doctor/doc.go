// Package doctor checks a karmagate configuration against the real world
// before (or beside) serve: the bot's token, the webhook, the bot's rights
// in every bound chat, privacy mode, the userbot accounts, the database,
// the clock, TLS in front. Each check says what is right, or what is wrong
// and what to do about it; a report is production-ready when no check
// failed (warnings allowed).
//
// The checks know their dependencies only as small interfaces (Bot,
// Store), so that they are tested without Telegram or a database; BotAPI
// implements Bot over HTTP, and karmagate's command wires a Store over
// its models. The package imports no MTProto: what the userbot accounts
// are is read from the store, where the pool records it.
package doctor
