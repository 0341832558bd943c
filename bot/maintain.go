package bot

import (
	"context"
	"time"
)

// maintain keeps each bound chat's join link and the bot's standing there
// current, and prunes old updates and tokens.
func (b *Bot) maintain(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	round := 0
	for {
		b.maintainOnce(ctx, round)
		round++
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// maintainOnce is one round: the bot's standing and join links every 10
// rounds (at start too), pruning every 60.
func (b *Bot) maintainOnce(ctx context.Context, round int) {
	if round%10 == 0 {
		rows, err := b.store.ChatRows(ctx)
		if err != nil {
			b.log.WarnContext(ctx, "maintain: load chats", "err", err)
			return
		}
		for i := range rows {
			row := &rows[i]
			if row.TgChatID == nil {
				continue
			}
			if err := b.refreshBot(ctx, row); err != nil {
				b.log.WarnContext(ctx, "maintain: the bot's standing", "chat", row.ChatKey, "err", err)
				continue
			}
			if row.BotStatus != "administrator" || !row.CanInvite {
				b.log.WarnContext(ctx, "maintain: the bot cannot let members in: make it an admin with the right to invite users", "chat", row.ChatKey, "status", row.BotStatus)
				continue
			}
			var err2 error
			if row.JoinLink == nil {
				_, err2 = b.ensureJoinLink(ctx, row)
			} else {
				err2 = b.checkJoinLink(ctx, row)
			}
			if err2 != nil {
				b.log.WarnContext(ctx, "maintain: the join link", "chat", row.ChatKey, "err", err2)
			}
		}
	}
	if round%60 == 0 {
		// Telegram repeats an update for at most 24 hours.
		if n, err := b.store.PruneUpdates(ctx, b.opts.Now().Add(-48*time.Hour)); err != nil {
			b.log.WarnContext(ctx, "maintain: prune updates", "err", err)
		} else if n > 0 {
			b.log.DebugContext(ctx, "pruned old updates", "n", n)
		}
		// Bind codes are dead 15 minutes after they are issued; the audit
		// trail keeps who issued and spent them.
		if n, err := b.store.PruneBindCodes(ctx, b.opts.Now().Add(-24*time.Hour)); err != nil {
			b.log.WarnContext(ctx, "maintain: prune bind codes", "err", err)
		} else if n > 0 {
			b.log.DebugContext(ctx, "pruned old bind codes", "n", n)
		}
	}
}
