package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	tgmodels "github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// /karma and the other answers about one person in a group, which only
// that person sees (ephemeral.go):
//
//	/karma           any member, in a gated group: their standing there
//	                 (karma against the bar, groups, grace, what is
//	                 missing); in a private chat, in every gated chat
//	/status, /who    a chat's admins (and site admins), in the group:
//	                 about that chat only
//	(any message)    someone who does not qualify and speaks in a gated
//	                 group is told so, once a day per group

// Message keys of this file's answers.
const (
	msgKarma         = "karma"
	msgKarmaUnlinked = "karma_not_linked"
	msgNotQualified  = "not_qualified"
	msgAnswerAbout   = "answer_about"
	msgNotGated      = "not_gated"
)

func init() {
	builtinTexts[msgKarma] = map[string]string{
		"en": "{{.Chat}}: your karma is {{.Karma}}, the bar is {{.Need}}{{if .LeaveBelow}} (members stay until below {{.LeaveBelow}}){{end}}. Your groups on the website: {{if .Groups}}{{.Groups}}{{else}}none{{end}}; {{if .Wants}}the chat asks for one of: {{.Wants}}{{else}}any group will do{{end}}." +
			"{{if .Exempt}}\nAn admin exempted you: you may be in whatever your karma.{{else if .Grace}}\nYou are below the bar: unless your karma is back to {{.LeaveBelow}} by {{.Until}}, you will be removed.{{else if .Qualifies}}\nYou qualify{{if .InChat}}, and you are in{{end}}.{{else}}\nYou do not qualify{{if .Reason}}: {{.Reason}}{{end}}.{{end}}" +
			"{{if not .Exempt}}{{if .Short}}\nMissing: {{.Short}} karma.{{end}}{{if .NoGroup}}\nMissing: one of the groups {{.Wants}} on the website.{{end}}{{end}}",
		"ru": "{{.Chat}}: ваша карма {{.Karma}}, нужно {{.Need}}{{if .LeaveBelow}} (участники остаются, пока не ниже {{.LeaveBelow}}){{end}}. Ваши группы на сайте: {{if .Groups}}{{.Groups}}{{else}}нет{{end}}; {{if .Wants}}группе нужна одна из: {{.Wants}}{{else}}подходит любая группа{{end}}." +
			"{{if .Exempt}}\nАдминистратор сделал для вас исключение: вы можете быть в группе при любой карме.{{else if .Grace}}\nВы ниже порога: если до {{.Until}} карма не вернётся к {{.LeaveBelow}}, вас удалят.{{else if .Qualifies}}\nВы проходите{{if .InChat}} и уже в группе{{end}}.{{else}}\nВы не проходите{{if .Reason}}: {{.Reason}}{{end}}.{{end}}" +
			"{{if not .Exempt}}{{if .Short}}\nНе хватает кармы: {{.Short}}.{{end}}{{if .NoGroup}}\nНе хватает одной из групп на сайте: {{.Wants}}.{{end}}{{end}}",
	}
	builtinTexts[msgKarmaUnlinked] = map[string]string{
		"en": "This Telegram account is not linked to a website account, so I cannot tell your standing{{if .Chat}} in {{.Chat}}{{end}}. Link it: open your profile on the website and tap \"Connect Telegram\"; it brings you to @{{.Bot}} with a one-time link.",
		"ru": "Этот Telegram не привязан к аккаунту на сайте, поэтому я не знаю ваш статус{{if .Chat}} в {{.Chat}}{{end}}. Привяжите его: откройте профиль на сайте и нажмите «Подключить Telegram» — ссылка приведёт вас к @{{.Bot}}.",
	}
	builtinTexts[msgNotQualified] = map[string]string{
		"en": "{{.Chat}} is for members of the website who qualify{{if .Linked}}, and you do not{{if .Reason}}: {{.Reason}}{{end}}. Send /karma here to see what is missing.{{else}}, and this Telegram account is not linked to one. Link it from your profile on the website (\"Connect Telegram\"), then send /karma here.{{end}}",
		"ru": "{{.Chat}} — для участников сайта, которые проходят по правилам{{if .Linked}}, а вы не проходите{{if .Reason}}: {{.Reason}}{{end}}. Отправьте здесь /karma, чтобы узнать, чего не хватает.{{else}}, а этот Telegram ни к кому не привязан. Привяжите его в профиле на сайте («Подключить Telegram»), затем отправьте здесь /karma.{{end}}",
	}
	builtinTexts[msgAnswerAbout] = map[string]string{
		"en": "About {{.Chat}} (you asked there; I could not answer you there for your eyes only, so here it is):\n\n",
		"ru": "О группе {{.Chat}} (вы спросили там; ответить там так, чтобы видели только вы, не вышло, поэтому отвечаю здесь):\n\n",
	}
	builtinTexts[msgNotGated] = map[string]string{
		"en": "This group is not one of the gated chats, so it has no karma bar.",
		"ru": "Эта группа не из закрытых чатов, у неё нет порога кармы.",
	}
}

// groupAsker is the person a group message came from, with the chat.
type groupAsker struct {
	u     *update
	chat  int64
	title string
	user  int64
	lang  string
}

func askerOf(u *update) groupAsker {
	m := u.Message
	return groupAsker{u: u, chat: m.Chat.ID, title: m.Chat.Title, user: m.From.ID, lang: m.From.LanguageCode}
}

// answerAsker sends the asker text that only they see, once per update.
func (b *Bot) answerAsker(ctx context.Context, a groupAsker, memberExt *string, text string) error {
	return b.answerKeyed(ctx, a, a.u.key(), memberExt, text)
}

// answerKeyed is answerAsker at most once per key.
func (b *Bot) answerKeyed(ctx context.Context, a groupAsker, key string, memberExt *string, text string) error {
	return b.answerPrivately(ctx, privateAnswer{key: key, chatID: a.chat, title: a.title, userID: a.user,
		memberExt: memberExt, lang: a.lang, text: text})
}

// onKarma answers /karma in a group: the asker's standing in that chat,
// at most once a minute per person and group (the minute the message was
// sent, so that handling it again keeps its key): the answers share the
// group's 19 messages a minute with everything else the bot says there.
func (b *Bot) onKarma(ctx context.Context, u *update) error {
	a := askerOf(u)
	key := fmt.Sprintf("karma/%d/%d/%d", a.chat, a.user, u.Message.Date/60)
	if told, err := b.store.NoticeBegun(ctx, key); err != nil || told {
		if told {
			b.metrics.replyDropped("karma")
		}
		return err
	}
	answer := func(memberExt *string, text string) error { return b.answerKeyed(ctx, a, key, memberExt, text) }
	row, err := b.store.ChatByTelegram(ctx, a.chat)
	if errors.Is(err, models.ErrNotFound) {
		return answer(nil, b.texts.render(msgNotGated, a.lang, textData{}))
	}
	if err != nil {
		return err
	}
	c, ok := b.rules.Chat(row.ChatKey)
	if !ok {
		return answer(nil, b.texts.render(msgNotGated, a.lang, textData{}))
	}
	v, err := b.store.MemberByTelegram(ctx, a.user)
	if errors.Is(err, models.ErrNotFound) {
		return answer(nil, b.texts.render(msgKarmaUnlinked, a.lang, textData{Chat: c.Title, Bot: b.me.Username}))
	}
	if err != nil {
		return err
	}
	ext := v.Member.ExternalID
	return answer(&ext, b.texts.render(msgKarma, a.lang, standing(c, v)))
}

// onKarmaPrivate answers /karma in a private chat: the standing in every
// gated chat.
func (b *Bot) onKarmaPrivate(ctx context.Context, u *update) error {
	from := u.Message.From
	v, err := b.store.MemberByTelegram(ctx, from.ID)
	if errors.Is(err, models.ErrNotFound) {
		return b.reply(ctx, u, from.ID, nil, b.texts.render(msgKarmaUnlinked, from.LanguageCode, textData{Bot: b.me.Username}), nil)
	}
	if err != nil {
		return err
	}
	var parts []string
	for _, c := range b.rules.Chats {
		parts = append(parts, b.texts.render(msgKarma, from.LanguageCode, standing(c, v)))
	}
	ext := v.Member.ExternalID
	return b.answer(ctx, u, from.ID, &ext, strings.Join(parts, "\n\n"), nil)
}

// standing is member v's standing in chat c, for msgKarma.
func standing(c *gate.Chat, v *models.MemberView) textData {
	m := v.Member
	groups := m.Groups()
	d := textData{Chat: c.Title, Linked: true, Karma: m.Karma, Need: c.MinKarma, Groups: strings.Join(groups, ", ")}
	if !c.AnyGroup {
		d.Wants = strings.Join(c.Groups, ", ")
		d.NoGroup = !slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(c.Groups, g) })
	}
	if c.LeaveBelow != c.MinKarma {
		d.LeaveBelow = c.LeaveBelow
	}
	var st models.ChatState
	for _, s := range v.Chats {
		if s.ChatKey == c.Key {
			st = s
		}
	}
	state := gate.State(st.State)
	d.InChat = st.InChat || state == gate.StateMember || state == gate.StateGrace || state == gate.StateRemoving
	bar := c.MinKarma
	if d.InChat {
		bar = c.LeaveBelow // who is in stays until below leave_below
	}
	if m.Karma < bar {
		d.Short = bar - m.Karma
	}
	d.Exempt = state == gate.StateExempt
	d.Qualifies = admits(state)
	if state == gate.StateGrace && st.GraceUntil != nil {
		d.Grace = true
		d.LeaveBelow = c.LeaveBelow
		d.Until = st.GraceUntil.UTC().Format("2006-01-02 15:04 UTC")
	}
	d.Reason = st.Reason
	return d
}

// onGroupAdminQuery answers /status and /who in a group, to the admin who
// asked alone, about that group's chat only. Anyone else is told, as
// privately, that the command is for admins.
func (b *Bot) onGroupAdminQuery(ctx context.Context, u *update, cmd, args string) error {
	a := askerOf(u)
	row, err := b.store.ChatByTelegram(ctx, a.chat)
	if errors.Is(err, models.ErrNotFound) {
		return b.answerAsker(ctx, a, nil, b.texts.render(msgNotGated, a.lang, textData{}))
	}
	if err != nil {
		return err
	}
	site := b.isSiteAdmin(a.user)
	ok := site
	if !ok {
		if ok, err = b.isChatAdmin(ctx, a.chat, a.user); err != nil {
			return err
		}
	}
	if !ok {
		return b.answerAsker(ctx, a, nil, b.texts.render(msgAdminsOnly, a.lang, textData{Command: cmd}))
	}
	rows := []models.ChatRow{*row}
	var text string
	switch cmd {
	case "status":
		// Who is inside, counted now (people.go); a failed count shows
		// the last one.
		if _, cerr := b.PeopleInside(ctx, row.ChatKey); cerr != nil {
			b.log.WarnContext(ctx, "count the people inside", "chat", row.ChatKey, "err", cerr)
		}
		text, err = b.statusText(ctx, rows)
	case "who":
		text, err = b.whoText(ctx, strings.TrimSpace(args), rows, site)
	default:
		return fmt.Errorf("group admin query: unknown command %q", cmd)
	}
	var refusal *adminRefusal
	if errors.As(err, &refusal) {
		text, err = refusal.msg, nil
	}
	if err != nil {
		return err
	}
	return b.answerAsker(ctx, a, nil, text)
}

// notQualifiedKeyLayout makes the "you do not qualify" notice's key one
// a day (UTC) per person and group: told at most once a day there.
const notQualifiedKeyLayout = "2006-01-02"

// onGroupSpeech tells someone who speaks in a gated group without
// qualifying for it (no linked account, or a state that does not admit
// them: flagged, waiting under dry run, not yet removed) that they do not
// qualify and what to do, privately, at most once a day per group. Admins
// and site admins are never told.
func (b *Bot) onGroupSpeech(ctx context.Context, u *update) error {
	if !speech(u.Message) {
		return nil // a service message: someone joined, left, …
	}
	a := askerOf(u)
	if b.isSiteAdmin(a.user) {
		return nil
	}
	row, err := b.store.ChatByTelegram(ctx, a.chat)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	c, ok := b.rules.Chat(row.ChatKey)
	if !ok {
		return nil
	}
	d := textData{Chat: c.Title}
	var ext *string
	v, err := b.store.MemberByTelegram(ctx, a.user)
	switch {
	case errors.Is(err, models.ErrNotFound):
	case err != nil:
		return err
	default:
		for _, st := range v.Chats {
			if st.ChatKey == c.Key {
				if admits(gate.State(st.State)) || gate.State(st.State) == gate.StateGrace {
					return nil // qualifies (or is in grace, told by DM already)
				}
				d.Reason = st.Reason
			}
		}
		d.Linked = true
		e := v.Member.ExternalID
		ext = &e
	}
	day := time.Unix(int64(u.Message.Date), 0).UTC().Format(notQualifiedKeyLayout) // the message's: stable when handled again
	key := fmt.Sprintf("not_qualified/%d/%d/%s", a.chat, a.user, day)
	if told, err := b.store.NoticeBegun(ctx, key); err != nil || told {
		return err
	}
	if admin, err := b.isChatAdmin(ctx, a.chat, a.user); err != nil || admin {
		return err
	}
	return b.answerPrivately(ctx, privateAnswer{key: key, chatID: a.chat, title: c.Title, userID: a.user,
		memberExt: ext, lang: a.lang, text: b.texts.render(msgNotQualified, a.lang, d)})
}

// speech reports whether m is someone saying something (text, a caption,
// media), not a service message.
func speech(m *tgmodels.Message) bool {
	return m.Text != "" || m.Caption != "" || m.Photo != nil || m.Sticker != nil || m.Video != nil ||
		m.Document != nil || m.Voice != nil || m.Animation != nil || m.Audio != nil || m.VideoNote != nil
}
