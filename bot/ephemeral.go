package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

// Answers only the asker sees (Bot API 10.2 ephemeral messages; their
// parameters are EphemeralMessageParameters since 10.3). /karma, an
// admin's /status and /who in a group, and the notice to someone who
// speaks in a gated group without qualifying are about one person: the
// bot answers them in the group with ephemeral_message_parameters, so
// that only they see it. Where the chat does not allow it (or Telegram
// refuses it for any other reason) the answer goes by DM instead; where
// the DM is impossible too (they never started the bot, blocked it) it is
// not sent at all: one person's standing never goes to the whole group.

// privateAnswer is an answer in a group for one person's eyes only.
type privateAnswer struct {
	key       string // the notice's idempotency key: at most one answer per key
	chatID    int64  // the group, Bot API id
	title     string // the group's title, named in the DM fallback
	userID    int64  // the asker
	memberExt *string
	lang      string
	text      string
}

// noEphemeralFor is how long the bot goes straight to DMs in a chat that
// refused an ephemeral message, before it tries one there again.
const noEphemeralFor = 10 * time.Minute

// answerPrivately sends a: ephemerally in the group where the chat
// allows, else by DM, else not at all. Like notify, at most once per key:
// the notice is recorded once the group's turn has come and before the
// call; a refusal (nothing sent) forgets it again and hands the same key
// to the DM, so that one of the two goes out, never both.
func (b *Bot) answerPrivately(ctx context.Context, a privateAnswer) error {
	if b.ephemeralRefused(a.chatID) {
		return b.answerByDM(ctx, a)
	}
	if err := b.c.send.wait(ctx, a.chatID, callMessage); err != nil {
		return err // nothing recorded: the update comes back and asks again
	}
	n := models.Notice{IdemKey: a.key, TgUserID: a.userID, MemberExt: a.memberExt, Kind: "ephemeral"}
	fresh, err := b.store.BeginNotice(ctx, n)
	if err != nil {
		return fmt.Errorf("record notice: %w", err)
	}
	if !fresh {
		return nil // answered before (here or by DM), or cut short by a crash
	}
	err = b.sendEphemeral(ctx, a.chatID, a.userID, a.text)
	var retry *worker.RetryError
	f := classifyIn(a.chatID, err)
	switch {
	case err == nil:
		if err := b.store.FinishNotice(ctx, a.key, models.NoticeSent, ""); err != nil {
			b.log.WarnContext(ctx, "record a sent ephemeral answer", "key", a.key, "err", err)
		}
		return nil
	case errors.As(err, &retry), f == failNotSent, errors.Is(err, context.Canceled) && ctx.Err() != nil:
		if ferr := b.store.ForgetNotice(ctx, a.key); ferr != nil {
			return errors.Join(err, ferr)
		}
		return err
	case f == failUnknown:
		// It may have reached them: never a second answer by DM.
		if ferr := b.store.FinishNotice(ctx, a.key, models.NoticeFailed, "outcome unknown, not sent again: "+err.Error()); ferr != nil {
			b.log.WarnContext(ctx, "record an ephemeral answer", "key", a.key, "err", ferr)
		}
		b.log.WarnContext(ctx, "ephemeral answer: outcome unknown", "chat", a.chatID, "user", a.userID, "err", err)
		return nil
	}
	// Telegram refused it: nothing was sent. The DM takes its key.
	if f == failNoEphemeral {
		b.refuseEphemeral(a.chatID)
	}
	b.log.InfoContext(ctx, "ephemeral answer refused; answering by DM", "chat", a.chatID, "user", a.userID, "err", err)
	if ferr := b.store.ForgetNotice(ctx, a.key); ferr != nil {
		return ferr
	}
	return b.answerByDM(ctx, a)
}

// answerByDM is the fallback: the answer in the person's private chat,
// naming the group. notify records a person the bot cannot message as
// unreachable and sends nothing, in the group or anywhere.
func (b *Bot) answerByDM(ctx context.Context, a privateAnswer) error {
	text := b.texts.render(msgAnswerAbout, a.lang, textData{Chat: a.title}) + a.text
	return b.notify(ctx, models.Notice{IdemKey: a.key, TgUserID: a.userID, MemberExt: a.memberExt, Kind: "reply"}, text, nil)
}

// ephemeralParams is sendMessage's ephemeral_message_parameters (Bot API
// 10.3; go-telegram/bot speaks 9.4, so the call goes through call).
type ephemeralParams struct {
	ReceiverUserID int64 `json:"receiver_user_id"`
}

// sendEphemeral sends text in chatID that only userID sees, in its turn
// (the caller waited), cut to Telegram's 4096 UTF-16 code units.
func (b *Bot) sendEphemeral(ctx context.Context, chatID, userID int64, text string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	params := map[string]any{
		"chat_id":                      chatID,
		"text":                         fitMessage(text),
		"ephemeral_message_parameters": ephemeralParams{ReceiverUserID: userID},
		"link_preview_options":         tgmodels.LinkPreviewOptions{IsDisabled: tgbot.True()},
	}
	var sent tgmodels.Message
	err := b.c.result(chatID, b.c.call(ctx, "sendMessage", params, &sent))
	b.metrics.sent("sendMessage", err)
	return err
}

// ephemeralRefused reports whether chatID refused an ephemeral message
// less than noEphemeralFor ago.
func (b *Bot) ephemeralRefused(chatID int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	until, ok := b.noEphemeral[chatID]
	return ok && time.Now().Before(until)
}

// refuseEphemeral remembers that chatID does not allow ephemeral messages.
func (b *Bot) refuseEphemeral(chatID int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.noEphemeral == nil || len(b.noEphemeral) > 10000 {
		b.noEphemeral = map[int64]time.Time{}
	}
	b.noEphemeral[chatID] = time.Now().Add(noEphemeralFor)
}
