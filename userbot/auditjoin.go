package userbot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

// inviteHash is the hash of an invite link (https://t.me/+HASH, or the
// older t.me/joinchat/HASH).
func inviteHash(link string) string {
	s := strings.TrimSpace(link)
	for _, p := range []string{"https://", "http://"} {
		s = strings.TrimPrefix(s, p)
	}
	for _, p := range []string{"t.me/+", "telegram.me/+", "t.me/joinchat/", "telegram.me/joinchat/"} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// execAuditJoin joins a group bound by hand with the one-use invite link
// the bot made for /audit on (messages.importChatInvite), records the
// group for the account's audits, and asks the bot to make the account an
// admin that can see the members. An account with room in its channel cap
// joins; a link refused for good fails the job (the admin sends /audit on
// again).
func (p *Pool) execAuditJoin(ctx context.Context, act *models.Action) error {
	if act.Payload == nil || inviteHash(*act.Payload) == "" {
		return worker.Permanent(errors.New("audit join without an invite link"))
	}
	hash := inviteHash(*act.Payload)
	a, err := p.pick("messages.importChatInvite", nil,
		func(a *account) bool { return a.channelCount() < a.channelCap() && a.userID() != 0 },
		func(a, b *account) bool { return a.channelCount() < b.channelCount() })
	switch {
	case errors.Is(err, errNoAccount):
		return p.noAccount(ctx, err)
	case err != nil:
		return err
	}
	res, err := a.tg().MessagesImportChatInvite(ctx, hash)
	switch {
	case err == nil:
	case tgerr.Is(err, "USER_ALREADY_PARTICIPANT"):
		a.log.InfoContext(ctx, "the audit account is in the group already", "chat", act.ChatKey)
		return p.opts.Store.QueueAuditPromote(ctx, act.ChatKey, a.userID())
	case tgerr.Is(err, "INVITE_HASH_EXPIRED", "INVITE_HASH_INVALID", "INVITE_HASH_EMPTY", "USER_BANNED_IN_CHANNEL", "USERS_TOO_MUCH", "INVITE_REQUEST_SENT"):
		return worker.Permanent(fmt.Errorf("join %s to audit it: %w", act.ChatKey, err))
	default:
		return p.retryable(err)
	}
	ok, isOK := res.(*tg.MessagesChatInviteJoinResultOk)
	if !isOK {
		// The group's guard bot shows a Mini App first: nothing an
		// account without a person can pass.
		return worker.Permanent(fmt.Errorf("join %s to audit it: the group asks joiners to open its guard bot's web app (%T)", act.ChatKey, res))
	}
	ch := channelIn(ok.Updates)
	if ch == nil {
		return fmt.Errorf("join %s to audit it: no channel in Telegram's answer", act.ChatKey)
	}
	a.mu.Lock()
	a.channels++
	a.mu.Unlock()
	if err := p.opts.Accounts.SavePeers(ctx, []models.UserbotPeer{{UserbotID: a.id, Kind: models.PeerChannel, PeerID: ch.ID, AccessHash: ch.AccessHash}}); err != nil {
		return err
	}
	a.log.InfoContext(ctx, "joined a group to audit it", "chat", act.ChatKey, "channel", ch.ID)
	return p.opts.Store.QueueAuditPromote(ctx, act.ChatKey, a.userID())
}
