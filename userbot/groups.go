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

// groupStore records the private groups accounts create: begun, finished
// or abandoned, per chat, and how many each account made lately.
type groupStore interface {
	BeginGroup(ctx context.Context, id int64, chat, title string) (*models.UserbotGroup, error)
	FinishGroup(ctx context.Context, groupID, channelID, accessHash int64) error
	AbandonGroup(ctx context.Context, groupID int64) error
	Groups(ctx context.Context, chat string) ([]models.UserbotGroup, error)
	CreatedSince(ctx context.Context, since time.Time) (map[int64]int, error)
}

// Waits before trying a job again when no account of this instance can.
const (
	otherInstanceWait = 30 * time.Second // an account another instance holds may
	noAccountWait     = 10 * time.Minute // none may: log one in (a login wakes the job)
)

// botAPIChatID is a supergroup's Bot API id; channelID undoes it.
func botAPIChatID(channelID int64) int64 { return -1000000000000 - channelID }
func channelID(botAPIID int64) int64     { return -botAPIID - 1000000000000 }

// botRights are the admin rights the bot gets in the groups the pool
// creates: invite (join requests and links), ban, delete messages, manage
// the chat and member tags.
var botRights = tg.ChatAdminRights{InviteUsers: true, BanUsers: true, DeleteMessages: true, Other: true, ManageRanks: true}

// pick chooses the account for a job: among this instance's ready accounts
// that ok accepts and that are not waiting to call method, the first in
// rank order. When every acceptable account must wait it returns the
// earliest time one may go, wrapped in worker.RetryAt.
func (p *Pool) pick(method string, skip map[int64]bool, ok func(*account) bool, less func(a, b *account) bool) (*account, error) {
	var best *account
	var soonest time.Time
	for _, a := range p.ready() {
		if skip[a.id] || !ok(a) {
			continue
		}
		if t := a.lim.until(method); !t.IsZero() {
			if soonest.IsZero() || t.Before(soonest) {
				soonest = t
			}
			continue
		}
		if best == nil || (less != nil && less(a, best)) {
			best = a
		}
	}
	if best != nil {
		return best, nil
	}
	if !soonest.IsZero() {
		return nil, worker.RetryAt(soonest, fmt.Errorf("%w: every userbot account must wait before %s", errNoAccount, method))
	}
	return nil, errNoAccount
}

// execCreateGroup creates the supergroup of a gated chat that has none:
// private (no username), title and about from the rules; binds it; makes
// the bot its admin.
func (p *Pool) execCreateGroup(ctx context.Context, act *models.Action) error {
	c, ok := p.opts.Store.Rules().Chat(act.ChatKey)
	if !ok {
		return worker.Permanent(fmt.Errorf("chat %q is no longer in the rules", act.ChatKey))
	}
	row, err := p.opts.Store.ChatRow(ctx, act.ChatKey)
	if err != nil {
		return err
	}
	if row.TgChatID != nil {
		// Bound meanwhile (by /bind), or by an earlier attempt that may
		// have stopped before the bot was made admin.
		if row.BotStatus == "administrator" || row.BotStatus == "creator" {
			return nil
		}
		a, ch, ok, err := p.inChannel(ctx, channelID(*row.TgChatID))
		if err != nil || !ok {
			return err
		}
		if err := p.promoteBot(ctx, a, act.ChatKey, ch); err != nil {
			if worker.IsPermanent(err) {
				return err // the operator must act: say so
			}
			a.log.WarnContext(ctx, "make the bot admin of a bound group", "chat", act.ChatKey, "err", err)
		}
		return nil
	}
	// An earlier attempt may have created the group and died before
	// recording it: look for it before creating another.
	done, err := p.recoverGroup(ctx, act.ChatKey)
	if done || err != nil {
		return err
	}
	created, err := p.opts.Accounts.CreatedSince(ctx, p.opts.Now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	const perDay = 50
	skip := map[int64]bool{}
	var soonest time.Time // the earliest end of a wait met on the way
	for {
		a, err := p.pick("channels.createChannel", skip,
			func(a *account) bool { return a.channelCount() < a.channelCap() && created[a.id] < perDay },
			func(a, b *account) bool { return created[a.id] < created[b.id] })
		var retry *worker.RetryError
		switch {
		case errors.As(err, &retry):
			if !soonest.IsZero() && soonest.Before(retry.At) {
				return worker.RetryAt(soonest, err)
			}
			return err
		case errors.Is(err, errNoAccount) && !soonest.IsZero():
			return worker.RetryAt(soonest, fmt.Errorf("%w: every userbot account must wait before channels.createChannel", errNoAccount))
		case errors.Is(err, errNoAccount):
			return p.noAccount(ctx, err)
		case err != nil:
			return err
		}
		err = p.createOn(ctx, a, c.Key, c.Title)
		var we *waitError
		var le *lostError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &we):
			if soonest.IsZero() || we.Until.Before(soonest) {
				soonest = we.Until
			}
			skip[a.id] = true // another account may do it sooner
		case errors.As(err, &le):
			skip[a.id] = true
		case tgerr.Is(err, "CHANNELS_TOO_MUCH"):
			a.mu.Lock()
			a.channels = a.cap
			a.mu.Unlock()
			if err := p.opts.Accounts.SetChannels(ctx, a.id, a.channelCap(), 0); err != nil {
				a.log.WarnContext(ctx, "record full account", "err", err)
			}
			skip[a.id] = true
		default:
			return err
		}
	}
}

// noAccount is the wait when no account of this instance can do a job:
// short when another instance holds a ready account, long (until a login
// wakes the job) when none is ready anywhere.
func (p *Pool) noAccount(ctx context.Context, cause error) error {
	rows, err := p.opts.Accounts.ListUserbots(ctx)
	if err != nil {
		return err
	}
	now := p.opts.Now()
	for _, r := range rows {
		if r.State == models.UserbotReady && p.account(r.ID) == nil {
			return worker.RetryAt(now.Add(otherInstanceWait), fmt.Errorf("%w here; another instance holds an account", cause))
		}
	}
	return worker.RetryAt(now.Add(noAccountWait), fmt.Errorf("%w: no account has room (channel cap, 50 groups a day) or none is logged in: log in another with karmagate userbot login", cause))
}

// createOn creates the chat's group with account a, recording the attempt
// first.
func (p *Pool) createOn(ctx context.Context, a *account, key, title string) error {
	g, err := p.opts.Accounts.BeginGroup(ctx, a.id, key, title)
	if err != nil {
		return err
	}
	// Created with the attempt's marker as its description (see
	// findGroup); finishGroup sets the rules' description.
	upd, err := a.tg().ChannelsCreateChannel(ctx, &tg.ChannelsCreateChannelRequest{Megagroup: true, Title: title, About: creationMarker(g)})
	if err != nil {
		if isRPC(err) || errors.As(err, new(*waitError)) || errors.As(err, new(*lostError)) {
			// Telegram refused: nothing was created.
			return errors.Join(err, p.opts.Accounts.AbandonGroup(context.WithoutCancel(ctx), g.ID))
		}
		// The answer was lost (connection dropped): the group may exist.
		// Look once the client has reconnected; else the next attempt does.
		a.log.WarnContext(ctx, "createChannel's answer was lost; looking for the group", "chat", key, "err", err)
		found, ferr := p.findGroup(ctx, a, g)
		if ferr != nil || found == nil {
			return fmt.Errorf("create the group of %s: %w", key, errors.Join(err, ferr))
		}
		return p.finishGroup(ctx, a, g, found)
	}
	if p.opts.Failpoint != nil {
		p.opts.Failpoint(FailAfterCreateChannel)
	}
	ch := channelIn(upd)
	if ch == nil {
		return fmt.Errorf("create the group of %s: no channel in Telegram's answer", key)
	}
	a.mu.Lock()
	a.channels++
	a.mu.Unlock()
	return p.finishGroup(ctx, a, g, ch)
}

// channelIn finds the created channel in createChannel's updates.
func channelIn(upd tg.UpdatesClass) *tg.Channel {
	var chats []tg.ChatClass
	switch u := upd.(type) {
	case *tg.Updates:
		chats = u.Chats
	case *tg.UpdatesCombined:
		chats = u.Chats
	}
	for _, c := range chats {
		if ch, ok := c.(*tg.Channel); ok {
			return ch
		}
	}
	return nil
}

// finishGroup records a created group, binds it and promotes the bot.
func (p *Pool) finishGroup(ctx context.Context, a *account, g *models.UserbotGroup, ch *tg.Channel) error {
	if err := p.opts.Accounts.FinishGroup(ctx, g.ID, ch.ID, ch.AccessHash); err != nil {
		return err
	}
	if err := p.opts.Accounts.SavePeers(ctx, []models.UserbotPeer{{UserbotID: a.id, Kind: models.PeerChannel, PeerID: ch.ID, AccessHash: ch.AccessHash}}); err != nil {
		return err
	}
	if err := p.opts.Accounts.SetChannels(ctx, a.id, a.channelCount(), 0); err != nil {
		a.log.WarnContext(ctx, "record channel count", "err", err)
	}
	if err := p.setAbout(ctx, a, g.ChatKey, ch); err != nil {
		return err
	}
	actor := p.opts.Actor + ":" + strconv.FormatInt(a.id, 10)
	if err := p.opts.Store.RecordGroupCreated(ctx, g.ChatKey, botAPIChatID(ch.ID), a.userID(), actor); err != nil {
		return fmt.Errorf("bind the created group of %s: %w", g.ChatKey, err)
	}
	a.log.InfoContext(ctx, "group created", "chat", g.ChatKey, "telegram_chat", botAPIChatID(ch.ID))
	if err := p.promoteBot(ctx, a, g.ChatKey, &tg.InputChannel{ChannelID: ch.ID, AccessHash: ch.AccessHash}); err != nil {
		return err
	}
	p.wakeWorkers()
	return nil
}

// setAbout gives a group the rules' description in place of the creation
// marker; a group whose description is that already is left alone.
func (p *Pool) setAbout(ctx context.Context, a *account, key string, ch *tg.Channel) error {
	c, ok := p.opts.Store.Rules().Chat(key)
	if !ok {
		return nil
	}
	_, err := a.tg().MessagesEditChatAbout(ctx, &tg.MessagesEditChatAboutRequest{
		Peer: &tg.InputPeerChannel{ChannelID: ch.ID, AccessHash: ch.AccessHash}, About: c.About,
	})
	if err != nil && !tgerr.Is(err, "CHAT_ABOUT_NOT_MODIFIED") {
		return fmt.Errorf("set the description of the group of %s: %w", key, err)
	}
	return nil
}

// promoteBot makes the bot an admin of a group the account created
// (promoting a bot adds it).
func (p *Pool) promoteBot(ctx context.Context, a *account, key string, channel *tg.InputChannel) error {
	name := p.opts.BotUsername
	if p.opts.BotUsernameOf != nil {
		name = p.opts.BotUsernameOf()
	}
	if name == "" {
		return nil
	}
	bot, err := p.inputUserByUsername(ctx, a, name)
	if err != nil {
		return fmt.Errorf("find the bot @%s: %w", name, err)
	}
	_, err = a.tg().ChannelsEditAdmin(ctx, &tg.ChannelsEditAdminRequest{Channel: channel, UserID: bot, AdminRights: botRights, Rank: "karmagate"})
	if err != nil && !tgerr.Is(err, "USER_ALREADY_PARTICIPANT", "CHAT_NOT_MODIFIED") {
		if why := promoteRefusal(err, name); why != "" {
			// Trying again changes nothing until someone acts.
			return worker.Permanent(fmt.Errorf("make the bot admin of %s: %s: %w", key, why, err))
		}
		return fmt.Errorf("make the bot admin of %s: %w", key, err)
	}
	return p.opts.Store.SetChatBot(ctx, key, models.BotInChat{Status: "administrator", CanInvite: true, CanRestrict: true, CanManageTags: true})
}

// promoteRefusal says, in words, why Telegram will not make the bot an
// admin and what the operator must do; "" for other errors.
func promoteRefusal(err error, bot string) string {
	switch {
	case tgerr.Is(err, "BOT_GROUPS_BLOCKED"):
		return fmt.Sprintf("the bot @%s may not be added to groups: turn groups on in @BotFather (Bot Settings → Allow Groups?), then make the bot an admin of the group", bot)
	case tgerr.Is(err, "ADMINS_TOO_MUCH"):
		return "the group has as many admins as Telegram allows (50): remove one, then make the bot an admin"
	case tgerr.Is(err, "RIGHT_FORBIDDEN"):
		return "the userbot account may not give the bot the rights it needs (invite, ban, delete): only the group's creator, or an admin who holds those rights and may add admins, can"
	}
	return ""
}

// inputUserByUsername resolves a username to an input user with the
// account's access hash, stored for next time.
func (p *Pool) inputUserByUsername(ctx context.Context, a *account, username string) (*tg.InputUser, error) {
	res, err := a.tg().ContactsResolveUsername(ctx, &tg.ContactsResolveUsernameRequest{Username: username})
	if err != nil {
		return nil, err
	}
	for _, u := range res.Users {
		if uu, ok := u.(*tg.User); ok {
			p.rememberUsers(ctx, a, []tg.UserClass{uu})
			return &tg.InputUser{UserID: uu.ID, AccessHash: uu.AccessHash}, nil
		}
	}
	return nil, fmt.Errorf("@%s is not a user", username)
}

// rememberUsers stores the access hashes of users an account saw.
func (p *Pool) rememberUsers(ctx context.Context, a *account, users []tg.UserClass) {
	var peers []models.UserbotPeer
	for _, u := range users {
		uu, ok := u.(*tg.User)
		if !ok || uu.AccessHash == 0 {
			continue
		}
		peer := models.UserbotPeer{UserbotID: a.id, Kind: models.PeerUser, PeerID: uu.ID, AccessHash: uu.AccessHash}
		if uu.Username != "" {
			peer.Username = &uu.Username
		}
		peers = append(peers, peer)
	}
	if err := p.opts.Accounts.SavePeers(ctx, peers); err != nil {
		a.log.WarnContext(ctx, "store access hashes", "err", err)
	}
}

// recoverGroup finishes an earlier attempt to create the chat's group that
// was cut short: recorded with its channel, or found in its account's
// dialogs. It reports whether the group exists now. An attempt whose
// account another instance holds makes the job wait for it.
func (p *Pool) recoverGroup(ctx context.Context, key string) (bool, error) {
	gs, err := p.opts.Accounts.Groups(ctx, key)
	if err != nil {
		return false, err
	}
	for i := len(gs) - 1; i >= 0; i-- {
		g := &gs[i]
		a := p.account(g.UserbotID)
		if a == nil || !a.isReady() {
			row, err := p.opts.Accounts.Userbot(ctx, g.UserbotID)
			if err == nil && row.State == models.UserbotReady {
				return false, worker.RetryAt(p.opts.Now().Add(otherInstanceWait),
					fmt.Errorf("an earlier attempt of userbot %d to create %s must be checked first, and another instance holds it", g.UserbotID, key))
			}
			continue // the account is gone: its group with it
		}
		if g.ChannelID != nil && g.AccessHash != nil {
			return true, p.finishGroup(ctx, a, g, &tg.Channel{ID: *g.ChannelID, AccessHash: *g.AccessHash})
		}
		found, err := p.findGroup(ctx, a, g)
		if err != nil {
			return false, err
		}
		if found != nil {
			a.log.InfoContext(ctx, "found the group an interrupted attempt created", "chat", key, "telegram_chat", botAPIChatID(found.ID))
			return true, p.finishGroup(ctx, a, g, found)
		}
		if err := p.opts.Accounts.AbandonGroup(ctx, g.ID); err != nil {
			return false, err
		}
	}
	return false, nil
}

// findGroup looks in an account's dialogs for the group an attempt
// created: one the account created, with the attempt's title, made no
// earlier than a minute before the attempt began (Telegram's clock may
// differ from ours), and carrying the attempt's marker as its description
// (createOn sets it; finishGroup puts the rules' description back once the
// group is recorded). A group of the same title made by hand in that minute
// has no marker and is never adopted.
func (p *Pool) findGroup(ctx context.Context, a *account, g *models.UserbotGroup) (*tg.Channel, error) {
	since := int(g.StartedAt.Add(-time.Minute).Unix())
	bound, err := p.opts.Store.ChatRows(ctx)
	if err != nil {
		return nil, err
	}
	var found *tg.Channel
	err = eachChannel(ctx, a.tg(), func(ch *tg.Channel) (bool, error) {
		if !ch.Creator || ch.Title != g.Title || ch.Date < since || boundTo(bound, botAPIChatID(ch.ID)) {
			return false, nil
		}
		full, err := a.tg().ChannelsGetFullChannel(ctx, &tg.InputChannel{ChannelID: ch.ID, AccessHash: ch.AccessHash})
		if err != nil {
			return false, fmt.Errorf("read the description of a candidate group: %w", err)
		}
		if cf, ok := full.FullChat.(*tg.ChannelFull); ok && cf.About == creationMarker(g) {
			found = ch
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("look for the group of %s: %w", g.ChatKey, err)
	}
	return found, nil
}

// creationMarker is the description a group is created with, unique to the
// attempt that creates it, so that recovery after a crash recognises the
// group as this attempt's and no other.
func creationMarker(g *models.UserbotGroup) string {
	return fmt.Sprintf("karmagate: creating %s (attempt %d, %d)", g.ChatKey, g.ID, g.StartedAt.UnixNano())
}

func boundTo(rows []models.ChatRow, tgChatID int64) bool {
	for _, r := range rows {
		if r.TgChatID != nil && *r.TgChatID == tgChatID {
			return true
		}
	}
	return false
}
