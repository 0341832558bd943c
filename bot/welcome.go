package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	tgmodels "github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

// Onboarding a group that had a life before karmagate: /welcome posts and
// pins a message whose button opens the bot (?start=g<chat>), where the
// person is told to link from their profile on the website
// (KARMAGATE_PROFILE_URL); strangers on a clock (strangers: remove_after)
// are told once when it starts.

const (
	msgWelcomePost   = "welcome_post"
	msgWelcomeButton = "welcome_button"
	msgWelcomeStart  = "welcome_start"
	msgWelcomeNoPin  = "welcome_no_pin"
	msgStrangerClock = "stranger_clock"
)

func init() {
	builtinTexts[msgWelcomePost] = map[string]string{
		"en": "Welcome to {{.Chat}}! This group is for the website's members. If you are one, tap the button below and link your Telegram account from your profile on the website: that is how you keep your place here.",
		"ru": "Добро пожаловать в «{{.Chat}}»! Эта группа для участников сайта. Если вы один из них, нажмите кнопку ниже и привяжите Telegram в своём профиле на сайте: так вы сохраните место в группе.",
	}
	builtinTexts[msgWelcomeButton] = map[string]string{
		"en": "Link my account",
		"ru": "Привязать аккаунт",
	}
	builtinTexts[msgWelcomeStart] = map[string]string{
		"en": "{{.Chat}} is for the website's members. To link this Telegram account, open your profile on the website{{if .Link}} ({{.Link}}){{end}} and tap \"Connect Telegram\": it brings you back here with a one-time link.",
		"ru": "«{{.Chat}}» — группа для участников сайта. Чтобы привязать этот Telegram, откройте свой профиль на сайте{{if .Link}} ({{.Link}}){{end}} и нажмите «Подключить Telegram»: ссылка вернёт вас сюда.",
	}
	builtinTexts[msgWelcomeNoPin] = map[string]string{
		"en": "I posted the welcome message but could not pin it: give me the right to pin messages, or pin it yourself.",
		"ru": "Я опубликовал приветствие, но не смог его закрепить: дайте мне право закреплять сообщения или закрепите его сами.",
	}
	builtinTexts[msgStrangerClock] = map[string]string{
		"en": "You are in {{.Chat}}, which is for the website's members who link their Telegram account. Link yours from your profile on the website{{if .Link}} ({{.Link}}){{end}} before {{.Until}}, or you will be removed from the group then.",
		"ru": "Вы в группе «{{.Chat}}», она для участников сайта, привязавших Telegram. Привяжите свой в профиле на сайте{{if .Link}} ({{.Link}}){{end}} до {{.Until}}, иначе тогда вас удалят из группы.",
	}
}

// groupStart is the start parameter of the welcome post's button: g and
// the group's Bot API id. A deep-link token is never this short and never
// all digits.
var groupStart = regexp.MustCompile(`^g-?[0-9]{1,20}$`)

// welcomeURL is the welcome post's button: the bot, started with the group.
func (b *Bot) welcomeURL(chatID int64) string {
	return "https://t.me/" + b.me.Username + "?start=g" + strconv.FormatInt(chatID, 10)
}

// onWelcome posts and pins the welcome message in a bound group, for the
// group's admins and the site's admins. Handled again after a crash, it
// posts nothing twice (the post is a notice keyed by the update).
func (b *Bot) onWelcome(ctx context.Context, u *update) error {
	m := u.Message
	row, ok, err := b.groupAdminRow(ctx, u, "welcome")
	if !ok || err != nil {
		return err
	}
	title := row.Title
	if c, ok := b.rules.Chat(row.ChatKey); ok {
		title = c.Title
	}
	lang := m.From.LanguageCode
	kb := &tgmodels.InlineKeyboardMarkup{InlineKeyboard: [][]tgmodels.InlineKeyboardButton{{{
		Text: b.texts.render(msgWelcomeButton, lang, textData{}), URL: b.welcomeURL(m.Chat.ID),
	}}}}
	n := models.Notice{IdemKey: "welcome/" + u.key(), TgUserID: m.Chat.ID, Kind: "welcome"}
	if err := b.c.send.wait(ctx, m.Chat.ID, callMessage); err != nil {
		return err
	}
	fresh, err := b.store.BeginNotice(ctx, n)
	if err != nil || !fresh {
		return err // posted before (or cut short by a crash): never twice
	}
	msg, err := b.sendInTurn(ctx, m.Chat.ID, b.texts.render(msgWelcomePost, lang, textData{Chat: title}), kb)
	if err != nil {
		if ferr := b.store.FinishNotice(ctx, n.IdemKey, models.NoticeFailed, err.Error()); ferr != nil {
			b.log.WarnContext(ctx, "record a failed welcome post", "err", ferr)
		}
		return b.chatFailure(err)
	}
	if err := b.store.FinishNotice(ctx, n.IdemKey, models.NoticeSent, ""); err != nil {
		b.log.WarnContext(ctx, "record the welcome post", "err", err)
	}
	err = b.c.do(ctx, m.Chat.ID, callOther, func(ctx context.Context) error {
		return b.c.call(ctx, "pinChatMessage", map[string]any{"chat_id": m.Chat.ID, "message_id": msg.ID, "disable_notification": true}, nil)
	})
	b.metrics.sent("pinChatMessage", err)
	if err != nil {
		b.log.WarnContext(ctx, "pin the welcome post", "chat", row.ChatKey, "err", err)
		return b.groupReply(ctx, u, m.Chat.ID, b.texts.render(msgWelcomeNoPin, lang, textData{}))
	}
	b.log.InfoContext(ctx, "welcome post pinned", "chat", row.ChatKey, "message", msg.ID)
	return nil
}

// groupAdminRow finds the bound chat of a group command and checks that
// its sender is the group's admin or a site admin, answering in the group
// when not; ok is false when the command goes no further.
func (b *Bot) groupAdminRow(ctx context.Context, u *update, cmd string) (*models.ChatRow, bool, error) {
	m := u.Message
	row, err := b.store.ChatByTelegram(ctx, m.Chat.ID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, false, b.groupReply(ctx, u, m.Chat.ID, "This group is not bound to any chat of the rules: /bind <chat key> first.")
	}
	if err != nil {
		return nil, false, err
	}
	ok := b.isSiteAdmin(m.From.ID)
	if !ok {
		if ok, err = b.isChatAdmin(ctx, m.Chat.ID, m.From.ID); err != nil {
			return nil, false, err
		}
	}
	if !ok {
		return nil, false, b.groupReply(ctx, u, m.Chat.ID, b.texts.render(msgAdminsOnly, m.From.LanguageCode, textData{Command: cmd}))
	}
	return row, true, nil
}

// onGroupStart answers someone who tapped the welcome post's button: how
// to link from their profile on the website.
func (b *Bot) onGroupStart(ctx context.Context, u *update, param string) error {
	from := u.Message.From
	id, _ := strconv.ParseInt(param[1:], 10, 64)
	title := ""
	if row, err := b.store.ChatByTelegram(ctx, id); err == nil {
		title = row.Title
		if c, ok := b.rules.Chat(row.ChatKey); ok {
			title = c.Title
		}
	} else if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if title == "" {
		return b.reply(ctx, u, from.ID, nil, b.texts.render(msgStartHelp, from.LanguageCode, textData{Bot: b.me.Username}), nil)
	}
	return b.reply(ctx, u, from.ID, nil, b.texts.render(msgWelcomeStart, from.LanguageCode, textData{Chat: title, Link: b.opts.ProfileURL}), nil)
}

// execTellStranger tells a stranger whose clock started (strangers:
// remove_after) when they will be removed unless they link: once, where
// Telegram lets the bot write to them (someone who never started the bot
// is recorded unreachable, and told nothing).
func (b *Bot) execTellStranger(ctx context.Context, a *models.Action) error {
	if a.TgUserID == nil || a.Payload == nil {
		return worker.Permanent(errors.New("tell_stranger without an account or a time"))
	}
	until, err := time.Parse(time.RFC3339, *a.Payload)
	if err != nil {
		return worker.Permanent(fmt.Errorf("tell_stranger: %w", err))
	}
	title := a.ChatKey
	if c, ok := b.rules.Chat(a.ChatKey); ok {
		title = c.Title
	}
	text := b.texts.render(msgStrangerClock, "", textData{Chat: title, Link: b.opts.ProfileURL, Until: until.UTC().Format("2006-01-02 15:04 UTC")})
	return b.notify(ctx, models.Notice{IdemKey: fmt.Sprintf("stranger/%s/t%d", a.ChatKey, *a.TgUserID), TgUserID: *a.TgUserID, Kind: "stranger_clock"}, text, nil)
}
