package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/models"
)

// Relinking needs the old account: a deep link, Login Widget payload or
// shared contact that would move a member linked to one Telegram account
// to another records a request (models.Store.LinkOrAsk) and asks the
// account linked now, by DM with Confirm and Refuse buttons. Their
// callback_data is "rl:<request id>:<c|r>:<mac>", the MAC (HMAC-SHA256
// under a key derived from the master secret, over the id, the answer and
// the old account's user id) binding the button to that request, that
// answer and that account: a press by anyone else, or data made up, fails
// the MAC before the store is asked; the store still checks the presser,
// the request's status (answered once) and its lifetime.

// relinkStore settles a relink request with the old account's answer.
type relinkStore interface {
	DecideRelink(ctx context.Context, id, by int64, confirm bool, actor string) (models.RelinkDecision, error)
}

const (
	relinkPrefix  = "rl:"
	relinkMACLen  = 12 // bytes, 16 base64url characters
	relinkConfirm = "c"
	relinkRefuse  = "r"
)

// relinkData is the callback_data of one button of request r.
func (b *Bot) relinkData(r *models.Relink, answer string) string {
	return fmt.Sprintf("%s%d:%s:%s", relinkPrefix, r.ID, answer, b.relinkMAC(r.ID, answer, r.OldTgUserID))
}

func (b *Bot) relinkMAC(id int64, answer string, oldUser int64) string {
	m := hmac.New(sha256.New, b.relinkKey)
	fmt.Fprintf(m, "relink %d %s %d", id, answer, oldUser)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:relinkMACLen])
}

// parseRelinkData reads a button's data as pressed by presser: ok is false
// unless the MAC says presser is the account the button was made for.
func (b *Bot) parseRelinkData(data string, presser int64) (id int64, confirm, ok bool) {
	parts := strings.Split(strings.TrimPrefix(data, relinkPrefix), ":")
	if len(parts) != 3 || (parts[1] != relinkConfirm && parts[1] != relinkRefuse) {
		return 0, false, false
	}
	id, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != parts[0] {
		return 0, false, false
	}
	want := b.relinkMAC(id, parts[1], presser)
	if !hmac.Equal([]byte(parts[2]), []byte(want)) {
		return 0, false, false
	}
	return id, parts[1] == relinkConfirm, true
}

// askOldAccount queues the DM that asks the account linked now to confirm
// or refuse request r (once per request).
func (b *Bot) askOldAccount(ctx context.Context, v *models.MemberView, r *models.Relink) error {
	d := textData{Name: displayName(v.Member, nil), User: relinkWho(r), Until: r.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")}
	lang := ""
	if v.Member.LanguageCode != nil {
		lang = *v.Member.LanguageCode
	}
	err := b.store.QueueNotice(ctx, "", r.OldTgUserID, r.MemberExt, models.NoticePayload{
		Key: fmt.Sprintf("relink/%d/ask", r.ID), Kind: "relink_ask", Text: b.texts.render(msgRelinkAsk, lang, d),
		Buttons: [][]models.NoticeButton{{
			{Text: b.texts.render(msgRelinkConfirmButton, lang, d), Data: b.relinkData(r, relinkConfirm)},
			{Text: b.texts.render(msgRelinkRefuseButton, lang, d), Data: b.relinkData(r, relinkRefuse)},
		}},
	})
	if err != nil {
		return fmt.Errorf("ask the linked account: %w", err)
	}
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return nil
}

// relinkWho names the account that asks: its name and @username.
func relinkWho(r *models.Relink) string {
	who := r.NewName
	if r.NewUsername != nil {
		if who != "" {
			who += " "
		}
		who += "(@" + *r.NewUsername + ")"
	}
	if who == "" {
		who = "Telegram user " + strconv.FormatInt(r.NewTgUserID, 10)
	}
	return who
}

// onRelinkPress handles a press of Confirm or Refuse under a relink
// request.
func (b *Bot) onRelinkPress(ctx context.Context, u *update) error {
	q := u.CallbackQuery
	lang := q.From.LanguageCode
	answer := func(text string) error {
		err := b.c.do(ctx, q.From.ID, callOther, func(ctx context.Context) error {
			_, err := b.c.tg.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: q.ID, Text: text})
			return err
		})
		if f := classify(err); err != nil && (f == failRefused || f == failMissing) {
			return nil // the query is too old, or was never Telegram's
		}
		return err
	}
	id, confirm, ok := b.parseRelinkData(q.Data, q.From.ID)
	if !ok {
		b.metrics.link("relink_forged")
		b.log.WarnContext(ctx, "relink button refused: not made for this account", "user", q.From.ID)
		return answer(b.texts.render(msgRelinkNotYours, lang, textData{}))
	}
	d, err := b.store.DecideRelink(ctx, id, q.From.ID, confirm, "bot")
	if errors.Is(err, models.ErrNotFound) {
		return answer(b.texts.render(msgRelinkClosed, lang, textData{}))
	}
	if err != nil {
		return fmt.Errorf("decide relink %d: %w", id, err)
	}
	b.metrics.link("relink_" + d.Outcome)
	b.log.InfoContext(ctx, "relink answered", "request", id, "member", d.Relink.MemberExt, "by", q.From.ID, "outcome", d.Outcome)
	r := &d.Relink
	td := textData{Name: r.MemberExt, User: relinkWho(r)}
	var oldText string
	switch d.Outcome {
	case models.RelinkNotYours:
		return answer(b.texts.render(msgRelinkNotYours, lang, td))
	case models.RelinkClosed:
		return answer(b.texts.render(msgRelinkClosed, lang, td))
	case models.RelinkExpired:
		oldText = b.texts.render(msgRelinkExpired, lang, td)
	case models.RelinkRefused:
		oldText = b.texts.render(msgRelinkRefusedOld, lang, td)
		newLang := ""
		if r.NewLanguage != nil {
			newLang = *r.NewLanguage
		}
		err := b.store.QueueNotice(ctx, "", r.NewTgUserID, "", models.NoticePayload{
			Key: fmt.Sprintf("relink/%d/refused", r.ID), Kind: "relink_refused", Text: b.texts.render(msgRelinkRefusedNew, newLang, td),
		})
		if err != nil {
			return err
		}
	case models.RelinkConfirmed:
		if err := b.tellConfirmed(ctx, r, d.Link); err != nil {
			return err
		}
		oldText = b.texts.render(msgRelinkConfirmedOld, lang, td)
	}
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	if err := answer(oldText); err != nil {
		return err
	}
	b.editPressed(ctx, q, oldText)
	return nil
}

// tellConfirmed tells the new account it is linked now, with where it may
// go (the linking answer it waited for), and the old one that it left.
func (b *Bot) tellConfirmed(ctx context.Context, r *models.Relink, res models.LinkResult) error {
	m := res.View.Member
	newUser := &tgmodels.User{ID: r.NewTgUserID, FirstName: r.NewName}
	d, err := b.summary(ctx, res.View, newUser, res.Probing...)
	if err != nil {
		return err
	}
	lang := ""
	if r.NewLanguage != nil {
		lang = *r.NewLanguage
	}
	text := b.texts.render(msgLinked, lang, d)
	if res.Previous != "" {
		d.Previous = res.Previous
		text = b.texts.render(msgTakenOver, lang, d) + "\n\n" + text
	}
	err = b.store.QueueNotice(ctx, "", r.NewTgUserID, m.ExternalID, models.NoticePayload{
		Key: fmt.Sprintf("relink/%d/linked", r.ID), Kind: "relink_confirmed", Text: text,
	})
	if err != nil {
		return err
	}
	return b.store.QueueNotice(ctx, "", r.OldTgUserID, m.ExternalID, models.NoticePayload{
		Key: fmt.Sprintf("moved/r%d", r.ID), Kind: "link_moved", Text: b.texts.render(msgLinkMoved, "", textData{Name: displayName(m, nil)}),
	})
}

// editPressed replaces the question under the buttons with its outcome
// and takes the buttons away; a failure only costs the tidy-up.
func (b *Bot) editPressed(ctx context.Context, q *tgmodels.CallbackQuery, text string) {
	msg := q.Message.Message
	if msg == nil || msg.Chat.ID != q.From.ID {
		return
	}
	err := b.c.do(ctx, msg.Chat.ID, callMessage, func(ctx context.Context) error {
		_, err := b.c.tg.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: msg.Chat.ID, MessageID: msg.ID, Text: text})
		return err
	})
	if err := ignoreDone(err); err != nil {
		b.log.WarnContext(ctx, "edit a relink question", "err", err)
	}
}

// relinkExpires is when a request made now through a way without a token
// of its own (the Login Widget, a shared contact) lapses: a deep link's
// lifetime.
func (b *Bot) relinkExpires() time.Time {
	return b.opts.Now().Add(b.opts.Tokens.TTL())
}
