package bot

import (
	"context"

	tgmodels "github.com/go-telegram/bot/models"
)

// Anonymous admins (issue 14 #3). An admin with "Remain anonymous" posts
// as the group: the message comes from @GroupAnonymousBot, a bot, with
// sender_chat the group, and nothing says which admin sent it. The bot
// cannot check that admin's authority, so it does not act on their
// commands, but it answers them — in the group, saying why and what to do
// instead — rather than dropping them as it drops other bots' messages.

// anonymousAdmin reports whether m was posted by an anonymous admin of its
// group (sender_chat is the group itself; a linked channel's posts have
// sender_chat the channel).
func anonymousAdmin(m *tgmodels.Message) bool {
	return m.SenderChat != nil && m.SenderChat.ID == m.Chat.ID &&
		(m.Chat.Type == tgmodels.ChatTypeGroup || m.Chat.Type == tgmodels.ChatTypeSupergroup)
}

// anonymousInstead says, per group command, what an anonymous admin can
// do instead in a private chat with the bot.
var anonymousInstead = map[string]string{
	"bind":    "where site admins bind with /setup (a bind code works here once \"Remain anonymous\" is off)",
	"unbind":  "where site admins see their chats with /status (a bind code works here once \"Remain anonymous\" is off)",
	"pending": "send /pending <chat> there",
	"confirm": "send /confirm <chat> there",
	"status":  "send /status <chat> there",
	"who":     "send /who <member> there",
}

// onAnonymous answers a group command from an anonymous admin.
func (b *Bot) onAnonymous(ctx context.Context, u *update) error {
	m := u.Message
	cmd, _, ok := b.command(m.Text)
	if !ok {
		return nil
	}
	instead, ok := anonymousInstead[cmd]
	if !ok {
		return nil
	}
	b.log.InfoContext(ctx, "command from an anonymous admin: explained, not run", "chat", m.Chat.ID, "command", cmd)
	text := b.texts.render(msgAnonymousAdmin, "", textData{Bot: b.me.Username, Command: cmd, Reason: instead})
	return b.groupReply(ctx, u, m.Chat.ID, text)
}
