package models

import (
	"context"
	"errors"
	"fmt"
	"slices"

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
