package bot

import (
	"context"
	"errors"
	"fmt"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/worker"
)

// ErrNoLogChat means phone lookups through the Bot API are off: set
// KARMAGATE_LOG_CHAT to a private chat the bot administers.
var ErrNoLogChat = errors.New("no log chat (KARMAGATE_LOG_CHAT) for phone lookups")

// ResolvePhone asks Telegram who has a phone number the Bot API way: the
// bot sends the number as a contact into its private log chat
// (KARMAGATE_LOG_CHAT), reads contact.user_id from the message Telegram
// returns, and deletes the message. Telegram fills user_id only when the
// person's privacy lets it, and promises nothing: no user_id is an honest
// "unresolved". A flood wait comes back as "limited" with its wait. It is
// a linking.PhoneResolver.
func (b *Bot) ResolvePhone(ctx context.Context, phone string) (linking.Resolution, error) {
	res := linking.Resolution{Via: "bot"}
	if b.opts.LogChat == 0 {
		res.Status = linking.Unresolved
		return res, ErrNoLogChat
	}
	norm, err := linking.NormalizePhone(phone)
	if err != nil {
		res.Status = linking.Unresolved
		return res, err
	}
	chat := b.opts.LogChat
	var msg *tgmodels.Message
	err = b.c.do(ctx, chat, callMessage, func(ctx context.Context) error {
		var err error
		msg, err = b.c.tg.SendContact(ctx, &tgbot.SendContactParams{ChatID: chat, PhoneNumber: norm, FirstName: "karmagate lookup", DisableNotification: true})
		return err
	})
	b.metrics.sent("sendContact", err)
	var retry *worker.RetryError
	switch {
	case errors.As(err, &retry):
		res.Status, res.RetryAfter = linking.Limited, max(0, retry.At.Sub(b.opts.Now()))
		return res, nil
	case err != nil:
		res.Status = linking.Unresolved
		return res, fmt.Errorf("send the contact to the log chat: %w", err)
	}
	derr := b.c.do(ctx, chat, callOther, func(ctx context.Context) error {
		_, err := b.c.tg.DeleteMessage(ctx, &tgbot.DeleteMessageParams{ChatID: chat, MessageID: msg.ID})
		return err
	})
	if derr != nil && classify(derr) != failMissing {
		b.log.WarnContext(ctx, "delete a phone lookup from the log chat", "err", derr)
	}
	if msg.Contact == nil || msg.Contact.UserID == 0 {
		res.Status = linking.Unresolved
		return res, nil
	}
	res.Status, res.UserID = linking.Resolved, msg.Contact.UserID
	return res, nil
}

var _ linking.PhoneResolver = (*Bot)(nil)
