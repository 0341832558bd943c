package bot

import (
	"context"
	"fmt"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
)

// LinkOIDC links a member to the Telegram account a checked ID token of
// Log in with Telegram names (login.Linker), as a deep link does: the
// account must be the one the member's username names, a member linked
// to another account is not moved (the request is returned pending and
// that account asked to confirm it), and the member is sent what a deep
// link is answered with.
func (b *Bot) LinkOIDC(ctx context.Context, memberID string, u linking.OIDCUser) (*models.MemberView, *models.Relink, error) {
	res, err := b.linkFromWeb(ctx, memberID, webLink{
		via: "oidc", user: models.TelegramUser{ID: u.ID, Username: u.Username}, name: u.Name,
		foreign: linking.ErrForeign, movedKey: fmt.Sprintf("moved/o%d/%d", u.ID, u.IssuedAt.Unix()),
	})
	if err != nil {
		return nil, nil, err
	}
	if res.Pending != nil {
		return res.View, res.Pending, nil
	}
	// What the bot answers a deep link with, sent as the outbox's notice:
	// where the member stands, with the join links; the invites the link
	// queued count on it (models' announceInvites) and send no second
	// message. The person let the bot write to them at Telegram
	// (telegram:bot_access); without that, and never having opened the
	// bot, it cannot reach them, as for anyone else.
	d, err := b.summary(ctx, res.View, nil)
	if err != nil {
		return nil, nil, err
	}
	err = b.store.QueueNotice(ctx, "", u.ID, memberID, models.NoticePayload{
		Key: fmt.Sprintf("linked/o%d/%d", u.ID, u.IssuedAt.Unix()), Kind: "linked", Text: b.texts.render(msgLinked, "", d),
	})
	if err != nil {
		return nil, nil, err
	}
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return res.View, nil, nil
}
