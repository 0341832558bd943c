package bot

import (
	"context"
	"errors"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

// Learning who is inside a group bound over people already in it: a bot
// cannot list a group's members, so it asks Telegram about each member as
// they link (a probe, queued by the linking transaction before the invite
// it may make needless) and records whoever it sees in a bound group
// (seen.go).

// execProbe asks Telegram whether the account a member just linked is
// inside one bound chat, and records it when it is: the member is
// re-planned as for any membership Telegram reports, which supersedes the
// invite queued behind the probe (no join link for someone inside) or
// queues the removal of someone inside who does not qualify (held under
// dry run and by the breaker like any other). An account outside changes
// nothing: the invite behind the probe sends the join link.
func (b *Bot) execProbe(ctx context.Context, a *models.Action) error {
	if a.TgUserID == nil {
		return worker.Permanent(errors.New("the probe names no Telegram account"))
	}
	row, err := b.store.ChatRow(ctx, a.ChatKey)
	if errors.Is(err, models.ErrNotFound) {
		return nil // no longer in the rules
	}
	if err != nil {
		return err
	}
	if row.TgChatID == nil {
		return nil // unbound since: nobody is inside
	}
	mi, err := b.getMember(ctx, *row.TgChatID, *a.TgUserID)
	if err != nil {
		if f := classify(err); f == failUserGone || f == failMissing {
			return nil // Telegram knows no such account there
		}
		return b.chatFailure(err)
	}
	b.log.DebugContext(ctx, "probed a linked member", "chat", a.ChatKey, "member", a.MemberExt, "status", mi.Status)
	if !mi.present() {
		return nil
	}
	if _, err := b.store.RecordMembership(ctx, *row.TgChatID, *a.TgUserID, true, "bot:probe"); err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return nil
}
