package bot

import (
	"context"
	"fmt"

	"github.com/karmagate/karmagate/models"
)

// Unmanaged people: how many are inside a bound group (Telegram's count
// minus its admins), how many of them karmagate knows (linked members
// recorded inside), how many are strangers (linked to no member, known by
// an audit or seen in the group), and how many nobody knows.

// peopleStore says who is inside a bound group, and records how many
// Telegram counts.
type peopleStore interface {
	ChatPeople(ctx context.Context, key string) (models.People, error)
	SetPeopleInside(ctx context.Context, key string, n int) error
}

// ErrNotBound means a chat has no Telegram group yet.
var ErrNotBound = models.ErrNotBound

// PeopleInside asks Telegram how many people are inside chat key's group
// besides its admins, and records the count (paced as every call).
func (b *Bot) PeopleInside(ctx context.Context, key string) (int, error) {
	row, err := b.store.ChatRow(ctx, key)
	if err != nil {
		return 0, err
	}
	if row.TgChatID == nil {
		return 0, fmt.Errorf("chat %q: %w", key, ErrNotBound)
	}
	n, err := b.othersInside(ctx, *row.TgChatID)
	if err != nil {
		return 0, err
	}
	if err := b.store.SetPeopleInside(ctx, key, n); err != nil {
		return 0, err
	}
	return n, nil
}

// peopleText says who is inside a chat, for /status.
func peopleText(p models.People) string {
	if p.Inside == nil {
		return fmt.Sprintf("  people inside: not counted yet · known to karmagate: %d · strangers: %d", p.Known, p.Strangers)
	}
	return fmt.Sprintf("  people inside besides the admins: %d · known to karmagate: %d · strangers: %d · unknown: %d",
		*p.Inside, p.Known, p.Strangers, *p.Unknown())
}
