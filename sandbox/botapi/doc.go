// Package botapi emulates Telegram's Bot API over HTTP on top of a
// world.World, so that unmodified clients (go-telegram/bot, curl) run
// against it: /bot<token>/<method>, GET or POST with a query string, JSON,
// x-www-form-urlencoded or multipart/form-data, answers shaped as Telegram's
// ({"ok":true,"result":…} or {"ok":false,"error_code":…,"description":…,
// "parameters":{"retry_after":N}}).
//
// Served: getMe, getUpdates (offset, limit, long-poll timeout,
// allowed_updates; 409 while a webhook is set or when a newer poll starts),
// setWebhook, deleteWebhook, getWebhookInfo (delivery with
// X-Telegram-Bot-Api-Secret-Token, retried with backoff on non-2xx; a
// method call in the webhook's answer is run like telegram-bot-api does),
// sendMessage and sendContact (reply_markup checked as Telegram does:
// inline keyboards, reply keyboards with request_contact and request_chat
// in private chats only; ephemeral_message_parameters, Bot API 10.2/10.3:
// a group message only its receiver sees, ephemeral.go), deleteMessage, editMessageText,
// editMessageReplyMarkup, answerCallbackQuery, set/get/deleteMyCommands
// (per scope and language_code), getChat (guard_bot for admins),
// getChatMember (tag), getChatMemberCount, getChatAdministrators,
// create/edit/revoke/exportChatInviteLink, approve/declineChatJoinRequest,
// answerChatJoinRequestQuery, sendChatJoinRequestWebApp, setChatMemberTag,
// banChatMember, unbanChatMember, promoteChatMember (can_manage_tags),
// leaveChat. Other methods answer 404 "Not Found", unknown tokens 401
// "Unauthorized".
//
// Requests are checked against the embedded Bot API 10.3 specification
// (required parameters, integer and JSON parameters) before they run.
// Updates: message (private messages to the bot, incl. /start <param> with
// its bot_command entity, shared contacts and chat_shared; group messages
// to admin bots, commands to member bots), callback_query, chat_join_request
// (to admin bots with can_invite_users; to the guard bot alone, with
// query_id, while its join-request query is open), chat_member (to admin
// bots, only when allowed_updates names it), my_chat_member.
//
// Differences from Telegram: webhooks get updates one at a time in order
// (max_connections is recorded, not used); plain HTTP webhooks on any port
// are accepted for local hosts (loopback, private addresses, localhost,
// single-label names) unless Options.StrictWebhookURL (Telegram
// requires HTTPS on 443, 80, 88 or 8443); parse_mode (HTML, MarkdownV2,
// Markdown) becomes text and entities and malformed markup is refused with
// Telegram's "can't parse entities" errors, but the parsers cover the common
// tags and marks, not every corner (no tg-emoji ids, no expandable quotes);
// no files; keyboards act only through the world's PressButton and
// ShareChat (callback_data, request_chat, request_contact); inline
// messages (inline_message_id) do not exist; sendChatJoinRequestWebApp
// shows the Mini App as a private message with a web_app button, which the
// control API opens (world.OpenWebApp), and keeps the query open for
// world.Limits.JoinRequestWebAppTTL; no service messages
// (new_chat_members, left_chat_member) in groups;
// update ids start at 1 per bot; updates are kept 24 hours by the world's
// clock, and at most Options.MaxPendingUpdates per bot (oldest dropped), so
// a clock that stands still cannot keep them forever; a world reset drops
// them (update ids go on). Faults (world.SetFaults) apply per request: "5xx" answers 500,
// "429" a spurious retry_after 1, "drop" closes the connection unanswered,
// "timeout" runs the method and then never answers, "duplicate" (only when
// named) posts a webhook update twice with the same update_id.
package botapi
