package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/lease"
	"github.com/karmagate/karmagate/models"
)

// chatStore holds the chats of the rules as bound to Telegram, and what
// the bot knows of each: its standing there and the join link.
type chatStore interface {
	ChatRow(ctx context.Context, key string) (*models.ChatRow, error)
	ChatRows(ctx context.Context) ([]models.ChatRow, error)
	ChatByTelegram(ctx context.Context, tgChatID int64) (*models.ChatRow, error)
	SetChatBot(ctx context.Context, key string, b models.BotInChat) error
	SetJoinLink(ctx context.Context, key, link string) error
}

// memberInfo is getChatMember's answer with the fields karmagate reads,
// including those newer than go-telegram/bot (can_manage_tags, Bot API 9.5).
type memberInfo struct {
	Status             string `json:"status"`
	IsMember           bool   `json:"is_member"`
	CanInviteUsers     bool   `json:"can_invite_users"`
	CanRestrictMembers bool   `json:"can_restrict_members"`
	CanPinMessages     bool   `json:"can_pin_messages"`
	// CanManageTags is optional: "if omitted defaults to the value of
	// can_pin_messages" (Bot API 9.5); read it with manageTags.
	CanManageTags *bool `json:"can_manage_tags"`
}

// manageTags is can_manage_tags, defaulting to can_pin_messages.
func (m memberInfo) manageTags() bool {
	if m.CanManageTags != nil {
		return *m.CanManageTags
	}
	return m.CanPinMessages
}

func (m memberInfo) admin() bool { return m.Status == "creator" || m.Status == "administrator" }

func (m memberInfo) present() bool {
	switch m.Status {
	case "creator", "administrator", "member":
		return true
	case "restricted":
		return m.IsMember
	}
	return false
}

// getMember asks Telegram for a user's standing in a chat.
func (b *Bot) getMember(ctx context.Context, chatID, userID int64) (memberInfo, error) {
	var mi memberInfo
	err := b.c.do(ctx, chatID, callOther, func(ctx context.Context) error {
		return b.c.call(ctx, "getChatMember", map[string]any{"chat_id": chatID, "user_id": userID}, &mi)
	})
	b.metrics.sent("getChatMember", err)
	return mi, err
}

// botStanding reads the bot's standing from a ChatMember (my_chat_member).
func botStanding(c *tgmodels.ChatMember, canManageTags bool) models.BotInChat {
	st := models.BotInChat{Status: string(c.Type)}
	if c.Administrator != nil {
		st.CanInvite = c.Administrator.CanInviteUsers
		st.CanRestrict = c.Administrator.CanRestrictMembers
		st.CanManageTags = canManageTags
	}
	return st
}

// refreshBot asks Telegram for the bot's standing in a bound chat (and
// whether it is the chat's guard bot) and records it.
func (b *Bot) refreshBot(ctx context.Context, row *models.ChatRow) error {
	if row.TgChatID == nil {
		return nil
	}
	mi, err := b.getMember(ctx, *row.TgChatID, b.me.ID)
	if err != nil {
		if classify(err) == failChat {
			st := models.BotInChat{Status: "left"}
			row.BotStatus = st.Status
			return errors.Join(err, b.store.SetChatBot(ctx, row.ChatKey, st))
		}
		return fmt.Errorf("read the bot's standing in %s: %w", row.ChatKey, err)
	}
	st := models.BotInChat{Status: mi.Status, CanInvite: mi.CanInviteUsers || mi.Status == "creator",
		CanRestrict: mi.CanRestrictMembers || mi.Status == "creator", CanManageTags: mi.manageTags()}
	if mi.admin() {
		var info struct {
			GuardBot *tgmodels.User `json:"guard_bot"`
		}
		err := b.c.do(ctx, *row.TgChatID, callOther, func(ctx context.Context) error {
			return b.c.call(ctx, "getChat", map[string]any{"chat_id": *row.TgChatID}, &info)
		})
		if err == nil {
			st.Guard = info.GuardBot != nil && info.GuardBot.ID == b.me.ID
		}
	}
	row.BotStatus, row.CanInvite, row.CanRestrict, row.CanManageTags, row.Guard = st.Status, st.CanInvite, st.CanRestrict, st.CanManageTags, st.Guard
	return b.store.SetChatBot(ctx, row.ChatKey, st)
}

// errNotAdmin means the bot cannot let anyone in yet: it is not an admin
// with the right to invite users in the chat.
var errNotAdmin = errors.New("the bot is not an admin with the right to invite users in this chat")

// linkName names the join-request link the bot keeps in each chat.
const linkName = "karmagate"

// ensureJoinLink returns the chat's join-request link, making it when
// there is none (paced to Telegram's limit on new links per chat).
func (b *Bot) ensureJoinLink(ctx context.Context, row *models.ChatRow) (string, error) {
	if row.TgChatID == nil {
		return "", errChatNotReady
	}
	mu := b.linkLock(row.ChatKey)
	mu.Lock()
	defer mu.Unlock()
	cur, err := b.store.ChatRow(ctx, row.ChatKey)
	if err != nil {
		return "", err
	}
	if cur.JoinLink != nil && cur.TgChatID != nil && *cur.TgChatID == *row.TgChatID {
		return *cur.JoinLink, nil
	}
	// One instance makes it: a lease in the database (the mutex above
	// orders this process's callers only). Another instance making it
	// meanwhile is waited for, and its link used.
	name := joinLinkLease(row.ChatKey)
	var l lease.Lease
	for {
		l, err = b.leases.Acquire(ctx, name, b.opts.Owner, joinLinkLeaseTTL)
		if err == nil {
			break
		}
		if !errors.Is(err, lease.ErrHeld) {
			return "", fmt.Errorf("the join link lease of %s: %w", row.ChatKey, err)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return "", err
		}
		if cur, err = b.store.ChatRow(ctx, row.ChatKey); err != nil {
			return "", err
		}
		if cur.JoinLink != nil && cur.TgChatID != nil && *cur.TgChatID == *row.TgChatID {
			return *cur.JoinLink, nil
		}
	}
	// Held (and renewed) until the link is stored; the link is stored
	// under the lease's fencing token, refused once another took it.
	outer := ctx
	ctx, stop := b.leases.Hold(outer, l, joinLinkLeaseTTL)
	defer func() {
		stop()
		if err := b.leases.Release(context.WithoutCancel(outer), l); err != nil {
			b.log.DebugContext(outer, "release the join link lease", "chat", row.ChatKey, "err", err)
		}
	}()
	// Made by another instance before this one held the lease?
	if cur, err = b.store.ChatRow(ctx, row.ChatKey); err != nil {
		return "", err
	}
	if cur.JoinLink != nil && cur.TgChatID != nil && *cur.TgChatID == *row.TgChatID {
		return *cur.JoinLink, nil
	}
	if cur.BotStatus != "administrator" && cur.BotStatus != "creator" || !cur.CanInvite {
		if err := b.refreshBot(ctx, cur); err != nil {
			return "", err
		}
		if cur.BotStatus != "administrator" && cur.BotStatus != "creator" || !cur.CanInvite {
			return "", errNotAdmin
		}
	}
	var link *tgmodels.ChatInviteLink
	err = b.c.do(ctx, *row.TgChatID, callLink, func(ctx context.Context) error {
		var err error
		link, err = b.c.tg.CreateChatInviteLink(ctx, &tgbot.CreateChatInviteLinkParams{ChatID: *row.TgChatID, Name: linkName, CreatesJoinRequest: true})
		return err
	})
	b.metrics.sent("createChatInviteLink", err)
	if err != nil {
		return "", fmt.Errorf("make the join link of %s: %w", row.ChatKey, err)
	}
	if err := b.store.SetJoinLink(ctx, row.ChatKey, link.InviteLink); err != nil {
		return "", err
	}
	b.log.InfoContext(ctx, "join link made", "chat", row.ChatKey)
	return link.InviteLink, nil
}

// checkJoinLink makes sure the chat's join link still works (an admin may
// have revoked it) and makes a new one when it does not.
func (b *Bot) checkJoinLink(ctx context.Context, row *models.ChatRow) error {
	if row.TgChatID == nil || row.JoinLink == nil {
		return nil
	}
	var link tgmodels.ChatInviteLink
	err := b.c.do(ctx, *row.TgChatID, callOther, func(ctx context.Context) error {
		// An edit sets every setting of the link, and one left out is
		// reset: without creates_join_request the link would let anyone
		// in without a request.
		return b.c.call(ctx, "editChatInviteLink", map[string]any{"chat_id": *row.TgChatID, "invite_link": *row.JoinLink, "name": linkName, "creates_join_request": true}, &link)
	})
	switch {
	case err == nil && !link.IsRevoked:
		return nil
	case err != nil && classify(err) != failRefused && classify(err) != failMissing:
		return err // unknown: look again next time
	}
	b.log.InfoContext(ctx, "join link revoked; making a new one", "chat", row.ChatKey)
	if err := b.store.SetJoinLink(ctx, row.ChatKey, ""); err != nil {
		return err
	}
	row.JoinLink = nil
	_, err = b.ensureJoinLink(ctx, row)
	return err
}

// joinLinkLeaseTTL bounds how long an instance that died while making a
// chat's join link holds the others up (its heart stopping frees it
// sooner).
const joinLinkLeaseTTL = 30 * time.Second

// joinLinkLease names the lease of a chat's join link creation (lease
// names are at most 58 bytes: a long chat key is hashed).
func joinLinkLease(key string) string {
	name := "joinlink:" + key
	if len(name) > 58 {
		sum := sha256.Sum256([]byte(key))
		name = "joinlink:" + hex.EncodeToString(sum[:16])
	}
	return name
}

func (b *Bot) linkLock(key string) *sync.Mutex {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.linkLocks == nil {
		b.linkLocks = map[string]*sync.Mutex{}
	}
	mu, ok := b.linkLocks[key]
	if !ok {
		mu = &sync.Mutex{}
		b.linkLocks[key] = mu
	}
	return mu
}

// revokeMemberLink revokes a member's personal link once they have joined
// through it, so that nobody else can use it.
func (b *Bot) revokeMemberLink(ctx context.Context, memberID int64, chat string, tgChatID int64, used string) {
	l, err := b.store.MemberLinkFor(ctx, memberID, chat)
	if err != nil || (used != "" && l.Link != used) {
		return
	}
	err = b.c.do(ctx, tgChatID, callOther, func(ctx context.Context) error {
		_, err := b.c.tg.RevokeChatInviteLink(ctx, &tgbot.RevokeChatInviteLinkParams{ChatID: tgChatID, InviteLink: l.Link})
		return err
	})
	if err != nil && classify(err) != failMissing && classify(err) != failRefused {
		b.log.WarnContext(ctx, "revoke a personal link", "chat", chat, "err", err)
		return
	}
	if err := b.store.DeleteMemberLink(ctx, memberID, chat); err != nil {
		b.log.WarnContext(ctx, "forget a personal link", "chat", chat, "err", err)
	}
}

// revokeUsedLink revokes a personal link someone joined through and
// forgets it, so that its owner is offered the chat's join link (or a new
// personal link with their next invite).
func (b *Bot) revokeUsedLink(ctx context.Context, chat string, tgChatID int64, used string) {
	err := b.c.do(ctx, tgChatID, callOther, func(ctx context.Context) error {
		_, err := b.c.tg.RevokeChatInviteLink(ctx, &tgbot.RevokeChatInviteLinkParams{ChatID: tgChatID, InviteLink: used})
		return err
	})
	if err != nil && classify(err) != failMissing && classify(err) != failRefused {
		b.log.WarnContext(ctx, "revoke a used personal link", "chat", chat, "err", err)
	}
	if err := b.store.ForgetLink(ctx, chat, used); err != nil {
		b.log.WarnContext(ctx, "forget a used personal link", "chat", chat, "err", err)
	}
}

// adminKey and adminSeen cache getChatMember answers for admin checks.
type adminKey struct{ chat, user int64 }
type adminSeen struct {
	admin bool
	at    time.Time
}

// isChatAdmin reports whether user is the creator or an admin of the
// Telegram chat, asking Telegram at most once a minute per pair.
func (b *Bot) isChatAdmin(ctx context.Context, chatID, userID int64) (bool, error) {
	k := adminKey{chatID, userID}
	b.mu.Lock()
	seen, ok := b.adminSeen[k]
	b.mu.Unlock()
	if ok && time.Since(seen.at) < time.Minute {
		return seen.admin, nil
	}
	mi, err := b.getMember(ctx, chatID, userID)
	if err != nil {
		if f := classify(err); f == failChat || f == failUserGone || f == failRefused {
			return false, nil
		}
		return false, err
	}
	b.mu.Lock()
	if len(b.adminSeen) > 10000 {
		clear(b.adminSeen)
	}
	b.adminSeen[k] = adminSeen{admin: mi.admin(), at: time.Now()}
	b.mu.Unlock()
	return mi.admin(), nil
}

// errChatNotReady means the gated chat has no Telegram group yet.
var errChatNotReady = errors.New("the gated chat has no Telegram group yet (create it, or /bind one)")
