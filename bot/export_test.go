package bot

import (
	"context"

	"github.com/karmagate/karmagate/models"
)

// EnsureJoinLink is ensureJoinLink, for tests of its guard across
// instances.
func EnsureJoinLink(ctx context.Context, b *Bot, row *models.ChatRow) (string, error) {
	return b.ensureJoinLink(ctx, row)
}
