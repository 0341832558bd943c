package bot

import (
	"context"
	"errors"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

// Basic groups (issue 14 #2). karmagate binds basic groups as it binds
// supergroups, and follows Telegram when it upgrades one: the chat is
// rebound to the supergroup's id with everything kept. Telegram reports
// the upgrade twice, and the bot acts on whichever it sees first: the
// service messages (migrate_to_chat_id in the old group,
// migrate_from_chat_id in the new), and every call to the old id, which
// answers 400 "group chat was upgraded to a supergroup chat" with
// parameters.migrate_to_chat_id.

// MigrateStore records a chat following its upgraded group.
type MigrateStore interface {
	MigrateChat(ctx context.Context, fromID, toID int64, actor string) (string, error)
}

// migrateRetry is how soon work refused for an upgraded group comes back
// (to the supergroup's id, which the chat has by then).
const migrateRetry = time.Second

// migrated turns an answer naming an upgraded group into the chat
// following it and a retry soon; other errors pass through.
func (c *client) migrated(ctx context.Context, chatID int64, err error) error {
	ae := apiErrorOf(err)
	if ae == nil || ae.MigrateTo == 0 || c.onMigrate == nil {
		return err
	}
	if ferr := c.onMigrate(ctx, chatID, ae.MigrateTo); ferr != nil {
		return errors.Join(err, ferr)
	}
	return worker.RetryAt(time.Now().Add(migrateRetry), err)
}

// followMigration rebinds the chat bound to fromID (if any) to toID, and
// records the bot's standing there. Seeing it again (the other service
// message, another refused call) does nothing.
func (b *Bot) followMigration(ctx context.Context, fromID, toID int64) error {
	key, err := b.store.MigrateChat(ctx, fromID, toID, "telegram")
	if errors.Is(err, models.ErrNotFound) {
		return nil // not a bound chat, or followed already
	}
	if err != nil {
		return err
	}
	b.log.InfoContext(ctx, "basic group upgraded to a supergroup; the chat follows it", "chat", key, "from", fromID, "to", toID)
	row, err := b.store.ChatRow(ctx, key)
	if err != nil {
		return err
	}
	if err := b.refreshBot(ctx, row); err != nil {
		b.log.WarnContext(ctx, "read the bot's standing in the upgraded group", "chat", key, "err", err)
	}
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return nil
}

// onMigration handles the service messages of an upgrade; it reports
// whether the message was one.
func (b *Bot) onMigration(ctx context.Context, u *update) (bool, error) {
	m := u.Message
	switch {
	case m.MigrateToChatID != 0:
		return true, b.followMigration(ctx, m.Chat.ID, m.MigrateToChatID)
	case m.MigrateFromChatID != 0:
		return true, b.followMigration(ctx, m.MigrateFromChatID, m.Chat.ID)
	}
	return false, nil
}
