package bot

import (
	"context"
	"fmt"
	"time"
)

// replyStore says when the bot last answered someone and whether they are
// linked, for the pace of answers to strangers.
type replyStore interface {
	LastReplyTo(ctx context.Context, tgUserID int64) (time.Time, bool, error)
	TelegramLinked(ctx context.Context, tgUserID int64) (bool, error)
}

// StrangerReplyEvery is how often the bot answers a person who is no
// member (no website account linked to their Telegram account) and no
// site admin: one answer in this long, the rest of their messages handled
// but not answered, so that a stranger's flood of messages costs no
// notifications rows and no queue of sends behind Telegram's pace.
const StrangerReplyEvery = time.Minute

// strangerThrottled reports whether an answer to userID is to be dropped:
// they are no member and were answered less than StrangerReplyEvery ago.
// The last answer is read from the notifications table, so the limit holds
// across restarts and instances; one person's updates are handled one at
// a time, in order, so two answers cannot race past it.
func (b *Bot) strangerThrottled(ctx context.Context, userID int64) (bool, error) {
	if b.admins[userID] {
		return false, nil
	}
	last, ok, err := b.store.LastReplyTo(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("throttle: %w", err)
	}
	if !ok || b.opts.Now().Sub(last) >= StrangerReplyEvery {
		return false, nil
	}
	linked, err := b.store.TelegramLinked(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("throttle: %w", err)
	}
	if linked {
		return false, nil
	}
	b.metrics.replyDropped("stranger")
	b.log.DebugContext(ctx, "answer to a stranger dropped: answered less than a minute ago", "user", userID)
	return true, nil
}
