package bot

import (
	"context"
	"errors"

	"github.com/karmagate/karmagate/models"
)

// strangerStore records strangers seen inside bound groups (issue 16).
type strangerStore interface {
	StrangerSeen(ctx context.Context, tgChatID, tgUserID int64, actor string) (bool, error)
}

// strangerSeen notes someone linked to no member seen inside a bound group
// (they spoke in it): a stranger, unless they are the group's admin.
// What happens to them is the chat's strangers: rule (models/strangers.go);
// someone who joins through a link karmagate did not give is handled by
// onChatMember and removed at once.
func (b *Bot) strangerSeen(ctx context.Context, chatID, userID int64) error {
	admin, err := b.isChatAdmin(ctx, chatID, userID)
	if err != nil || admin {
		return err
	}
	fresh, err := b.store.StrangerSeen(ctx, chatID, userID, "bot:seen")
	if errors.Is(err, models.ErrNotFound) {
		return nil // not a gated chat
	}
	if err != nil {
		return err
	}
	if fresh && b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return nil
}
