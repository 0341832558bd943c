package bot

import (
	"context"
	"strings"

	tgmodels "github.com/go-telegram/bot/models"
)

// command splits "/cmd@bot args" into cmd and args; ok is false for text
// that is not a command, or a command addressed to another bot.
func (b *Bot) command(text string) (cmd, args string, ok bool) {
	if !strings.HasPrefix(text, "/") {
		return "", "", false
	}
	head, args, _ := strings.Cut(text, " ")
	cmd, at, addressed := strings.Cut(head[1:], "@")
	if addressed && !strings.EqualFold(at, b.me.Username) {
		return "", "", false
	}
	return strings.ToLower(cmd), strings.TrimSpace(args), cmd != ""
}

// onMessage handles a message: commands, shared contacts and chats in
// private chats; /bind and /unbind in groups.
func (b *Bot) onMessage(ctx context.Context, u *update) error {
	m := u.Message
	if anonymousAdmin(m) {
		return errUpdate(u, b.onAnonymous(ctx, u)) // from @GroupAnonymousBot (anonymous.go)
	}
	if m.From == nil || m.From.IsBot {
		return nil
	}
	if m.Chat.Type != tgmodels.ChatTypePrivate {
		return errUpdate(u, b.onGroupMessage(ctx, u))
	}
	b.reachable(ctx, m.From.ID) // any private message: the bot may write to them again
	b.adminCommandsFor(ctx, m.From.ID)
	switch {
	case m.Contact != nil:
		return errUpdate(u, b.onContact(ctx, u))
	case m.ChatShared != nil:
		return errUpdate(u, b.onChatShared(ctx, u))
	}
	cmd, args, ok := b.command(m.Text)
	if !ok {
		return errUpdate(u, b.sendHelp(ctx, u))
	}
	var err error
	switch cmd {
	case "start":
		err = b.onStart(ctx, u, args)
	case "unlink":
		err = b.onUnlink(ctx, u)
	case "setup":
		err = b.onSetup(ctx, u)
	case "status", "rules", "who", "sync", "pending", "confirm", "exempt", "unexempt":
		err = b.onAdminCommand(ctx, u, cmd, args)
	case "karma":
		err = b.onKarmaPrivate(ctx, u)
	default:
		err = b.sendHelp(ctx, u)
	}
	return errUpdate(u, err)
}

// sendHelp answers with the commands the asker may use: a member's, and
// the admin commands for an admin of a bound chat or a site admin.
func (b *Bot) sendHelp(ctx context.Context, u *update) error {
	from := u.Message.From
	lang := from.LanguageCode
	d := textData{Bot: b.me.Username}
	text := b.texts.render(msgHelp, lang, d)
	switch {
	case b.isSiteAdmin(from.ID):
		text += b.texts.render(msgHelpChatAdmin, lang, d) + b.texts.render(msgHelpSiteAdmin, lang, d)
	default:
		rows, err := b.adminChats(ctx, from.ID, "")
		if err != nil {
			return err
		}
		if len(rows) > 0 {
			text += b.texts.render(msgHelpChatAdmin, lang, d)
		}
	}
	return b.reply(ctx, u, from.ID, nil, text, nil)
}

// onGroupMessage handles /bind, /unbind, /pending and /confirm in a group,
// and answers /karma, /status and /who, and someone who does not qualify
// and speaks, to that person alone (karma.go); the bot ignores everything
// else said in groups.
func (b *Bot) onGroupMessage(ctx context.Context, u *update) error {
	m := u.Message
	if m.Chat.Type != tgmodels.ChatTypeSupergroup && m.Chat.Type != tgmodels.ChatTypeGroup {
		return nil
	}
	if ok, err := b.onMigration(ctx, u); ok {
		return err
	}
	b.seeInGroup(ctx, m)
	cmd, args, ok := b.command(m.Text)
	if !ok {
		return b.onGroupSpeech(ctx, u)
	}
	switch cmd {
	case "karma":
		return b.onKarma(ctx, u)
	case "status", "who":
		return b.onGroupAdminQuery(ctx, u, cmd, args)
	case "bind":
		return b.onBind(ctx, u, args)
	case "unbind":
		return b.onUnbind(ctx, u, args)
	case "pending", "confirm":
		return b.onGroupAdminCommand(ctx, u, cmd)
	case "welcome":
		return b.onWelcome(ctx, u)
	case "audit":
		return b.onAudit(ctx, u, args)
	}
	return nil
}
