package userbot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

// peerStore keeps the access hashes accounts know of users and channels,
// and which accounts know a peer.
type peerStore interface {
	SavePeers(ctx context.Context, peers []models.UserbotPeer) error
	Peer(ctx context.Context, id int64, kind string, peerID int64) (*models.UserbotPeer, error)
	PeerHolders(ctx context.Context, kind string, peerID int64) ([]models.UserbotPeer, error)
}

// inChannel returns an account of this instance that is in the supergroup
// (its creator first) and the access hash it knows, or a wait when only
// another instance's account is in it. ok is false when no account knows
// the group at all.
func (p *Pool) inChannel(ctx context.Context, channel int64) (a *account, in *tg.InputChannel, ok bool, err error) {
	holders, err := p.opts.Accounts.PeerHolders(ctx, models.PeerChannel, channel)
	if err != nil {
		return nil, nil, false, err
	}
	elsewhere := false
	for _, h := range holders {
		acc := p.account(h.UserbotID)
		if acc == nil || !acc.isReady() {
			elsewhere = true
			continue
		}
		return acc, &tg.InputChannel{ChannelID: channel, AccessHash: h.AccessHash}, true, nil
	}
	if elsewhere {
		return nil, nil, true, worker.RetryAt(p.opts.Now().Add(otherInstanceWait), errors.New("the userbot account in this group is not connected here"))
	}
	return nil, nil, false, nil
}

// anyReady reports whether any account, of any instance, is ready.
func (p *Pool) anyReady(ctx context.Context) (bool, error) {
	rows, err := p.opts.Accounts.ListUserbots(ctx)
	if err != nil {
		return false, err
	}
	for _, r := range rows {
		if r.State == models.UserbotReady {
			return true, nil
		}
	}
	return false, nil
}

// maxPage is the most participants Telegram returns per call.
const maxPage = 200

// execAudit lists a gated chat's participants, page by page, and records
// them: members inside whom no update reported, members gone, strangers.
func (p *Pool) execAudit(ctx context.Context, act *models.Action) error {
	_, err := p.AuditChat(ctx, act.ChatKey)
	if errors.Is(err, worker.ErrCannotAudit) {
		p.log.InfoContext(ctx, "no userbot account is in the group: not audited", "chat", act.ChatKey)
		return nil
	}
	return err
}

// AuditChat lists a gated chat's participants with an account of this
// instance that is in its group, and records them
// (Store.RecordParticipants). It returns a worker.RetryError when the
// account in the group is connected elsewhere or not yet, and an error
// wrapping worker.ErrCannotAudit when no account is in the group (or the
// chat has none).
func (p *Pool) AuditChat(ctx context.Context, key string) (models.Audit, error) {
	row, err := p.opts.Store.ChatRow(ctx, key)
	if err != nil {
		return models.Audit{}, err
	}
	if row.TgChatID == nil {
		return models.Audit{}, fmt.Errorf("chat %s has no group: %w", key, worker.ErrCannotAudit)
	}
	a, channel, ok, err := p.inChannel(ctx, channelID(*row.TgChatID))
	if err != nil {
		return models.Audit{}, err
	}
	if !ok {
		if len(p.ready()) == 0 {
			// None connected here: one that is ready (connecting, or on
			// another instance) may yet be in the group; with none ready
			// anywhere, no audit will ever be made: say so now rather than
			// queue one.
			if ready, err := p.anyReady(ctx); err != nil {
				return models.Audit{}, err
			} else if !ready {
				return models.Audit{}, fmt.Errorf("chat %s: no userbot account is logged in: %w", key, worker.ErrCannotAudit)
			}
			return models.Audit{}, worker.RetryAt(p.opts.Now().Add(otherInstanceWait), errors.New("no userbot account is connected yet"))
		}
		return models.Audit{}, fmt.Errorf("chat %s: %w", key, worker.ErrCannotAudit)
	}
	present, admins, err := p.participants(ctx, a, channel)
	if err != nil {
		return models.Audit{}, p.retryable(err)
	}
	res, err := p.opts.Store.RecordParticipants(ctx, key, present, admins, p.opts.Actor+":"+strconv.FormatInt(a.id, 10))
	if err != nil {
		return models.Audit{}, err
	}
	a.log.InfoContext(ctx, "chat audited", "chat", key, "present", res.Present, "joined", res.Joined, "left", res.Left, "strangers", res.Strangers)
	if res.Joined+res.Left+res.Strangers > 0 {
		p.wakeWorkers()
	}
	return res, nil
}

// participants lists the people inside a supergroup, in two lists: its
// ordinary participants, and its creator and admins (who are never removed
// and never strangers). Bots, the banned, those who left and the account
// itself are left out.
func (p *Pool) participants(ctx context.Context, a *account, channel *tg.InputChannel) (present, admins []int64, err error) {
	for offset := 0; ; {
		res, err := a.tg().ChannelsGetParticipants(ctx, &tg.ChannelsGetParticipantsRequest{
			Channel: channel, Filter: &tg.ChannelParticipantsRecent{}, Offset: offset, Limit: maxPage,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("list participants: %w", err)
		}
		page, ok := res.(*tg.ChannelsChannelParticipants)
		if !ok {
			return nil, nil, errors.New("list participants: not modified, with no cache")
		}
		bots := map[int64]bool{}
		for _, u := range page.Users {
			if uu, ok := u.(*tg.User); ok && uu.Bot {
				bots[uu.ID] = true
			}
		}
		p.rememberUsers(ctx, a, page.Users)
		for _, part := range page.Participants {
			var id int64
			var admin bool
			switch x := part.(type) {
			case *tg.ChannelParticipant:
				id = x.UserID
			case *tg.ChannelParticipantSelf:
				id = x.UserID
			case *tg.ChannelParticipantAdmin:
				id, admin = x.UserID, true
			case *tg.ChannelParticipantCreator:
				id, admin = x.UserID, true
			default: // banned or left: not inside
				continue
			}
			switch {
			case id == a.userID() || bots[id]:
			case admin:
				admins = append(admins, id)
			default:
				present = append(present, id)
			}
		}
		offset += len(page.Participants)
		if len(page.Participants) == 0 || offset >= page.Count {
			return present, admins, nil
		}
	}
}

// inputUser is the account's input user for a Telegram user: from the
// access hashes it has seen, else by the username (resolved and stored).
func (p *Pool) inputUser(ctx context.Context, a *account, userID int64, username string) (*tg.InputUser, error) {
	peer, err := p.opts.Accounts.Peer(ctx, a.id, models.PeerUser, userID)
	if err == nil {
		return &tg.InputUser{UserID: userID, AccessHash: peer.AccessHash}, nil
	}
	if !errors.Is(err, models.ErrNotFound) {
		return nil, err
	}
	if username == "" {
		return nil, models.ErrNotFound
	}
	in, err := p.inputUserByUsername(ctx, a, username)
	if err != nil {
		return nil, err
	}
	if in.UserID != userID {
		return nil, fmt.Errorf("@%s is another account now", username)
	}
	return in, nil
}

// Invite wraps the bot's invite executor: an eligible member is added
// directly where Telegram allows it (their privacy settings, a mutual
// contact), by the account in the group, at most 20 per call; everyone
// Telegram does not let in that way (missing_invitees,
// USER_PRIVACY_RESTRICTED, USER_NOT_MUTUAL_CONTACT, an account limited
// with PEER_FLOOD, a user the account cannot address) gets the bot's
// join link instead. Only members an invite action names are added: never
// strangers, never in bulk.
func (p *Pool) Invite(fallback worker.Executor) worker.Executor {
	return worker.ExecutorFunc(func(ctx context.Context, act *models.Action) error {
		if p.addDirectly(ctx, act) {
			return nil
		}
		return fallback.Execute(ctx, act)
	})
}

// addDirectly tries to add an invite's member, and reports whether they
// are in the group now.
func (p *Pool) addDirectly(ctx context.Context, act *models.Action) bool {
	if p.opts.NoDirectAdds || act.TgUserID == nil || act.MemberExt == "" {
		return false
	}
	row, err := p.opts.Store.ChatRow(ctx, act.ChatKey)
	if err != nil || row.TgChatID == nil {
		return false
	}
	v, err := p.opts.Store.FindMember(ctx, act.MemberExt)
	if err != nil || v.Member.ID != act.MemberID || v.Member.TgUserID == nil || *v.Member.TgUserID != *act.TgUserID {
		return false // deleted or relinked since: the bot's executor sorts it out
	}
	a, channel, ok, err := p.inChannel(ctx, channelID(*row.TgChatID))
	if err != nil || !ok {
		return false
	}
	a.mu.Lock()
	limited := a.peerFlood
	a.mu.Unlock()
	if limited {
		return false
	}
	username := ""
	if v.Member.TgUsername != nil {
		username = *v.Member.TgUsername
	}
	user, err := p.inputUser(ctx, a, *act.TgUserID, username)
	if err != nil {
		return false
	}
	err = p.add(ctx, a, channel, user)
	switch {
	case err == nil:
		a.log.InfoContext(ctx, "member added directly", "chat", act.ChatKey, "member", act.MemberExt)
		return true
	case tgerr.Is(err, "PEER_FLOOD"):
		a.mu.Lock()
		a.peerFlood = true
		a.mu.Unlock()
		if err := p.opts.Accounts.SetPeerFlood(context.WithoutCancel(ctx), a.id, p.opts.Actor); err != nil {
			a.log.WarnContext(ctx, "record PEER_FLOOD", "err", err)
		}
	case errors.Is(err, errNotAdded):
	default:
		a.log.InfoContext(ctx, "direct add failed; the bot sends the link", "chat", act.ChatKey, "member", act.MemberExt, "err", err)
	}
	return false
}

// errNotAdded means Telegram did not let the user in (missing_invitees).
var errNotAdded = errors.New("telegram did not add the user (privacy settings)")

// batchKey names a batch: one account adding to one group.
type batchKey struct {
	account int64
	channel int64
}

// batch collects the users to add to one group for up to batchWindow, and
// adds them in one inviteToChannel call of at most maxAdd.
type batch struct {
	users   []*tg.InputUser
	results map[int64]chan error
}

const (
	maxAdd      = 20
	batchWindow = 50 * time.Millisecond
)

// add adds one user to a group, batched with the other adds to it that
// arrive within batchWindow.
func (p *Pool) add(ctx context.Context, a *account, channel *tg.InputChannel, user *tg.InputUser) error {
	k := batchKey{a.id, channel.ChannelID}
	res := make(chan error, 1)
	p.mu.Lock()
	b, ok := p.batches[k]
	if !ok || len(b.users) >= maxAdd {
		b = &batch{results: map[int64]chan error{}}
		p.batches[k] = b
		go p.flushBatch(context.WithoutCancel(ctx), a, channel, k, b)
	}
	b.users = append(b.users, user)
	b.results[user.UserID] = res
	p.mu.Unlock()
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Pool) flushBatch(ctx context.Context, a *account, channel *tg.InputChannel, k batchKey, b *batch) {
	time.Sleep(batchWindow)
	p.mu.Lock()
	if p.batches[k] == b {
		delete(p.batches, k)
	}
	users := append([]*tg.InputUser(nil), b.users...)
	p.mu.Unlock()
	in := make([]tg.InputUserClass, len(users))
	for i, u := range users {
		in[i] = u
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.CallTimeout)
	defer cancel()
	out, err := a.tg().ChannelsInviteToChannel(ctx, &tg.ChannelsInviteToChannelRequest{Channel: channel, Users: in})
	missing := map[int64]bool{}
	if err == nil {
		for _, m := range out.MissingInvitees {
			missing[m.UserID] = true
		}
	}
	for _, u := range users {
		switch {
		case err != nil:
			b.results[u.UserID] <- err
		case missing[u.UserID]:
			b.results[u.UserID] <- errNotAdded
		default:
			b.results[u.UserID] <- nil
		}
	}
}

// Remove wraps the bot's removal: in a group where the bot cannot ban
// (not an admin, or without the right), the account in the group removes
// the member with channels.editBanned (banned, then unbanned, so that they
// may come back when they qualify again).
func (p *Pool) Remove(fallback worker.Executor) worker.Executor {
	return worker.ExecutorFunc(func(ctx context.Context, act *models.Action) error {
		row, err := p.opts.Store.ChatRow(ctx, act.ChatKey)
		if err != nil {
			return err
		}
		botCan := (row.BotStatus == "administrator" && row.CanRestrict) || row.BotStatus == "creator"
		if botCan || row.TgChatID == nil || act.TgUserID == nil {
			return fallback.Execute(ctx, act)
		}
		a, channel, ok, err := p.inChannel(ctx, channelID(*row.TgChatID))
		if err != nil || !ok {
			return fallback.Execute(ctx, act)
		}
		user, err := p.inputUser(ctx, a, *act.TgUserID, "")
		if err != nil {
			return fallback.Execute(ctx, act)
		}
		return p.removeUser(ctx, a, channel, user)
	})
}

// removeUser removes a user from a group: ban, then lift the ban.
func (p *Pool) removeUser(ctx context.Context, a *account, channel *tg.InputChannel, user *tg.InputUser) error {
	peer := &tg.InputPeerUser{UserID: user.UserID, AccessHash: user.AccessHash}
	_, err := a.tg().ChannelsEditBanned(ctx, &tg.ChannelsEditBannedRequest{Channel: channel, Participant: peer, BannedRights: tg.ChatBannedRights{ViewMessages: true}})
	if err != nil && !tgerr.Is(err, "USER_NOT_PARTICIPANT", "PARTICIPANT_ID_INVALID") {
		return p.retryable(err)
	}
	_, err = a.tg().ChannelsEditBanned(ctx, &tg.ChannelsEditBannedRequest{Channel: channel, Participant: peer, BannedRights: tg.ChatBannedRights{}})
	if err != nil && !tgerr.Is(err, "USER_NOT_PARTICIPANT", "PARTICIPANT_ID_INVALID") {
		return p.retryable(err)
	}
	return nil
}

// retryable turns a flood wait into a deferral of the job.
func (p *Pool) retryable(err error) error {
	var we *waitError
	if errors.As(err, &we) {
		return worker.RetryAt(we.Until, err)
	}
	return err
}
