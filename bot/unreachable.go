package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/karmagate/karmagate/models"
)

// ReachStore records the people the bot cannot message (issue 14 #4).
type ReachStore interface {
	MarkUnreachable(ctx context.Context, tgUserID int64, reason, detail string) error
	UnreachableFor(ctx context.Context, tgUserID int64) (*models.UnreachableUser, error)
	ClearUnreachable(ctx context.Context, tgUserID int64) (bool, error)
}

// unreachableReason says whether Telegram's answer to a message to a
// person (chatID, positive) means the bot cannot message them, and why.
func unreachableReason(chatID int64, err error) (string, bool) {
	if chatID <= 0 {
		return "", false
	}
	switch classifyIn(chatID, err) {
	case failBlocked:
		return models.UnreachableBlocked, true
	case failNotStarted:
		return models.UnreachableNotStarted, true
	case failNoPrivateChat:
		return models.UnreachableUnknown, true
	case failUserGone:
		return models.UnreachableGone, true
	}
	return "", false
}

// unreachableWhy puts a reason in words, for logs, notices and admins.
func unreachableWhy(reason string) string {
	switch reason {
	case models.UnreachableBlocked:
		return "they blocked the bot"
	case models.UnreachableNotStarted:
		return "they never started the bot (Telegram lets a bot write first only within 5 minutes of a join request)"
	case models.UnreachableUnknown:
		return "the bot has never seen them (no chat with them, no group or join request in common)"
	case models.UnreachableGone:
		return "their account is deleted"
	}
	return reason
}

// skipUnreachable reports whether n must not be sent because its person
// is recorded as unreachable (and has not written to the bot since). The
// notice is then recorded as not sent, with why, so that it is never sent
// later out of its time either.
func (b *Bot) skipUnreachable(ctx context.Context, n models.Notice) (bool, error) {
	if n.TgUserID <= 0 {
		return false, nil // a group
	}
	u, err := b.store.UnreachableFor(ctx, n.TgUserID)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fresh, err := b.store.BeginNotice(ctx, n)
	if err != nil {
		return false, fmt.Errorf("record notice: %w", err)
	}
	if fresh {
		detail := "not sent: unreachable since " + u.Since.UTC().Format("2006-01-02 15:04 UTC") + ", " + unreachableWhy(u.Reason)
		if err := b.store.FinishNotice(ctx, n.IdemKey, models.NoticeFailed, detail); err != nil {
			b.log.WarnContext(ctx, "record an unsent notice", "key", n.IdemKey, "err", err)
		}
		b.log.DebugContext(ctx, "notice not sent: person unreachable", "key", n.IdemKey, "user", n.TgUserID, "reason", u.Reason)
	}
	return true, nil
}

// markUnreachable records that a message to userID failed with err for a
// reason that will not pass by itself: nothing more is sent them until
// they write to the bot.
func (b *Bot) markUnreachable(ctx context.Context, userID int64, reason string, err error) {
	if merr := b.store.MarkUnreachable(ctx, userID, reason, err.Error()); merr != nil {
		b.log.WarnContext(ctx, "record an unreachable person", "user", userID, "err", merr)
	}
	b.log.InfoContext(ctx, "person unreachable; not messaged again until they write to the bot", "user", userID, "reason", reason, "why", unreachableWhy(reason), "err", err)
}

// reachable records that userID wrote to the bot (a private message) or
// asked to join one of its chats: it may message them again.
func (b *Bot) reachable(ctx context.Context, userID int64) {
	cleared, err := b.store.ClearUnreachable(ctx, userID)
	if err != nil {
		b.log.WarnContext(ctx, "record a reachable person", "user", userID, "err", err)
		return
	}
	if cleared {
		b.log.InfoContext(ctx, "person reachable again", "user", userID)
	}
}

// requested records that userID asked to join one of the bot's chats:
// Telegram lets the bot write to them for 5 minutes, so a person recorded
// as never having started the bot (or unknown to it) may be told the
// outcome. One who blocked the bot stays blocked.
func (b *Bot) requested(ctx context.Context, userID int64) {
	u, err := b.store.UnreachableFor(ctx, userID)
	if err != nil || u.Reason == models.UnreachableBlocked {
		return
	}
	b.reachable(ctx, userID)
}

// reachNote is what /who says of a person the bot cannot message, in
// words per reason ("" when it can).
func (b *Bot) reachNote(ctx context.Context, userID int64) string {
	u, err := b.store.UnreachableFor(ctx, userID)
	if err != nil {
		return ""
	}
	return "; not messaged since " + u.Since.UTC().Format("2006-01-02 15:04 UTC") + ": " + unreachableWhy(u.Reason) + " (until they write to the bot)"
}
