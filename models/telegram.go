package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/karmagate/karmagate/gate"
)

// TelegramUser is a Telegram account as the bot sees it.
type TelegramUser struct {
	ID           int64
	Username     string
	LanguageCode string
}

// Event kinds the bot records.
const (
	EventLinked      = "member.linked"
	EventUnlinked    = "member.unlinked"
	EventChatUnbound = "chat.unbound"
	EventStranger    = "stranger.seen"
)

// MemberByTelegram returns the member linked to a Telegram user, with its
// state in every gated chat.
func (s *Store) MemberByTelegram(ctx context.Context, tgUserID int64) (*MemberView, error) {
	return s.memberView(ctx, fmt.Sprintf("telegram user %d", tgUserID), "tg_user_id = ?", tgUserID)
}

// LinkResult says what RelinkTelegram did.
type LinkResult struct {
	View *MemberView
	// Previous is the member the Telegram account was linked to before, if
	// another: it lost the link.
	Previous string
	// PreviousAccount is the Telegram account the member was linked to
	// before, if another: it lost the link (and leaves the chats).
	PreviousAccount int64
	// Unchanged is true when the member was linked to this account already.
	Unchanged bool
	// Pending, from LinkOrAsk, is the request the member's account must
	// confirm: nothing moved.
	Pending *Relink
	// Probing names the bound chats where the bot asks Telegram whether
	// the account is inside already (ActionProbe): an invite there sends
	// its link only once the answer is "no".
	Probing []string
}

// RelinkTelegram links a member to a Telegram account, the newest link
// winning: an account linked to another member moves to this one, with its
// presence in the chats (so nobody is kicked and invited again), and that
// member goes back to needing a link. A member linked to another account
// before gives it up the same way. Both are re-planned in one transaction.
func (s *Store) RelinkTelegram(ctx context.Context, id string, u TelegramUser, actor string) (LinkResult, error) {
	var res LinkResult
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		m, err := lockMember(tx, id)
		if err != nil {
			return err
		}
		res, err = s.relinkLocked(tx, m, u, actor)
		return err
	})
	return res, err
}

// relinkLocked is RelinkTelegram in tx, on a member whose row tx holds
// locked.
func (s *Store) relinkLocked(tx *gorm.DB, m *Member, u TelegramUser, actor string) (LinkResult, error) {
	var res LinkResult
	id := m.ExternalID
	p := s.newPlanner(tx, actor)
	p.keep = true
	lang := blankToNil(&u.LanguageCode)
	uname := blankToNil(&u.Username)
	if m.TgUserID != nil && *m.TgUserID == u.ID {
		res.Unchanged = true
		if !eqPtr(m.TgUsername, uname) || !eqPtr(m.LanguageCode, lang) {
			if err := tx.Model(&Member{}).Where("id = ?", m.ID).Updates(map[string]any{"tg_username": uname, "language_code": lang, "unreachable_at": nil}).Error; err != nil {
				return res, fmt.Errorf("update link: %w", err)
			}
			m.TgUsername, m.LanguageCode = uname, lang
		}
		chats, err := s.memberStates(tx, m)
		res.View = &MemberView{Member: m, Chats: chats}
		return res, err
	}
	// The account's presence in chats moves with it.
	var inChats []string
	var old Member
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("tg_user_id = ? AND id <> ?", u.ID, m.ID).Take(&old).Error
	switch {
	case err == nil:
		res.Previous = old.ExternalID
		if inChats, err = s.detach(p, &old, "linked to "+id+" instead"); err != nil {
			return res, err
		}
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return res, fmt.Errorf("check link: %w", err)
	}
	if m.TgUserID != nil {
		res.PreviousAccount = *m.TgUserID
		// This member's previous account leaves with its link.
		if _, err := s.unlinkLocked(p, m, "linked to another Telegram account"); err != nil {
			return res, err
		}
	}
	m.TgUserID, m.TgUsername, m.LanguageCode, m.LinkedAt, m.UnreachableAt = &u.ID, uname, lang, &p.now, nil
	if err := tx.Model(&Member{}).Where("id = ?", m.ID).Updates(map[string]any{
		"tg_user_id": u.ID, "tg_username": uname, "language_code": lang, "linked_at": p.now, "unreachable_at": nil, "updated_at": p.now,
	}).Error; err != nil {
		return res, fmt.Errorf("link member: %w", err)
	}
	probed, err := s.queueProbes(p, m, u.ID)
	if err != nil {
		return res, err
	}
	res.Probing = probed
	detail := fmt.Sprintf("linked to Telegram user %d", u.ID)
	if res.Previous != "" {
		detail += " (taken over from " + res.Previous + ")"
	}
	p.event(EventLinked, m, "", detail)
	p.callback(CallbackLinked, m, "", "")
	for _, chat := range inChats {
		if err := markInChat(p, m, chat, true); err != nil {
			return res, err
		}
		p.callback(CallbackJoined, m, chat, "the Telegram account, already in the chat, was linked to this member")
	}
	members := []*Member{m}
	if res.Previous != "" {
		members = append(members, &old)
	}
	if err := p.plan(members, false); err != nil {
		return res, err
	}
	res.View = &MemberView{Member: m, Chats: p.final[m.ID]}
	if err := p.flush(); err != nil {
		return res, err
	}
	return res, s.announceInvites(p, m, u.ID, probed)
}

// InviteNoticeKey names the message that gives a member a chat's join link
// for the invite of one state version: the bot sends it at most once.
func InviteNoticeKey(memberID int64, chat string, version int64) string {
	return fmt.Sprintf("invite/m%d/%s/v%d", memberID, chat, version)
}

// announceInvites records, in the linking transaction, that the invites
// it queued in chats ready to admit (bound, with a join link) are
// announced by the bot's answer to the link, which carries the links: the
// invite actions then send no second message with the same link.
func (s *Store) announceInvites(p *planner, m *Member, tgUserID int64, probed []string) error {
	var chats []string
	versions := map[string]int64{}
	for _, a := range p.actions {
		if c, _ := s.chatIndex(a.ChatKey); c != nil && c.PersonalLinks {
			continue // the invite sends the member a link of their own
		}
		if slices.Contains(probed, a.ChatKey) {
			continue // the invite sends the link if the probe finds them outside
		}
		if a.MemberID == m.ID && a.Kind == string(gate.ActionInvite) {
			chats = append(chats, a.ChatKey)
			versions[a.ChatKey] = a.StateVersion
		}
	}
	if len(chats) == 0 {
		return nil
	}
	var ready []ChatRow
	err := p.tx.Where("chat_key IN ? AND tg_chat_id IS NOT NULL AND join_link IS NOT NULL", chats).Find(&ready).Error
	if err != nil {
		return fmt.Errorf("load chats: %w", err)
	}
	for _, r := range ready {
		_, err := s.insertFresh(p.tx, "notifications", "idem_key", "tg_user_id, member_ext, kind, status, detail, created_at, done_at",
			InviteNoticeKey(m.ID, r.ChatKey, versions[r.ChatKey]), tgUserID, m.ExternalID, "access_gained", NoticeSent, "given with the answer to the link", p.now, p.now)
		if err != nil {
			return fmt.Errorf("record announced invite: %w", err)
		}
	}
	return nil
}

// detach unlinks old from its Telegram account without removing the
// account from any chat (another member takes it over): its states are
// reset, its pending actions cancelled, and the chats the account is in
// returned.
func (s *Store) detach(p *planner, old *Member, why string) ([]string, error) {
	var rows []ChatState
	if err := p.tx.Where("member_id = ?", old.ID).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load chat states: %w", err)
	}
	var in []string
	for _, r := range rows {
		if r.InChat || r.State == string(gate.StateMember) || r.State == string(gate.StateGrace) || r.State == string(gate.StateRemoving) {
			in = append(in, r.ChatKey)
		}
	}
	if err := p.tx.Model(&Action{}).Where("status IN ? AND member_id = ?", unstarted, old.ID).
		Updates(map[string]any{"status": ActionCancelled, "updated_at": p.now}).Error; err != nil {
		return nil, fmt.Errorf("cancel actions: %w", err)
	}
	if err := resetStates(p, old.ID); err != nil {
		return nil, err
	}
	if err := p.tx.Model(&Member{}).Where("id = ?", old.ID).Updates(map[string]any{
		"tg_user_id": nil, "tg_username": nil, "linked_at": nil, "updated_at": p.now,
	}).Error; err != nil {
		return nil, fmt.Errorf("unlink member: %w", err)
	}
	p.event(EventUnlinked, old, "", fmt.Sprintf("Telegram user %d %s", *old.TgUserID, why))
	for _, chat := range in {
		p.callback(CallbackLeft, old, chat, "the Telegram account "+why)
	}
	p.callback(CallbackUnlinked, old, "", "the Telegram account "+why)
	old.TgUserID, old.TgUsername, old.LinkedAt = nil, nil, nil
	return in, nil
}

// resetStates puts a member's chat states back to "not in, not eligible"
// when their Telegram account leaves them, as a new version (the one the
// compensating actions queued with it belong to). The rows stay, so that
// versions keep growing and every later decision's idempotency key is new.
func resetStates(p *planner, memberID int64) error {
	err := p.tx.Model(&ChatState{}).Where("member_id = ?", memberID).Updates(map[string]any{
		"state": string(gate.StateNotEligible), "in_chat": false, "grace_until": nil, "tag": nil,
		"version": gorm.Expr("version + 1"), "changed_at": p.now,
	}).Error
	if err != nil {
		return fmt.Errorf("reset chat states: %w", err)
	}
	return nil
}

// markInChat records in the planner's transaction that a member is (or is
// not) in a chat, creating the state row if there is none.
func markInChat(p *planner, m *Member, chat string, in bool) error {
	res := p.tx.Model(&ChatState{}).Where("member_id = ? AND chat_key = ?", m.ID, chat).Update("in_chat", in)
	if res.Error != nil {
		return fmt.Errorf("record membership: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		if err := p.tx.Create(&ChatState{MemberID: m.ID, ChatKey: chat, State: string(gate.StateNotEligible), InChat: in, ChangedAt: p.now}).Error; err != nil {
			return fmt.Errorf("record membership: %w", err)
		}
	}
	return nil
}

// UnlinkTelegram undoes a member's link: the account is taken out of every
// gated chat it is in and its invites are withdrawn (nobody vouches for it
// any more), and the member goes back to needing a link.
func (s *Store) UnlinkTelegram(ctx context.Context, id, actor string) (*MemberView, error) {
	return s.changeMember(ctx, id, actor, func(p *planner, m *Member) error {
		if m.TgUserID == nil {
			return nil
		}
		_, err := s.unlinkLocked(p, m, "unlinked")
		return err
	})
}

// unlinkLocked queues the removal of m's Telegram account from the chats it
// is in (and the withdrawal of its invites), resets m's states and unlinks
// it. It returns how many actions it queued.
func (s *Store) unlinkLocked(p *planner, m *Member, why string) (int, error) {
	var rows []ChatState
	if err := p.tx.Where("member_id = ?", m.ID).Find(&rows).Error; err != nil {
		return 0, fmt.Errorf("load chat states: %w", err)
	}
	if err := p.tx.Model(&Action{}).Where("status IN ? AND member_id = ?", unstarted, m.ID).
		Updates(map[string]any{"status": ActionCancelled, "updated_at": p.now}).Error; err != nil {
		return 0, fmt.Errorf("cancel actions: %w", err)
	}
	reason := gate.Reason{Code: gate.ReasonUnlinked}.String()
	n := 0
	for _, r := range rows {
		kind := leaveKind(r)
		if kind == gate.ActionNone {
			continue
		}
		p.queue(m, r.ChatKey, r.Version+1, kind, reason)
		e := p.event(EventStateChanged, m, r.ChatKey, reason+"; queued "+string(kind))
		e.FromState, e.ToState = ptr(r.State), ptr(string(gate.StateNeedsLink))
		n++
	}
	if err := resetStates(p, m.ID); err != nil {
		return 0, err
	}
	if err := p.tx.Model(&Member{}).Where("id = ?", m.ID).Updates(map[string]any{
		"tg_user_id": nil, "tg_username": nil, "linked_at": nil, "updated_at": p.now,
	}).Error; err != nil {
		return 0, fmt.Errorf("unlink member: %w", err)
	}
	p.event(EventUnlinked, m, "", fmt.Sprintf("Telegram user %d %s", *m.TgUserID, why))
	p.callback(CallbackUnlinked, m, "", why)
	m.TgUserID, m.TgUsername, m.LinkedAt = nil, nil, nil
	return n, nil
}

// leaveKind is what takes an account out of a chat it may be in or invited
// to: remove when it is (or may be) inside, uninvite when only an invite
// went out, nothing otherwise.
func leaveKind(r ChatState) gate.ActionKind {
	switch gate.State(r.State) {
	case gate.StateMember, gate.StateGrace, gate.StateRemoving:
		return gate.ActionRemove
	case gate.StateInvited, gate.StateExempt, gate.StateEligible:
		if r.InChat {
			return gate.ActionRemove
		}
		return gate.ActionUninvite
	}
	if r.InChat {
		return gate.ActionRemove
	}
	return gate.ActionNone
}

// Membership says what recording a Telegram membership change did.
type Membership struct {
	Chat   string      // the gated chat's key
	Member *MemberView // the member the account is linked to; nil for a stranger
	// Queued is the action queued for a stranger inside a gated chat
	// (remove or flag, by the chat's on_violation); empty otherwise.
	Queued gate.ActionKind
	// Repeat: the update was applied before (RecordMembershipOnce), and
	// nothing was recorded now.
	Repeat bool
}

// RecordMembership records that Telegram user tgUserID is (in) or is not in
// the Telegram chat tgChatID, from a chat_member update or a participant
// list. A linked member is re-planned. A stranger (no member is linked to
// the account) inside a gated chat is removed or flagged, as the chat's
// on_violation says; the caller must not pass the chat's admins. An unknown
// chat is ErrNotFound.
func (s *Store) RecordMembership(ctx context.Context, tgChatID, tgUserID int64, in bool, actor string) (Membership, error) {
	return s.RecordMembershipOnce(ctx, 0, tgChatID, tgUserID, in, actor)
}

// RecordMembershipOnce is RecordMembership for the stored update updateID
// (0: none), applied at most once: the update is marked applied in the same
// transaction, and an update already applied changes nothing. A processor
// killed after the change committed but before the update was marked done
// hands it, once its lease runs out, to another that must not record the
// join (or leave) a second time: by then a removal may have followed it.
func (s *Store) RecordMembershipOnce(ctx context.Context, updateID, tgChatID, tgUserID int64, in bool, actor string) (Membership, error) {
	row, err := s.ChatByTelegram(ctx, tgChatID)
	if err != nil {
		return Membership{}, err
	}
	out := Membership{Chat: row.ChatKey}
	c, _ := s.chatIndex(row.ChatKey)
	if c == nil {
		return out, fmt.Errorf("chat %q is no longer in the rules: %w", row.ChatKey, ErrNotFound)
	}
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		out.Member, out.Queued = nil, gate.ActionNone
		if updateID != 0 {
			res := tx.Model(&Update{}).Where("update_id = ? AND applied_at IS NULL", updateID).Update("applied_at", s.clock())
			if res.Error != nil {
				return fmt.Errorf("mark update %d applied: %w", updateID, res.Error)
			}
			if res.RowsAffected == 0 {
				var n int64
				if err := tx.Model(&Update{}).Where("update_id = ?", updateID).Count(&n).Error; err != nil {
					return fmt.Errorf("find update %d: %w", updateID, err)
				}
				if n > 0 {
					out.Repeat = true
					return nil // applied before: nothing new
				}
			}
		}
		var m Member
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("tg_user_id = ?", tgUserID).Take(&m).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			if !in {
				return forgetStranger(tx, tgUserID, row.ChatKey)
			}
			return s.stranger(tx, c, tgUserID, actor, &out)
		case err != nil:
			return fmt.Errorf("load member: %w", err)
		}
		p := s.newPlanner(tx, actor)
		p.keep = true
		var cur ChatState
		err = tx.Where("member_id = ? AND chat_key = ?", m.ID, row.ChatKey).Take(&cur).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("load chat state: %w", err)
		}
		if err == nil && cur.InChat == in {
			chats, err := s.memberStates(tx, &m)
			out.Member = &MemberView{Member: &m, Chats: chats}
			return err // nothing new
		}
		if err := markInChat(p, &m, row.ChatKey, in); err != nil {
			return err
		}
		verb := "left"
		if in {
			verb = "joined"
		}
		p.event(EventMembership, &m, row.ChatKey, "Telegram: "+verb)
		membershipCallback(p, &m, row.ChatKey, cur.InChat, in)
		if err := p.plan([]*Member{&m}, false); err != nil {
			return err
		}
		out.Member = &MemberView{Member: &m, Chats: p.final[m.ID]}
		return p.flush()
	})
	return out, err
}

// stranger queues what happens to an account no member is linked to that
// is inside a gated chat.
func (s *Store) stranger(tx *gorm.DB, c *gate.Chat, tgUserID int64, actor string, out *Membership) error {
	if pool, err := isPoolAccount(tx, tgUserID); err != nil || pool {
		return err // the userbot pool's account, joining to audit (auditjoin.go)
	}
	now := s.clock()
	kind := gate.ActionRemove
	if c.OnViolation == gate.ViolationFlag {
		kind = gate.ActionFlag
	}
	reason := gate.Reason{Code: gate.ReasonStranger}.String()
	status, err := s.removalStatus(tx, c.Key, kind)
	if err != nil {
		return err
	}
	a := Action{
		IdemKey: fmt.Sprintf("t%d/%s/%s/%d", tgUserID, c.Key, kind, now.UnixNano()), Kind: string(kind),
		ChatKey: c.Key, TgUserID: &tgUserID, Reason: reason, Status: status,
		NotBefore: now, CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.Create(&a).Error; err != nil {
		return fmt.Errorf("queue %s for a stranger: %w", kind, err)
	}
	out.Queued = kind
	return tx.Create(&Event{At: now, Actor: actor, Kind: EventStranger, ChatKey: &c.Key,
		Detail: fmt.Sprintf("Telegram user %d is in the chat but linked to no member; queued %s", tgUserID, kind)}).Error
}

// ChatByTelegram returns the gated chat bound to a Telegram chat id.
func (s *Store) ChatByTelegram(ctx context.Context, tgChatID int64) (*ChatRow, error) {
	return takeOne[ChatRow](s.db.read.WithContext(ctx).Where("tg_chat_id = ?", tgChatID), fmt.Sprintf("telegram chat %d", tgChatID))
}

// ChatRow returns the Telegram side of a gated chat; a chat of the rules
// that was never created or bound has a row with no TgChatID.
func (s *Store) ChatRow(ctx context.Context, key string) (*ChatRow, error) {
	c, _ := s.chatIndex(key)
	if c == nil {
		return nil, fmt.Errorf("chat %q: %w", key, ErrNotFound)
	}
	var row ChatRow
	err := s.db.read.WithContext(ctx).Where("chat_key = ?", key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return &ChatRow{ChatKey: key, Title: c.Title}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load chat: %w", err)
	}
	return &row, nil
}

// ChatRows returns the Telegram side of every gated chat of the rules, in
// the rules' order.
func (s *Store) ChatRows(ctx context.Context) ([]ChatRow, error) {
	var rows []ChatRow
	if err := s.db.read.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load chats: %w", err)
	}
	out := make([]ChatRow, len(s.rules.Chats))
	for i, c := range s.rules.Chats {
		out[i] = ChatRow{ChatKey: c.Key, Title: c.Title}
		for _, r := range rows {
			if r.ChatKey == c.Key {
				out[i] = r
			}
		}
	}
	return out, nil
}

// BotInChat is the bot's standing in a chat as Telegram reports it.
type BotInChat struct {
	Status        string // creator, administrator, member, restricted, left, kicked
	CanInvite     bool
	CanRestrict   bool
	CanManageTags bool
	Guard         bool
}

// SetChatBot records the bot's standing in a bound chat.
func (s *Store) SetChatBot(ctx context.Context, key string, b BotInChat) error {
	err := s.db.gorm.WithContext(ctx).Model(&ChatRow{}).Where("chat_key = ?", key).Updates(map[string]any{
		"bot_status": b.Status, "can_invite": b.CanInvite, "can_restrict": b.CanRestrict,
		"can_manage_tags": b.CanManageTags, "guard": b.Guard, "updated_at": s.clock(),
	}).Error
	if err != nil {
		return fmt.Errorf("record the bot's rights: %w", err)
	}
	return nil
}

// SetJoinLink records the join-request link the bot keeps for a chat
// (empty to forget it, when it was revoked).
func (s *Store) SetJoinLink(ctx context.Context, key, link string) error {
	err := s.db.gorm.WithContext(ctx).Model(&ChatRow{}).Where("chat_key = ?", key).
		Updates(map[string]any{"join_link": blankToNil(&link), "updated_at": s.clock()}).Error
	if err != nil {
		return fmt.Errorf("record join link: %w", err)
	}
	return nil
}

// BindChatBy binds a gated chat to a Telegram chat (see BindChat) and
// records who did it, then wakes the chat's waiting invites.
func (s *Store) BindChatBy(ctx context.Context, key string, tgChatID, by int64, actor string) error {
	if err := s.BindChat(ctx, key, tgChatID, actor); err != nil {
		return err
	}
	now := s.clock()
	return s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&ChatRow{}).Where("chat_key = ?", key).Updates(map[string]any{"bound_by": by, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("record who bound the chat: %w", err)
		}
		return wakeChat(tx, key, now)
	})
}

// wakeChat makes a chat's waiting actions due now: they were put off while
// the chat had no Telegram side.
func wakeChat(tx *gorm.DB, key string, now time.Time) error {
	err := tx.Model(&Action{}).Where("status = ? AND chat_key = ? AND not_before > ?", ActionPending, key, now).
		Updates(map[string]any{"not_before": now, "updated_at": now}).Error
	if err != nil {
		return fmt.Errorf("wake the chat's actions: %w", err)
	}
	return nil
}

// UnbindChat releases a gated chat from its Telegram chat: the bot stops
// gating it. Members' states stay; they apply again once it is bound anew.
func (s *Store) UnbindChat(ctx context.Context, key, actor string) error {
	if c, _ := s.chatIndex(key); c == nil {
		return fmt.Errorf("chat %q: %w", key, ErrNotFound)
	}
	return s.inTx(ctx, func(tx *gorm.DB) error {
		now := s.clock()
		var row ChatRow
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("chat_key = ?", key).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && row.TgChatID == nil) {
			return fmt.Errorf("chat %q is not bound: %w", key, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("load chat: %w", err)
		}
		if err := tx.Model(&ChatRow{}).Where("chat_key = ?", key).Updates(map[string]any{
			"tg_chat_id": nil, "join_link": nil, "bot_status": "", "guard": false, "bound_by": nil, "updated_at": now,
		}).Error; err != nil {
			return fmt.Errorf("unbind chat: %w", err)
		}
		if err := forgetMemberLinks(tx, key); err != nil {
			return err
		}
		if err := tx.Create(&Event{At: now, Actor: actor, Kind: EventChatUnbound, ChatKey: &key,
			Detail: fmt.Sprintf("unbound from Telegram chat %d", *row.TgChatID)}).Error; err != nil {
			return fmt.Errorf("record the unbinding: %w", err)
		}
		return s.chatCallback(tx, CallbackUnbound, key, *row.TgChatID, nil, actor, now)
	})
}

// SetUnreachable records that the bot cannot (or, with false, can again)
// message a Telegram user.
func (s *Store) SetUnreachable(ctx context.Context, tgUserID int64, unreachable bool) error {
	var at any
	if unreachable {
		at = s.clock()
	}
	err := s.db.gorm.WithContext(ctx).Model(&Member{}).Where("tg_user_id = ?", tgUserID).Update("unreachable_at", at).Error
	if err != nil {
		return fmt.Errorf("record reachability: %w", err)
	}
	return nil
}

// SetTag records the member tag the bot set for a member in a chat.
func (s *Store) SetTag(ctx context.Context, memberID int64, chat, tag string) error {
	err := s.db.gorm.WithContext(ctx).Model(&ChatState{}).Where("member_id = ? AND chat_key = ?", memberID, chat).Update("tag", tag).Error
	if err != nil {
		return fmt.Errorf("record tag: %w", err)
	}
	return nil
}

// MemberLink is a personal invite link (member_limit=1) made for one member
// and chat.
type MemberLink struct {
	MemberID  int64  `gorm:"primaryKey;autoIncrement:false"`
	ChatKey   string `gorm:"primaryKey"`
	Link      string
	ExpiresAt time.Time
	CreatedAt time.Time
}

// TableName is the member_links table.
func (MemberLink) TableName() string { return "member_links" }

// SaveMemberLink records a member's personal link for a chat, replacing an
// older one.
func (s *Store) SaveMemberLink(ctx context.Context, l MemberLink) error {
	l.CreatedAt = s.clock()
	err := s.db.gorm.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&l).Error
	if err != nil {
		return fmt.Errorf("record member link: %w", err)
	}
	return nil
}

// MemberLinkFor returns a member's personal link for a chat.
func (s *Store) MemberLinkFor(ctx context.Context, memberID int64, chat string) (*MemberLink, error) {
	return takeOne[MemberLink](s.db.read.WithContext(ctx).Where("member_id = ? AND chat_key = ?", memberID, chat), "member link")
}

// DeleteMemberLink forgets a member's personal link for a chat (revoked).
func (s *Store) DeleteMemberLink(ctx context.Context, memberID int64, chat string) error {
	if err := s.db.gorm.WithContext(ctx).Where("member_id = ? AND chat_key = ?", memberID, chat).Delete(&MemberLink{}).Error; err != nil {
		return fmt.Errorf("forget member link: %w", err)
	}
	return nil
}

// MembersByPhone returns the members whose phone (E.164) is phone.
func (s *Store) MembersByPhone(ctx context.Context, phone string) ([]Member, error) {
	var out []Member
	if err := s.db.read.WithContext(ctx).Where("phone = ?", phone).Order("id").Limit(10).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("find members by phone: %w", err)
	}
	return out, nil
}

// MemberByTgUsername returns the member linked to the Telegram account with
// this username (case-insensitive, without '@').
func (s *Store) MemberByTgUsername(ctx context.Context, username string) (*MemberView, error) {
	return s.memberView(ctx, "telegram user @"+username, "LOWER(tg_username) = LOWER(?)", username)
}

// ChatActions lists up to limit of a chat's actions of one kind in one
// status, oldest first (e.g. the removals waiting in a chat).
func (s *Store) ChatActions(ctx context.Context, chat string, kind gate.ActionKind, status string, limit int) ([]Action, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []Action
	err := s.db.read.WithContext(ctx).Where("chat_key = ? AND kind = ? AND status = ?", chat, string(kind), status).
		Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	return out, nil
}

// Tagged is a member inside a chat, with what their tag is made from and
// the tag the bot last set.
type Tagged struct {
	MemberID  int64
	TgUserID  int64 `gorm:"column:tg_user_id"`
	Karma     int64
	GroupList string
	Name      *string
	Tag       *string
}

// InChat lists the linked members Telegram says are in a chat, with their
// karma, groups and current tag: one query, for keeping tags current.
func (s *Store) InChat(ctx context.Context, chat string) ([]Tagged, error) {
	var out []Tagged
	err := s.db.read.WithContext(ctx).Table("chat_states AS cs").
		Select("m.id AS member_id, m.tg_user_id, m.karma, m.group_list, m.name, cs.tag").
		Joins("JOIN members AS m ON m.id = cs.member_id").
		Where("cs.chat_key = ? AND cs.in_chat = ? AND m.tg_user_id IS NOT NULL", chat, true).
		Order("m.id").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list members in %s: %w", chat, err)
	}
	return out, nil
}

// ForgetLink forgets a personal link by its URL (it was used or revoked).
func (s *Store) ForgetLink(ctx context.Context, chat, link string) error {
	if err := s.db.gorm.WithContext(ctx).Where("chat_key = ? AND link = ?", chat, link).Delete(&MemberLink{}).Error; err != nil {
		return fmt.Errorf("forget link: %w", err)
	}
	return nil
}

// MemberLinks returns a member's personal links, by chat key.
func (s *Store) MemberLinks(ctx context.Context, memberID int64) (map[string]MemberLink, error) {
	var rows []MemberLink
	if err := s.db.read.WithContext(ctx).Where("member_id = ?", memberID).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load member links: %w", err)
	}
	out := make(map[string]MemberLink, len(rows))
	for _, r := range rows {
		out[r.ChatKey] = r
	}
	return out, nil
}
