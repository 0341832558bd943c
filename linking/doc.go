// Package linking ties a website member to a Telegram user.
//
// It owns the three ways a member proves which Telegram account is theirs,
// and the interface for a fourth that needs Telegram's help:
//
//   - Deep-link tokens (Tokens): the website asks for a link, the member taps
//     https://t.me/<bot>?start=<token>, the bot receives /start <token> and
//     Consume names the member. A token is 128 random bits and a 64-bit MAC
//     under a key derived from KARMAGATE_SECRET, so a forged token, or one
//     from another deployment, is refused without a database read. The store
//     keeps only an HMAC of each token, so a copy of the database holds no
//     usable token. Tokens are single use and short-lived. IssueReplace
//     issues one whose use may move a member linked to another account
//     without that account's confirmation (ConsumeLink says Replace).
//   - The Telegram Login Widget (VerifyWidget, Widget): the website forwards
//     the widget's signed fields; they are checked against the bot token,
//     refused when stale, and refused when replayed. Admits is the username
//     check both share: the account must be the one the website names.
//   - The member's phone (NormalizePhone, CheckContact): the bot asks for the
//     user's own contact and compares it with the phone on the member's
//     record.
//   - Phone resolution (PhoneResolver, Chain): for members who never opened
//     the bot, a phone number is turned into a Telegram user by whichever
//     path can (the Bot API's sendContact trick, a userbot's importContacts),
//     with an honest "unresolved" when Telegram does not say.
//
// Nothing here talks to Telegram or to a database: storage comes in through
// small interfaces (TokenStore, WidgetReplayStore) that the models package
// implements, with in-memory versions here for tests. Failures the bot
// explains to a user are *Error values with a Code; compare them with
// errors.Is against the Err… values or switch on CodeOf.
package linking
