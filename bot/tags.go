package bot

import (
	"context"
	"strings"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

// tagStore lists the linked members inside a chat with their current
// tags, and records the tags the bot sets.
type tagStore interface {
	SetTag(ctx context.Context, memberID int64, chat, tag string) error
	InChat(ctx context.Context, chat string) ([]models.Tagged, error)
}

// keepTags keeps each member's tag current (Bot API 9.5 setChatMemberTag)
// in the chats whose rules set a tag template, as karma moves: a pass every
// TagEvery compares what each member's tag should say with what the bot
// last set, and sets only what changed. A chat where the bot lacks
// can_manage_tags is skipped (/status says so).
func (b *Bot) keepTags(ctx context.Context) {
	tick := time.NewTicker(b.opts.TagEvery)
	defer tick.Stop()
	down := worker.Outage{What: "member tags", Logger: b.log, Now: b.opts.Now}
	for {
		if err := b.tagPass(ctx); err != nil && ctx.Err() == nil {
			down.Fail(ctx, err) // logged once per run of failures; the tick paces
		} else if err == nil {
			down.OK(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// tagPass is one pass over every tagged chat.
func (b *Bot) tagPass(ctx context.Context) error {
	rows, err := b.store.ChatRows(ctx)
	if err != nil {
		return err
	}
	for _, row := range rows {
		c, ok := b.rules.Chat(row.ChatKey)
		if !ok || c.Tag == "" || row.TgChatID == nil || !row.CanManageTags {
			continue
		}
		if err := b.tagChat(ctx, c, *row.TgChatID); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bot) tagChat(ctx context.Context, c *gate.Chat, chatID int64) error {
	members, err := b.store.InChat(ctx, c.Key)
	if err != nil {
		return err
	}
	for _, m := range members {
		name := ""
		if m.Name != nil {
			name = *m.Name
		}
		want := cleanTag(c.RenderTag(m.Karma, chatGroup(c, m.GroupList), name)) // no emoji: TAG_EMOJI_NOT_ALLOWED
		if m.Tag != nil && *m.Tag == want {
			continue
		}
		err := b.c.do(ctx, chatID, callOther, func(ctx context.Context) error {
			return b.c.call(ctx, "setChatMemberTag", map[string]any{"chat_id": chatID, "user_id": m.TgUserID, "tag": want}, nil)
		})
		b.metrics.sent("setChatMemberTag", err)
		switch f := classify(err); {
		case err == nil:
		case f == failChat:
			// Lost the right meanwhile: the next refresh records it.
			b.log.InfoContext(ctx, "member tags: the bot cannot set tags here", "chat", c.Key, "err", err)
			return nil
		case f == failRefused || f == failUserGone || f == failMissing:
			// An admin (tags are for regular members), or someone gone:
			// record it so that it is not tried on every pass.
			b.log.DebugContext(ctx, "member tag not set", "chat", c.Key, "user", m.TgUserID, "err", err)
		default:
			return err // a 429 or a network error: the next pass goes on
		}
		if err := b.store.SetTag(ctx, m.MemberID, c.Key, want); err != nil {
			return err
		}
	}
	return nil
}

// chatGroup is the member's group the chat counts them in: the first of
// theirs the chat names, or their first for a chat of any group.
func chatGroup(c *gate.Chat, groupList string) string {
	groups := strings.Split(groupList, ",")
	if c.AnyGroup {
		return groups[0]
	}
	for _, g := range groups {
		for _, want := range c.Groups {
			if g == want {
				return g
			}
		}
	}
	return ""
}
