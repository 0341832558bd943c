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
	if errors.Is(err, errEphemeralIgnored) {
		// Taken back from the group; the server cannot do it: by DM.
		b.refuseEphemeral(0)
		if ferr := b.store.ForgetNotice(ctx, a.key); ferr != nil {
			return ferr
		}
		return b.answerByDM(ctx, a)
	}
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

// errEphemeralIgnored: the Bot API server sent an ephemeral message to
// the whole group (it was taken back at once).
var errEphemeralIgnored = errors.New("the Bot API server ignored ephemeral_message_parameters (older than 10.3): message taken back")

// sendEphemeral sends text in chatID that only userID sees, in its turn
// (the caller waited), cut to Telegram's 4096 UTF-16 code units.
//
// A Bot API server older than 10.3 (a self-hosted telegram-bot-api not
// yet updated) ignores a parameter it does not know, as every server
// does, and posts the message to the whole group. Telegram's answer
// says which happened: an ephemeral message comes back with its
// receiver_user. Without it the message is deleted at once and
// errEphemeralIgnored returned, so that the answer goes by DM.
func (b *Bot) sendEphemeral(ctx context.Context, chatID, userID int64, text string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	params := map[string]any{
		"chat_id":                      chatID,
		"text":                         fitMessage(text),
		"ephemeral_message_parameters": ephemeralParams{ReceiverUserID: userID},
		"link_preview_options":         tgmodels.LinkPreviewOptions{IsDisabled: tgbot.True()},
	}
	var sent struct {
		MessageID    int `json:"message_id"`
		ReceiverUser *struct {
			ID int64 `json:"id"`
		} `json:"receiver_user"`
	}
	err := b.c.result(chatID, b.c.call(ctx, "sendMessage", params, &sent))
	b.metrics.sent("sendMessage", err)
	if err != nil || (sent.ReceiverUser != nil && sent.ReceiverUser.ID == userID) {
		return err
	}
	b.log.ErrorContext(ctx, "the Bot API server posted an answer meant for one person to the whole group (it does not know Bot API 10.3's ephemeral_message_parameters); deleting it, answering by DM from now on",
		"chat", chatID, "message", sent.MessageID)
	derr := b.c.call(context.WithoutCancel(ctx), "deleteMessage", map[string]any{"chat_id": chatID, "message_id": sent.MessageID}, nil)
	if derr != nil {
		b.log.ErrorContext(ctx, "could not delete the answer posted to the whole group", "chat", chatID, "message", sent.MessageID, "err", derr)
	}
	return errEphemeralIgnored
}

// ephemeralRefused reports whether chatID refused an ephemeral message
// less than noEphemeralFor ago, or the server ignored one (chat 0).
func (b *Bot) ephemeralRefused(chatID int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	for _, id := range []int64{chatID, 0} {
		if until, ok := b.noEphemeral[id]; ok && now.Before(until) {
			return true
		}
	}
	return false
}

// refuseEphemeral remembers that chatID does not allow ephemeral messages
// (0: the server does not know them).
func (b *Bot) refuseEphemeral(chatID int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.noEphemeral == nil || len(b.noEphemeral) > 10000 {
		b.noEphemeral = map[int64]time.Time{}
	}
	until := time.Now().Add(noEphemeralFor)
	if chatID == 0 {
		// A server that posts them to everyone is not tried again until
		// the process restarts (after the server's upgrade, say).
		until = time.Now().AddDate(100, 0, 0)
	}
	b.noEphemeral[chatID] = until
}
