package bot

import (
	"context"
	"errors"
	"sync"
	"time"

	tgmodels "github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/models"
)

// membershipStore records who is inside which chat: seen, probed,
// surveyed, or by a chat_member update (once per update).
type membershipStore interface {
	RecordMembership(ctx context.Context, tgChatID, tgUserID int64, in bool, actor string) (models.Membership, error)
	RecordMembershipOnce(ctx context.Context, updateID, tgChatID, tgUserID int64, in bool, actor string) (models.Membership, error)
}

// seenFor is how long the bot remembers having recorded someone seen in a
// group: within it, their next messages cost no database round trip.
const seenFor = 10 * time.Minute

// seenMax bounds the memory of who was seen; past it, it starts afresh.
const seenMax = 50_000

// seenCache remembers which (group, person) pairs were recorded lately.
type seenCache struct {
	mu sync.Mutex
	at map[[2]int64]time.Time
}

func newSeenCache() *seenCache { return &seenCache{at: map[[2]int64]time.Time{}} }

// fresh reports whether the pair was recorded within seenFor, and marks it
// recorded now if not.
func (c *seenCache) fresh(chatID, userID int64, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]int64{chatID, userID}
	if at, ok := c.at[k]; ok && now.Sub(at) < seenFor {
		return true
	}
	if len(c.at) >= seenMax {
		clear(c.at)
	}
	c.at[k] = now
	return false
}

// forget drops a pair, so that the next sighting is recorded again.
func (c *seenCache) forget(chatID, userID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.at, [2]int64{chatID, userID})
}

// seeInGroup records what a message in a group shows about who is inside:
// its sender is inside, and so are the people a new_chat_members service
// message names; a left_chat_member is not. A linked member's presence is
// recorded (and re-planned) as when Telegram reports a join or a leave;
// someone linked to no member is noted as seen (strangers.go). A failure
// is logged, never fatal to the message: the message's own handling goes
// on, and the next sighting tries again.
func (b *Bot) seeInGroup(ctx context.Context, m *tgmodels.Message) {
	if m.From != nil && !m.From.IsBot && m.SenderChat == nil {
		b.see(ctx, m.Chat.ID, m.From.ID, true)
	}
	for _, u := range m.NewChatMembers {
		if !u.IsBot {
			b.see(ctx, m.Chat.ID, u.ID, true)
		}
	}
	if u := m.LeftChatMember; u != nil && !u.IsBot {
		b.seen.forget(m.Chat.ID, u.ID)
		b.see(ctx, m.Chat.ID, u.ID, false)
	}
}

// see records that Telegram user userID is (in) or is not in the group.
func (b *Bot) see(ctx context.Context, chatID, userID int64, in bool) {
	if in && b.seen.fresh(chatID, userID, b.opts.Now()) {
		return
	}
	err := b.recordSeen(ctx, chatID, userID, in)
	if err != nil {
		b.seen.forget(chatID, userID)
		b.log.WarnContext(ctx, "record who was seen in a group", "chat", chatID, "user", userID, "err", err)
	}
}

func (b *Bot) recordSeen(ctx context.Context, chatID, userID int64, in bool) error {
	row, err := b.store.ChatByTelegram(ctx, chatID)
	if errors.Is(err, models.ErrNotFound) {
		return nil // not a gated chat
	}
	if err != nil {
		return err
	}
	v, err := b.store.MemberByTelegram(ctx, userID)
	if errors.Is(err, models.ErrNotFound) {
		if !in {
			return nil
		}
		return b.strangerSeen(ctx, chatID, userID)
	}
	if err != nil {
		return err
	}
	for _, st := range v.Chats {
		if st.ChatKey == row.ChatKey && st.InChat == in {
			return nil // known already
		}
	}
	if _, err := b.store.RecordMembership(ctx, chatID, userID, in, "bot:seen"); err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if b.opts.WakeWorkers != nil {
		b.opts.WakeWorkers()
	}
	return nil
}
