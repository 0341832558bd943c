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
	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
)

// memberStore finds website members: by id, by Telegram account, username
// or phone, and page by page.
type memberStore interface {
	FindMember(ctx context.Context, id string) (*models.MemberView, error)
	MemberByTelegram(ctx context.Context, tgUserID int64) (*models.MemberView, error)
	MemberByTgUsername(ctx context.Context, username string) (*models.MemberView, error)
	MembersByPhone(ctx context.Context, phone string) ([]models.Member, error)
	ListMembers(ctx context.Context, f models.MemberFilter) ([]models.MemberListItem, error)
}

// linkStore links a member to a Telegram account (or records a relink
// request) and unlinks them.
type linkStore interface {
	LinkOrAsk(ctx context.Context, id string, req models.LinkRequest, actor string) (models.LinkResult, error)
	UnlinkTelegram(ctx context.Context, id, actor string) (*models.MemberView, error)
}

// tokenTexts says which message answers which token failure.
var tokenTexts = map[linking.Code]string{
	linking.CodeOf(linking.ErrMalformed): msgTokenMalformed,
	linking.CodeOf(linking.ErrForged):    msgTokenForged,
	linking.CodeOf(linking.ErrUnknown):   msgTokenUnknown,
	linking.CodeOf(linking.ErrExpired):   msgTokenExpired,
	linking.CodeOf(linking.ErrUsed):      msgTokenUsed,
	linking.CodeOf(linking.ErrForeign):   msgTokenForeign,
}

// onStart links the sender to the member a deep-link token names, or
// explains how to link when there is no token.
func (b *Bot) onStart(ctx context.Context, u *update, param string) error {
	from := u.Message.From
	if param == "" {
		kb := &tgmodels.ReplyKeyboardMarkup{
			Keyboard:        [][]tgmodels.KeyboardButton{{{Text: b.texts.render(msgContactAsk, from.LanguageCode, textData{}), RequestContact: true}}},
			ResizeKeyboard:  true,
			OneTimeKeyboard: true,
		}
		return b.reply(ctx, u, from.ID, nil, b.texts.render(msgStartHelp, from.LanguageCode, textData{Bot: b.me.Username}), kb)
	}
	if groupStart.MatchString(param) {
		return b.onGroupStart(ctx, u, param) // the welcome post's button (welcome.go)
	}
	c, err := b.opts.Tokens.ConsumeLink(ctx, param, linking.TelegramUser{ID: from.ID, Username: from.Username})
	if err != nil {
		key, known := tokenTexts[linking.CodeOf(err)]
		if !known {
			return fmt.Errorf("consume link token: %w", err)
		}
		b.metrics.link(string(linking.CodeOf(err)))
		b.log.InfoContext(ctx, "link token refused", "user", from.ID, "why", linking.CodeOf(err))
		return b.reply(ctx, u, from.ID, nil, b.texts.render(key, from.LanguageCode, textData{}), nil)
	}
	return b.link(ctx, u, c.MemberID, from, msgLinked, linkVia{via: "token", replace: c.Replace, expires: c.ExpiresAt})
}

// linkVia says how a link was asked for: through what, whether the
// website vouched for moving a linked member without its account
// (replace), and until when the account linked now may confirm a move.
type linkVia struct {
	via     string
	replace bool
	expires time.Time
}

// link links member to the sender and answers with where they stand; a
// member linked to another account is not moved but asked about
// (askOldAccount), and the sender told to wait.
func (b *Bot) link(ctx context.Context, u *update, memberID string, from *tgmodels.User, textKey string, via linkVia) error {
	res, err := b.store.LinkOrAsk(ctx, memberID, models.LinkRequest{
		User: models.TelegramUser{ID: from.ID, Username: from.Username, LanguageCode: from.LanguageCode},
		Name: fullName(from), Via: via.via, Replace: via.replace, Expires: via.expires,
	}, "bot")
	if errors.Is(err, models.ErrNotFound) {
		// The website deleted the member after issuing the link.
		b.metrics.link("member_gone")
		return b.reply(ctx, u, from.ID, nil, b.texts.render(msgTokenUnknown, from.LanguageCode, textData{}), nil)
	}
	if err != nil {
		return fmt.Errorf("link %s: %w", memberID, err)
	}
	if res.Pending != nil {
		b.metrics.link("relink_asked")
		if err := b.askOldAccount(ctx, res.View, res.Pending); err != nil {
			return err
		}
		d := textData{Until: res.Pending.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"), Unreachable: res.View.Member.UnreachableAt != nil}
		// Not throttled: the answer to a link the website issued.
		return b.answer(ctx, u, from.ID, nil, b.texts.render(msgRelinkPending, from.LanguageCode, d), &tgmodels.ReplyKeyboardRemove{RemoveKeyboard: true})
	}
	b.metrics.link("linked")
	if res.PreviousAccount != 0 {
		err := b.store.QueueNotice(ctx, "", res.PreviousAccount, memberID, models.NoticePayload{
			Key: "moved/" + u.key(), Kind: "link_moved", Text: b.texts.render(msgLinkMoved, "", textData{Name: displayName(res.View.Member, nil)}),
		})
		if err != nil {
			return err
		}
	}
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	d, err := b.summary(ctx, res.View, from, res.Probing...)
	if err != nil {
		return err
	}
	text := b.texts.render(textKey, from.LanguageCode, d)
	if textKey != msgLinked {
		text += "\n\n" + b.texts.render(msgLinked, from.LanguageCode, d)
	}
	if res.Previous != "" {
		d.Previous = res.Previous
		text = b.texts.render(msgTakenOver, from.LanguageCode, d) + "\n\n" + text
	}
	m := res.View.Member
	return b.reply(ctx, u, from.ID, &m.ExternalID, text, &tgmodels.ReplyKeyboardRemove{RemoveKeyboard: true})
}

// summary describes where a member stands in each chat that concerns
// them, with the join link where they may join now.
//
// probing names the chats where a probe asks whether they are inside
// already: the invite there sends the link only if they are not.
func (b *Bot) summary(ctx context.Context, v *models.MemberView, from *tgmodels.User, probing ...string) (textData, error) {
	m := v.Member
	d := textData{Bot: b.me.Username, Member: m.ExternalID, Name: displayName(m, from)}
	rows, err := b.store.ChatRows(ctx)
	if err != nil {
		return d, err
	}
	for i, st := range v.Chats {
		row := rows[i]
		line := chatLine{Title: row.Title, Reason: st.Reason, Ready: row.TgChatID != nil && row.BotStatus == "administrator"}
		if c, ok := b.rules.Chat(st.ChatKey); ok {
			line.Title = c.Title
		}
		switch gate.State(st.State) {
		case gate.StateMember, gate.StateGrace:
			line.In = true
		case gate.StateEligible, gate.StateInvited, gate.StateExempt:
			if st.InChat {
				line.In = true
			} else if slices.Contains(probing, st.ChatKey) {
				line.Checking = true
			} else if c, ok := b.rules.Chat(st.ChatKey); ok && c.PersonalLinks {
				line.Personal = true // the invite brings a link of their own
			} else if row.TgChatID != nil && row.JoinLink != nil {
				// RelinkTelegram recorded the invite's message as given
				// here, so the invite sends no second one.
				line.Link = *row.JoinLink
			}
		case gate.StateNotEligible, gate.StateRemoved:
			if !strings.HasPrefix(st.Reason, "karma") {
				continue // not their group: no news
			}
		}
		d.Chats = append(d.Chats, line)
	}
	return d, nil
}

// displayName is how the bot names a member to their face: their name on
// the website, else their member id there.
func displayName(m *models.Member, _ *tgmodels.User) string {
	if m.Name != nil && *m.Name != "" {
		return *m.Name + " (" + m.ExternalID + ")"
	}
	return m.ExternalID
}

// onUnlink undoes the sender's link.
func (b *Bot) onUnlink(ctx context.Context, u *update) error {
	from := u.Message.From
	v, err := b.store.MemberByTelegram(ctx, from.ID)
	if errors.Is(err, models.ErrNotFound) {
		return b.reply(ctx, u, from.ID, nil, b.texts.render(msgNotLinked, from.LanguageCode, textData{}), nil)
	}
	if err != nil {
		return err
	}
	if _, err := b.store.UnlinkTelegram(ctx, v.Member.ExternalID, "bot"); err != nil && !errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("unlink: %w", err)
	}
	b.metrics.link("unlinked")
	b.Wake()
	return b.reply(ctx, u, from.ID, &v.Member.ExternalID, b.texts.render(msgUnlinked, from.LanguageCode, textData{Name: displayName(v.Member, from)}), nil)
}

// onContact links the sender through their own shared contact, when its
// phone is a member's phone on the website. A contact that is not the
// sender's own (contact.user_id differs) is refused.
func (b *Bot) onContact(ctx context.Context, u *update) error {
	from, c := u.Message.From, u.Message.Contact
	lang := from.LanguageCode
	err := linking.CheckContact(linking.Contact{PhoneNumber: c.PhoneNumber, UserID: c.UserID}, from.ID, "")
	if errors.Is(err, linking.ErrForeignContact) {
		b.metrics.link("contact_foreign")
		return b.reply(ctx, u, from.ID, nil, b.texts.render(msgContactForeign, lang, textData{}), nil)
	}
	phone, perr := linking.NormalizePhone(c.PhoneNumber)
	if perr != nil {
		b.metrics.link("contact_no_match")
		return b.reply(ctx, u, from.ID, nil, b.texts.render(msgContactNoMatch, lang, textData{}), nil)
	}
	ms, err := b.store.MembersByPhone(ctx, phone)
	if err != nil {
		return err
	}
	if len(ms) != 1 {
		// None, or several members share it: the phone does not say who.
		b.metrics.link("contact_no_match")
		return b.reply(ctx, u, from.ID, nil, b.texts.render(msgContactNoMatch, lang, textData{}), &tgmodels.ReplyKeyboardRemove{RemoveKeyboard: true})
	}
	b.metrics.link("contact_matched")
	return b.link(ctx, u, ms[0].ExternalID, from, msgContactLinked, linkVia{via: "contact", expires: b.relinkExpires()})
}

// LoginWidget links a member through the Telegram Login Widget's fields
// (api.WidgetLinker): the signature and age are checked, a payload is good
// once, the account must be the one the member's username names (as with
// a deep link), and a member linked to another account is not moved: the
// request is returned pending and that account asked to confirm it.
func (b *Bot) LoginWidget(ctx context.Context, memberID string, fields map[string]string) (*models.MemberView, *models.Relink, error) {
	if b.opts.Widget == nil {
		return nil, nil, errors.New("login widget: not configured")
	}
	u, err := b.opts.Widget.Verify(ctx, fields)
	if err != nil {
		b.metrics.link("widget_" + string(linking.CodeOf(err)))
		return nil, nil, err
	}
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	res, err := b.linkFromWeb(ctx, memberID, webLink{
		via: "widget", user: models.TelegramUser{ID: u.ID, Username: u.Username}, name: name,
		foreign: linking.ErrWidgetForeign, movedKey: fmt.Sprintf("moved/w%d/%d", u.ID, u.AuthDate.Unix()),
	})
	if err != nil {
		return nil, nil, err
	}
	if res.Pending != nil {
		return res.View, res.Pending, nil
	}
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return res.View, nil, nil
}

// webLink is a link a person made on the web (the Login Widget, Log in
// with Telegram), checked already: who they are and how to say so.
type webLink struct {
	via      string // "widget" or "oidc": the metrics' and the audit trail's name
	user     models.TelegramUser
	name     string
	foreign  error  // the error when the account is not the one the member's username names
	movedKey string // the idempotency key of the notice to an account the member moves from
}

// linkFromWeb links a member to the account of a web login as a deep link
// does: the account must be the one the member's username names, and a
// member linked to another account is not moved (the result is Pending
// and that account is asked to confirm). The account the member moved
// from, if any, is told.
func (b *Bot) linkFromWeb(ctx context.Context, memberID string, l webLink) (models.LinkResult, error) {
	v, err := b.store.FindMember(ctx, memberID)
	if err != nil {
		return models.LinkResult{}, err
	}
	var expect linking.TelegramUser
	if v.Member.Username != nil {
		expect.Username = *v.Member.Username
	}
	if !linking.Admits(expect, linking.TelegramUser{ID: l.user.ID, Username: l.user.Username}) {
		b.metrics.link(l.via + "_" + string(linking.CodeOf(l.foreign)))
		return models.LinkResult{}, l.foreign
	}
	res, err := b.store.LinkOrAsk(ctx, memberID, models.LinkRequest{
		User: l.user, Name: l.name, Via: l.via, Expires: b.relinkExpires(),
	}, l.via)
	if err != nil {
		return models.LinkResult{}, err
	}
	if res.Pending != nil {
		b.metrics.link(l.via + "_relink_asked")
		if err := b.askOldAccount(ctx, res.View, res.Pending); err != nil {
			return models.LinkResult{}, err
		}
		return res, nil
	}
	b.metrics.link(l.via + "_linked")
	if res.PreviousAccount != 0 {
		err := b.store.QueueNotice(ctx, "", res.PreviousAccount, memberID, models.NoticePayload{
			Key: l.movedKey, Kind: "link_moved", Text: b.texts.render(msgLinkMoved, "", textData{Name: displayName(res.View.Member, nil)}),
		})
		if err != nil {
			return models.LinkResult{}, err
		}
	}
	return res, nil
}

// fullName is a Telegram account's first and last name.
func fullName(u *tgmodels.User) string {
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}
