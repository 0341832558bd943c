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

// noticeStore keeps the notices sent to people, each once by its key:
// begun before it is sent, finished (or forgotten for another try) after,
// or queued for the outbox.
type noticeStore interface {
	BeginNotice(ctx context.Context, n models.Notice) (bool, error)
	FinishNotice(ctx context.Context, key, status, detail string) error
	ForgetNotice(ctx context.Context, key string) error
	NoticeBegun(ctx context.Context, key string) (bool, error)
	QueueNotice(ctx context.Context, chat string, tgUserID int64, memberExt string, p models.NoticePayload) error
}

// do runs one call to Telegram about chatID, paced as kind says. A 429
// holds up that chat for exactly retry_after and comes back as a
// *worker.RetryError with the time to try again.
func (c *client) do(ctx context.Context, chatID int64, kind callKind, fn func(context.Context) error) error {
	if err := c.send.wait(ctx, chatID, kind); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return c.migrated(ctx, chatID, c.result(chatID, fn(cctx)))
}

// callTimeout bounds one call to Telegram (the long poll aside): a call
// that is never answered holds up its update or action, and a worker,
// this long rather than the HTTP client's minute. (TestE2E_Faults at
// 10,000 members: 2 % of calls unanswered made every join request wait
// 1.2 s on average.)
const callTimeout = 15 * time.Second

// result reads the error of a call made in its turn: a 429 holds up the
// chat for exactly retry_after and comes back as a *worker.RetryError.
func (c *client) result(chatID int64, err error) error {
	if err == nil {
		return nil
	}
	err = redactToken(err, c.token)
	if ae := apiErrorOf(err); ae != nil && ae.Code == 429 {
		until := c.send.flood(chatID, max(ae.RetryAfter, time.Second))
		return worker.RetryAt(until, err)
	}
	return err
}

// sendInTurn sends a plain-text message (no parse mode: nothing to
// escape) once the sender has given it its turn (Sender.wait), cut to
// Telegram's 4096 UTF-16 code units (textlimit.go).
func (b *Bot) sendInTurn(ctx context.Context, chatID int64, text string, markup tgmodels.ReplyMarkup) (*tgmodels.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	msg, err := b.c.tg.SendMessage(ctx, &tgbot.SendMessageParams{
		ChatID: chatID, Text: fitMessage(text), ReplyMarkup: markup,
		LinkPreviewOptions: &tgmodels.LinkPreviewOptions{IsDisabled: tgbot.True()},
	})
	err = b.c.result(chatID, err)
	b.metrics.sent("sendMessage", err)
	return msg, err
}

// notify sends a person a message at most once per n.IdemKey: the notice is
// recorded before the message goes out, so a crash in between means it is
// not sent rather than sent twice. It is recorded only once the message's
// turn has come (Telegram's pace: a burst of messages queues for seconds),
// so that a crash loses only the messages whose one call was in flight,
// not every message waiting its turn. A person Telegram says the bot
// cannot message (blocked it, never started it, unknown to it) is recorded
// as unreachable and not messaged again until they write to the bot; a flood wait or a message
// that certainly did not leave comes back as an error so that the work
// retries.
func (b *Bot) notify(ctx context.Context, n models.Notice, text string, markup tgmodels.ReplyMarkup) error {
	if skip, err := b.skipUnreachable(ctx, n); skip || err != nil {
		return err // unreachable (unreachable.go): recorded, not sent
	}
	if err := b.c.send.wait(ctx, n.TgUserID, callMessage); err != nil {
		return err // nothing recorded: the work comes back and asks again
	}
	fresh, err := b.store.BeginNotice(ctx, n)
	if err != nil {
		return fmt.Errorf("record notice: %w", err)
	}
	if !fresh {
		return nil // sent before, or cut short by a crash: never twice
	}
	_, err = b.sendInTurn(ctx, n.TgUserID, text, markup)
	var retry *worker.RetryError
	switch {
	case err == nil:
		if err := b.store.FinishNotice(ctx, n.IdemKey, models.NoticeSent, ""); err != nil {
			b.log.WarnContext(ctx, "record a sent notice", "key", n.IdemKey, "err", err)
		}
		return nil
	case errors.As(err, &retry), classify(err) == failNotSent, errors.Is(err, context.Canceled) && ctx.Err() != nil:
		if ferr := b.store.ForgetNotice(ctx, n.IdemKey); ferr != nil {
			return errors.Join(err, ferr)
		}
		return err
	}
	f := classify(err)
	status, detail := models.NoticeFailed, err.Error()
	if f == failUnknown {
		detail = "outcome unknown, not sent again: " + detail
	}
	if ferr := b.store.FinishNotice(ctx, n.IdemKey, status, detail); ferr != nil {
		b.log.WarnContext(ctx, "record a failed notice", "key", n.IdemKey, "err", ferr)
	}
	if reason, ok := unreachableReason(n.TgUserID, err); ok {
		b.markUnreachable(ctx, n.TgUserID, reason, err)
		return nil
	}
	b.log.WarnContext(ctx, "message not delivered", "key", n.IdemKey, "user", n.TgUserID, "err", err)
	return nil
}

// reply answers a person in a private chat, at most once per update; a
// person who is no member gets at most one answer a minute
// (strangerThrottled), the rest are dropped.
func (b *Bot) reply(ctx context.Context, u *update, userID int64, memberExt *string, text string, markup tgmodels.ReplyMarkup) error {
	drop, err := b.strangerThrottled(ctx, userID)
	if err != nil {
		return err
	}
	if drop {
		return nil
	}
	return b.notify(ctx, replyNotice(u, userID, memberExt), text, markup)
}

// answer answers a person in a private chat, at most once per update, and
// never throttled: for an answer to someone the bot found entitled to it
// (an admin's command, a link the website issued).
func (b *Bot) answer(ctx context.Context, u *update, userID int64, memberExt *string, text string, markup tgmodels.ReplyMarkup) error {
	return b.notify(ctx, replyNotice(u, userID, memberExt), text, markup)
}

// replyNotice is the notice of the answer to update u.
func replyNotice(u *update, userID int64, memberExt *string) models.Notice {
	return models.Notice{IdemKey: u.key(), TgUserID: userID, MemberExt: memberExt, Kind: "reply"}
}

// queuedReply answers update u in chatID (a person or a group) through
// the outbox, keyed by the update like reply: for an answer that reports a
// change made already (/confirm), so that handling the update again, when
// the answer had to wait for the chat's turn, does not replace it with an
// answer about the second pass ("0 confirmed").
func (b *Bot) queuedReply(ctx context.Context, u *update, chatKey string, chatID int64, kind, text string) error {
	err := b.store.QueueNotice(ctx, chatKey, chatID, "", models.NoticePayload{Key: u.key(), Kind: kind, Text: text})
	if err != nil {
		return err
	}
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return nil
}

// groupReply answers in a group (admins' /bind and the like): once per
// update as well.
func (b *Bot) groupReply(ctx context.Context, u *update, chatID int64, text string) error {
	return b.notify(ctx, models.Notice{IdemKey: u.key(), TgUserID: chatID, Kind: "group_reply"}, text, nil)
}
