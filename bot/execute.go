package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

// personalLinkStore keeps members' personal invite links (one per member
// and chat), forgotten once used or revoked.
type personalLinkStore interface {
	SaveMemberLink(ctx context.Context, l models.MemberLink) error
	MemberLinkFor(ctx context.Context, memberID int64, chat string) (*models.MemberLink, error)
	DeleteMemberLink(ctx context.Context, memberID int64, chat string) error
	ForgetLink(ctx context.Context, chat, link string) error
}

// Executors returns the bot's executors for the worker pool, by action kind.
func (b *Bot) Executors() map[string]worker.Executor {
	return map[string]worker.Executor{
		string(gate.ActionInvite):   worker.ExecutorFunc(b.execInvite),
		string(gate.ActionUninvite): worker.ExecutorFunc(b.execUninvite),
		string(gate.ActionWarn):     worker.ExecutorFunc(b.execWarn),
		string(gate.ActionRemove):   worker.ExecutorFunc(b.execRemove),
		string(gate.ActionFlag):     worker.ExecutorFunc(b.execFlag),
		models.ActionNotify:         worker.ExecutorFunc(b.execNotify),
		models.ActionSurvey:         worker.ExecutorFunc(b.execSurvey),
		models.ActionProbe:          worker.ExecutorFunc(b.execProbe),
		models.ActionTellStranger:   worker.ExecutorFunc(b.execTellStranger),
		models.ActionAuditPromote:   worker.ExecutorFunc(b.execAuditPromote),
		models.ActionDoor:           worker.ExecutorFunc(b.execDoor),
	}
}

// notYet hands an action back unstarted while the person it will message
// is behind their chat's pace (Telegram: about one message a second to
// one person) by more than turnPatience: a worker sleeping out one
// person's second stalls every other action. In the crash story at 10,000
// members, two invites for one person each held a worker for a second,
// and 8 workers made 12 invites a second where the bot may send 29.
func (b *Bot) notYet(user int64) error {
	if d := b.c.send.readyIn(user); d > turnPatience {
		return worker.Later(b.opts.Now().Add(d))
	}
	return nil
}

// turnPatience is how long an action may wait in its worker for the
// person's turn.
const turnPatience = 100 * time.Millisecond

// notReadyWait is how long an action waits for a chat that has no Telegram
// group, or no bot admin, yet; binding the chat wakes it sooner.
const notReadyWait = 15 * time.Minute

// target is what an action is about.
type target struct {
	a      *models.Action
	chat   *gate.Chat
	row    *models.ChatRow
	member *models.MemberView // nil for a stranger or a member since deleted or relinked
	state  *models.ChatState  // the member's state in the chat, when member is set
	user   int64
	lang   string
}

func (b *Bot) target(ctx context.Context, a *models.Action) (*target, error) {
	c, ok := b.rules.Chat(a.ChatKey)
	if !ok {
		return nil, worker.Permanent(fmt.Errorf("chat %q is no longer in the rules", a.ChatKey))
	}
	if a.TgUserID == nil {
		return nil, worker.Permanent(errors.New("the action names no Telegram account"))
	}
	row, err := b.store.ChatRow(ctx, a.ChatKey)
	if err != nil {
		return nil, err
	}
	t := &target{a: a, chat: c, row: row, user: *a.TgUserID}
	if a.MemberExt != "" {
		v, err := b.store.FindMember(ctx, a.MemberExt)
		switch {
		case err == nil && v.Member.TgUserID != nil && *v.Member.TgUserID == t.user:
			t.member = v
			if v.Member.LanguageCode != nil {
				t.lang = *v.Member.LanguageCode
			}
			for i := range v.Chats {
				if v.Chats[i].ChatKey == a.ChatKey {
					t.state = &v.Chats[i]
				}
			}
		case err != nil && !errors.Is(err, models.ErrNotFound):
			return nil, err
		}
	}
	return t, nil
}

// chatID is the target chat's Telegram id, or a wait when there is none.
func (t *target) chatID(now time.Time) (int64, error) {
	if t.row.TgChatID == nil {
		return 0, worker.RetryAt(now.Add(notReadyWait), errChatNotReady)
	}
	return *t.row.TgChatID, nil
}

// memberKey names an action's member in notice keys: the member row, or the
// Telegram account for a stranger.
func (t *target) memberKey() string {
	if t.member != nil {
		return "m" + strconv.FormatInt(t.member.Member.ID, 10)
	}
	return "t" + strconv.FormatInt(t.user, 10)
}

// chatFailure turns an error from a chat the bot cannot act in into a
// wait: an admin may restore its rights; reconcile redoes what is due.
func (b *Bot) chatFailure(err error) error {
	switch classify(err) {
	case failChat:
		return worker.RetryAt(b.opts.Now().Add(notReadyWait), err)
	case failRefused, failUserGone, failPersonLimited, failBannedInChat:
		return worker.Permanent(err)
	case failChatFull:
		// Someone may leave; reconcile redoes what is due meanwhile.
		return worker.RetryAt(b.opts.Now().Add(notReadyWait), err)
	}
	return err
}

// execInvite lets an eligible member in: approves a join request they have
// waiting, and sends them the chat's join link (once).
func (b *Bot) execInvite(ctx context.Context, a *models.Action) error {
	t, err := b.target(ctx, a)
	if err != nil {
		return err
	}
	if t.member == nil {
		return nil // deleted or relinked since: the gate has planned anew
	}
	if err := b.notYet(t.user); err != nil {
		return err
	}
	chatID, err := t.chatID(b.opts.Now())
	if err != nil {
		return err
	}
	// Look before acting: an earlier attempt may have let them in before
	// its outcome was lost (a crash, an answer that never came), or they
	// were in the group before it was bound (/bind over a peopled group):
	// no join link to a group they are in.
	if mi, err := b.getMember(ctx, chatID, t.user); err == nil && mi.present() {
		if a.Attempts > 1 {
			b.metrics.retryChecked("invite", "already_done")
			b.log.InfoContext(ctx, "invite retried: already in the chat; not repeated", "chat", a.ChatKey, "member", a.MemberExt, "attempt", a.Attempts)
			return nil
		}
		// Not recorded here: the join itself comes as a chat_member
		// update (applied once, in its order), and someone inside since
		// before the bind is recorded by the bind's survey or the link's
		// probe. Recording it here too wrote the join twice when that
		// update came after a removal (the crash story).
		return worker.NothingToDo("already in the chat; no join link sent")
	}
	if a.Attempts > 1 {
		b.metrics.retryChecked("invite", "repeated")
	}
	link, err := b.ensureJoinLink(ctx, t.row)
	if errors.Is(err, errNotAdmin) {
		return worker.RetryAt(b.opts.Now().Add(notReadyWait), err)
	}
	if err != nil {
		return b.chatFailure(err)
	}
	if t.chat.PersonalLinks {
		if link, err = b.personalLink(ctx, t, chatID); err != nil {
			return b.chatFailure(err)
		}
	}
	err = b.c.do(ctx, chatID, callOther, func(ctx context.Context) error {
		_, err := b.c.tg.ApproveChatJoinRequest(ctx, &tgbot.ApproveChatJoinRequestParams{ChatID: chatID, UserID: t.user})
		return err
	})
	b.metrics.sent("approveChatJoinRequest", err)
	approved := err == nil
	if done, err := b.approvalRefused(ctx, t, err); done {
		return err
	}
	if err := ignoreDone(err); err != nil {
		return b.chatFailure(err)
	}
	key, text := msgAccessGained, ""
	if approved || classify(err) == failAlready {
		key = msgApproved
	}
	text = b.texts.render(key, t.lang, textData{Chat: t.chat.Title, Link: link})
	m := t.member.Member
	return b.notify(ctx, models.Notice{IdemKey: models.InviteNoticeKey(m.ID, a.ChatKey, a.StateVersion), TgUserID: t.user, MemberExt: &m.ExternalID, Kind: "access_gained"}, text, nil)
}

// execUninvite withdraws an invite that went out: declines a waiting join
// request and revokes the member's personal link. The chat's shared join
// link stays: it admits only those who qualify.
func (b *Bot) execUninvite(ctx context.Context, a *models.Action) error {
	t, err := b.target(ctx, a)
	if err != nil {
		return err
	}
	if t.row.TgChatID == nil {
		return nil
	}
	chatID := *t.row.TgChatID
	err = b.c.do(ctx, chatID, callOther, func(ctx context.Context) error {
		_, err := b.c.tg.DeclineChatJoinRequest(ctx, &tgbot.DeclineChatJoinRequestParams{ChatID: chatID, UserID: t.user})
		return err
	})
	b.metrics.sent("declineChatJoinRequest", err)
	if err := ignoreDone(err); err != nil {
		return b.chatFailure(err)
	}
	if t.member != nil {
		b.revokeMemberLink(ctx, t.member.Member.ID, a.ChatKey, chatID, "")
	}
	return nil
}

// execWarn tells a member their grace period started and when it ends.
func (b *Bot) execWarn(ctx context.Context, a *models.Action) error {
	t, err := b.target(ctx, a)
	if err != nil {
		return err
	}
	if t.member == nil || t.state == nil || t.state.GraceUntil == nil {
		return nil
	}
	if err := b.notYet(t.user); err != nil {
		return err
	}
	m := t.member.Member
	d := textData{Chat: t.chat.Title, Karma: m.Karma, Need: t.chat.LeaveBelow, Until: t.state.GraceUntil.UTC().Format("2006-01-02 15:04 UTC")}
	return b.notify(ctx, models.Notice{IdemKey: fmt.Sprintf("warn/m%d/%s/v%d", m.ID, a.ChatKey, a.StateVersion), TgUserID: t.user, MemberExt: &m.ExternalID, Kind: "grace_started"},
		b.texts.render(msgGraceStarted, t.lang, d), nil)
}

// execRemove takes someone out of a chat: ban, then unban, so that they
// can come back when they qualify again; revokes their personal link; and
// tells them why (once). It asks Telegram first (getChatMember): the
// chat's admins are never removed, and someone already out (they left, or
// an earlier attempt of this action took them out and its outcome was
// lost) is not banned again.
func (b *Bot) execRemove(ctx context.Context, a *models.Action) error {
	t, err := b.target(ctx, a)
	if err != nil {
		return err
	}
	if t.row.TgChatID == nil {
		return nil // no group: nobody to take out
	}
	if err := b.notYet(t.user); err != nil {
		return err
	}
	chatID := *t.row.TgChatID
	mi, err := b.getMember(ctx, chatID, t.user)
	if err != nil {
		if f := classify(err); f != failUserGone && f != failMissing {
			return b.chatFailure(err)
		}
	}
	if mi.admin() {
		b.log.InfoContext(ctx, "not removing a chat admin", "chat", a.ChatKey, "user", t.user, "member", a.MemberExt)
		return nil
	}
	if mi.Status != "" && !mi.present() {
		// Already out: no ban. On a retry that is the check before a
		// repeated side effect (an earlier attempt may have taken them out
		// and lost its outcome); on a first attempt they left, or a stale
		// update made the decision. Only an unban an earlier attempt did
		// not get to (kicked: banned, not unbanned) is still due, so that
		// they can come back when they qualify. On a retry the notice is
		// due too: the earlier attempt may have died between the ban and
		// the notice, and notify sends only if no attempt to send it was
		// ever recorded, so it is still at most once. On a first attempt
		// there is nothing to tell.
		if a.Attempts > 1 {
			b.metrics.retryChecked("remove", "already_done")
			b.log.InfoContext(ctx, "remove retried: already out of the chat; not repeated", "chat", a.ChatKey, "member", a.MemberExt, "status", mi.Status, "attempt", a.Attempts)
		} else {
			b.log.DebugContext(ctx, "remove: not in the chat; nothing to do", "chat", a.ChatKey, "member", a.MemberExt, "status", mi.Status)
		}
		first := a.Attempts <= 1
		if mi.Status == "kicked" {
			if err := b.unban(ctx, chatID, t.user); err != nil {
				return b.chatFailure(err)
			}
		}
		if t.member != nil {
			b.revokeMemberLink(ctx, t.member.Member.ID, a.ChatKey, chatID, "")
		}
		if !first {
			return b.removalNotice(ctx, a, t)
		}
		// A first attempt that finds them out: they left, or were never in
		// this group (a chat moved to another group since they joined).
		return worker.NothingToDo("not in the chat (" + mi.Status + ")")
	}
	if a.Attempts > 1 {
		b.metrics.retryChecked("remove", "repeated")
	}
	err = b.c.do(ctx, chatID, callOther, func(ctx context.Context) error {
		_, err := b.c.tg.BanChatMember(ctx, &tgbot.BanChatMemberParams{ChatID: chatID, UserID: t.user})
		return err
	})
	b.metrics.sent("banChatMember", err)
	if classify(err) == failIsAdmin {
		// Made an admin since the look above: admins are never removed.
		b.log.InfoContext(ctx, "not removing a chat admin", "chat", a.ChatKey, "user", t.user, "member", a.MemberExt)
		return nil
	}
	if err := ignoreDone(err); err != nil && classify(err) != failUserGone {
		return b.chatFailure(err)
	}
	if err := b.unban(ctx, chatID, t.user); err != nil {
		return b.chatFailure(err)
	}
	if t.member != nil {
		b.revokeMemberLink(ctx, t.member.Member.ID, a.ChatKey, chatID, "")
	}
	return b.removalNotice(ctx, a, t)
}

// removalNotice tells a removed person why, once per removal action.
func (b *Bot) removalNotice(ctx context.Context, a *models.Action, t *target) error {
	var ext *string
	key, d := msgAccessLost, textData{Chat: t.chat.Title, Reason: a.Reason}
	if t.member != nil {
		ext = &t.member.Member.ExternalID
		if !t.chat.AnyGroup && t.state != nil && !hasGroup(t.member.Member.Groups(), t.chat.Groups) {
			d.Need = 0 // a group, not karma, is missing
		} else {
			d.Need = t.chat.MinKarma
		}
	} else {
		key = msgStrangerOut
	}
	return b.notify(ctx, models.Notice{IdemKey: fmt.Sprintf("remove/%s/%s/a%d", t.memberKey(), a.ChatKey, a.ID), TgUserID: t.user, MemberExt: ext, Kind: "access_lost"},
		b.texts.render(key, t.lang, d), nil)
}

// unban lifts a ban (only if banned), so that someone removed can come
// back once they qualify; done already or a user gone count as done.
func (b *Bot) unban(ctx context.Context, chatID, user int64) error {
	err := b.c.do(ctx, chatID, callOther, func(ctx context.Context) error {
		_, err := b.c.tg.UnbanChatMember(ctx, &tgbot.UnbanChatMemberParams{ChatID: chatID, UserID: user, OnlyIfBanned: true})
		return err
	})
	b.metrics.sent("unbanChatMember", err)
	if err := ignoreDone(err); err != nil && classify(err) != failUserGone {
		return err
	}
	return nil
}

func hasGroup(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

// execFlag tells the chat's admins (who bound it, and the site admins)
// that someone inside no longer qualifies, where the chat flags rather
// than removes.
func (b *Bot) execFlag(ctx context.Context, a *models.Action) error {
	t, err := b.target(ctx, a)
	if err != nil {
		return err
	}
	d := textData{Chat: t.chat.Title, Reason: a.Reason, User: "id " + strconv.FormatInt(t.user, 10), Name: "someone not linked to the website"}
	if t.member != nil {
		m := t.member.Member
		d.Name = displayName(m, nil)
		if m.TgUsername != nil {
			d.User = "@" + *m.TgUsername
		}
	}
	admins := map[int64]bool{}
	if t.row.BoundBy != nil {
		admins[*t.row.BoundBy] = true
	}
	for id := range b.admins {
		admins[id] = true
	}
	var errs []error
	for id := range admins {
		err := b.notify(ctx, models.Notice{IdemKey: fmt.Sprintf("flag/a%d/%d", a.ID, id), TgUserID: id, Kind: "flagged"}, b.texts.render(msgFlagged, "", d), nil)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// execNotify sends a message queued with QueueNotice, at most once.
func (b *Bot) execNotify(ctx context.Context, a *models.Action) error {
	if a.Payload == nil || a.TgUserID == nil {
		return worker.Permanent(errors.New("notify action without a message"))
	}
	var p models.NoticePayload
	if err := json.Unmarshal([]byte(*a.Payload), &p); err != nil {
		return worker.Permanent(fmt.Errorf("decode notice: %w", err))
	}
	if err := b.notYet(*a.TgUserID); err != nil {
		return err
	}
	var ext *string
	if a.MemberExt != "" {
		ext = &a.MemberExt
	}
	var markup tgmodels.ReplyMarkup
	if len(p.Buttons) > 0 {
		kb := make([][]tgmodels.InlineKeyboardButton, len(p.Buttons))
		for i, row := range p.Buttons {
			for _, bt := range row {
				kb[i] = append(kb[i], tgmodels.InlineKeyboardButton{Text: bt.Text, CallbackData: bt.Data})
			}
		}
		markup = &tgmodels.InlineKeyboardMarkup{InlineKeyboard: kb}
	}
	return b.notify(ctx, models.Notice{IdemKey: p.Key, TgUserID: *a.TgUserID, MemberExt: ext, Kind: p.Kind}, p.Text, markup)
}

// personalLink returns the member's own link to the chat (member_limit 1,
// a day's expiry, revoked once used), making one when there is none that
// still works: paced to Telegram's ~20 new links a minute per chat.
func (b *Bot) personalLink(ctx context.Context, t *target, chatID int64) (string, error) {
	m := t.member.Member
	now := b.opts.Now()
	if l, err := b.store.MemberLinkFor(ctx, m.ID, t.chat.Key); err == nil && l.ExpiresAt.After(now.Add(time.Hour)) {
		return l.Link, nil
	} else if err != nil && !errors.Is(err, models.ErrNotFound) {
		return "", err
	}
	name := models.Truncate("m:"+m.ExternalID, 32)
	expires := now.Add(24 * time.Hour).Truncate(time.Second)
	var link *tgmodels.ChatInviteLink
	err := b.c.do(ctx, chatID, callLink, func(ctx context.Context) error {
		var err error
		link, err = b.c.tg.CreateChatInviteLink(ctx, &tgbot.CreateChatInviteLinkParams{ChatID: chatID, Name: name, ExpireDate: int(expires.Unix()), MemberLimit: 1})
		return err
	})
	b.metrics.sent("createChatInviteLink", err)
	if err != nil {
		return "", fmt.Errorf("make a personal link: %w", err)
	}
	if err := b.store.SaveMemberLink(ctx, models.MemberLink{MemberID: m.ID, ChatKey: t.chat.Key, Link: link.InviteLink, ExpiresAt: expires}); err != nil {
		return "", err
	}
	return link.InviteLink, nil
}
