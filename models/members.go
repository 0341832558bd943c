package models

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/karmagate/karmagate/gate"
)

// MemberView is a member with its state in every gated chat.
type MemberView struct {
	Member *Member
	Chats  []ChatState // one per chat of the rules, in the rules' order
	// JoinLinks, when set, are the join links of the bound chats for this
	// member, read with the view (a group commit reads them once for its
	// batch): the member's personal link where the chat gave one, else
	// the chat's join-request link.
	JoinLinks map[string]string
}

// PutResult says what an upsert did.
type PutResult struct {
	Created   int
	Updated   int
	Unchanged int
	Actions   int // outbox actions queued
	// View is the member after a single PutMember.
	View *MemberView `json:"-"`
}

// PutMember creates or replaces one member. in must be normalized.
func (s *Store) PutMember(ctx context.Context, in MemberInput, actor string) (PutResult, error) {
	return s.putMembers(ctx, []MemberInput{in}, actor, true)
}

// PutMembers creates or replaces many members in one transaction. ins must
// be normalized and carry distinct ids.
func (s *Store) PutMembers(ctx context.Context, ins []MemberInput, actor string) (PutResult, error) {
	return s.putMembers(ctx, ins, actor, false)
}

func (s *Store) putMembers(ctx context.Context, ins []MemberInput, actor string, view bool) (PutResult, error) {
	var res PutResult
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		res = PutResult{}
		p := s.newPlanner(tx, actor)
		p.keep = view
		p.bulk = !view
		err := chunks(ins, chunkSize, func(part []MemberInput) error {
			return s.putChunk(p, part, &res)
		})
		if err != nil {
			return err
		}
		if p.bulk {
			// One event for the import; every update and every decision
			// still gets its own.
			p.event(EventBulkImport, nil, "", fmt.Sprintf("bulk upsert of %d members: %d created, %d updated, %d unchanged",
				len(ins), res.Created, res.Updated, res.Unchanged))
		}
		if err := p.flush(); err != nil {
			return err
		}
		res.Actions = len(p.actions)
		if view && len(ins) == 1 {
			m := p.last
			chats := p.final[m.ID]
			if chats == nil { // unchanged: read the states
				var err error
				if chats, err = s.memberStates(tx, m); err != nil {
					return err
				}
			}
			res.View = &MemberView{Member: m, Chats: chats}
		}
		return nil
	})
	return res, err
}

func (s *Store) putChunk(p *planner, ins []MemberInput, res *PutResult) error {
	exts := make([]string, len(ins))
	for i := range ins {
		exts[i] = ins[i].ID
	}
	var existing []Member
	cond, arg := s.in("external_id", exts)
	if err := p.tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where(cond, arg).Find(&existing).Error; err != nil {
		return fmt.Errorf("load members: %w", err)
	}
	byExt := make(map[string]*Member, len(existing))
	for i := range existing {
		byExt[existing[i].ExternalID] = &existing[i]
	}
	var created, updated []*Member
	for i := range ins {
		in := &ins[i]
		m, ok := byExt[in.ID]
		if !ok {
			m = &Member{ExternalID: in.ID, CreatedAt: p.now}
			in.applyTo(m, p.now)
			created = append(created, m)
			if p.createdExt != nil {
				p.createdExt[in.ID] = true
			}
			if !p.bulk {
				p.event(EventMemberCreated, m, "", describeMember(m))
			}
		}
		p.last = m
		if p.byExt != nil {
			p.byExt[in.ID] = m
		}
		if !ok {
			continue
		}
		if !in.differs(m) {
			res.Unchanged++
			continue
		}
		detail := describeChange(m, in)
		in.applyTo(m, p.now)
		updated = append(updated, m)
		p.event(EventMemberUpdated, m, "", detail)
	}
	if err := s.writeMembers(p, created, updated); err != nil {
		return err
	}
	if len(created) > 0 {
		res.Created += len(created)
		if err := p.plan(created, true); err != nil {
			return err
		}
	}
	if len(updated) > 0 {
		res.Updated += len(updated)
		if err := p.plan(updated, false); err != nil {
			return err
		}
	}
	return nil
}

var memberCols = []string{"external_id", "karma", "group_list", "name", "phone", "username", "created_at", "updated_at"}

func memberRow(m *Member) []any {
	return []any{m.ExternalID, m.Karma, m.GroupList, m.Name, m.Phone, m.Username, m.CreatedAt, m.UpdatedAt}
}

// writeMembers inserts new members (and learns their ids) and updates
// changed ones, each in batched statements.
func (s *Store) writeMembers(p *planner, created, updated []*Member) error {
	if len(created) > 0 {
		rows := make([][]any, len(created))
		exts := make([]string, len(created))
		for i, m := range created {
			rows[i], exts[i] = memberRow(m), m.ExternalID
		}
		if err := s.insertRows(p.tx, "members", memberCols, rows, onConflict{}); err != nil {
			return fmt.Errorf("create members: %w", err)
		}
		var ids []struct {
			ID         int64
			ExternalID string
		}
		cond, arg := s.in("external_id", exts)
		if err := p.tx.Model(&Member{}).Select("id, external_id").Where(cond, arg).Scan(&ids).Error; err != nil {
			return fmt.Errorf("read new member ids: %w", err)
		}
		byExt := make(map[string]int64, len(ids))
		for _, r := range ids {
			byExt[r.ExternalID] = r.ID
		}
		for _, m := range created {
			m.ID = byExt[m.ExternalID]
		}
	}
	if len(updated) > 0 {
		// These rows exist and are locked: one UPDATE per batch.
		rows := make([][]any, len(updated))
		for i, m := range updated {
			rows[i] = []any{m.ID, m.Karma, m.GroupList, m.Name, m.Phone, m.Username, m.UpdatedAt}
		}
		err := s.updateRows(p.tx, "members", []string{"id"},
			[]string{"karma", "group_list", "name", "phone", "username", "updated_at"}, rows)
		if err != nil {
			return fmt.Errorf("update members: %w", err)
		}
	}
	return nil
}

func (in *MemberInput) applyTo(m *Member, now time.Time) {
	m.Karma = in.Karma
	m.GroupList = in.groupList()
	m.Name, m.Phone, m.Username = in.Name, in.Phone, in.Username
	m.UpdatedAt = now
}

func describeMember(m *Member) string {
	g := m.GroupList
	if g == "" {
		g = "none"
	}
	return fmt.Sprintf("karma %d, groups %s", m.Karma, strings.ReplaceAll(g, ",", ", "))
}

func describeChange(m *Member, in *MemberInput) string {
	var parts []string
	if m.Karma != in.Karma {
		parts = append(parts, fmt.Sprintf("karma %d → %d", m.Karma, in.Karma))
	}
	if g := in.groupList(); g != m.GroupList {
		parts = append(parts, fmt.Sprintf("groups [%s] → [%s]", m.GroupList, g))
	}
	if !eqPtr(in.Name, m.Name) || !eqPtr(in.Phone, m.Phone) || !eqPtr(in.Username, m.Username) {
		parts = append(parts, "profile")
	}
	return strings.Join(parts, "; ")
}

// AddKarma changes a member's karma by delta atomically: concurrent calls
// never lose an update. It fails with an *InputError when the result would
// overflow int64.
func (s *Store) AddKarma(ctx context.Context, id string, delta int64, actor string) (*MemberView, error) {
	var view *MemberView
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		m, err := lockMember(tx, id)
		if err != nil {
			return err
		}
		p := s.newPlanner(tx, actor)
		p.keep = true
		if err := s.addKarma(p, m, delta); err != nil {
			return err
		}
		if err := p.flush(); err != nil {
			return err
		}
		view = &MemberView{Member: m, Chats: p.final[m.ID]}
		return nil
	})
	return view, err
}

// addKarma changes the locked member m's karma by delta and re-plans it
// with p (p.keep set), leaving the flush to the caller.
func (s *Store) addKarma(p *planner, m *Member, delta int64) error {
	next := m.Karma + delta
	if (delta > 0 && next < m.Karma) || (delta < 0 && next > m.Karma) {
		return inputErrorf("delta", "karma %d %+d is outside the range %d to %d", m.Karma, delta, int64(math.MinInt64), int64(math.MaxInt64))
	}
	if delta != 0 {
		if err := p.tx.Model(&Member{}).Where("id = ?", m.ID).
			Updates(map[string]any{"karma": next, "updated_at": p.now}).Error; err != nil {
			return fmt.Errorf("update karma: %w", err)
		}
		p.event(EventKarmaChanged, m, "", fmt.Sprintf("karma %d → %d (delta %+d)", m.Karma, next, delta))
		m.Karma, m.UpdatedAt = next, p.now
	}
	return p.plan([]*Member{m}, false)
}

func lockMember(tx *gorm.DB, id string) (*Member, error) {
	return takeOne[Member](tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("external_id = ?", id), fmt.Sprintf("member %q", id))
}

// FindMember returns a member and its state in each gated chat, read in one
// transaction so that the member and its states agree.
func (s *Store) FindMember(ctx context.Context, id string) (*MemberView, error) {
	return s.memberView(ctx, fmt.Sprintf("member %q", id), "external_id = ?", id)
}

// memberView reads the one member the condition names and its state in
// every gated chat, in one read transaction; what names the member in the
// not-found error.
func (s *Store) memberView(ctx context.Context, what, cond string, arg any) (*MemberView, error) {
	var view *MemberView
	err := s.db.read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		m, err := takeOne[Member](tx.Where(cond, arg), what)
		if err != nil {
			return err
		}
		chats, err := s.memberStates(tx, m)
		if err != nil {
			return err
		}
		view = &MemberView{Member: m, Chats: chats}
		return nil
	})
	return view, err
}

// memberStates returns the member's recorded state in each chat of the
// rules; a chat added to the rules since shows what the rules would decide.
func (s *Store) memberStates(tx *gorm.DB, m *Member) ([]ChatState, error) {
	var rows []ChatState
	if err := tx.Where("member_id = ?", m.ID).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load chat states: %w", err)
	}
	var ors []OverrideRow
	if err := tx.Where("member_id = ?", m.ID).Find(&ors).Error; err != nil {
		return nil, fmt.Errorf("load overrides: %w", err)
	}
	ovs := map[string]gate.Override{}
	for _, o := range ors {
		ovs[o.ChatKey] = gate.Override(o.Mode)
	}
	out := make([]ChatState, len(s.rules.Chats))
	for i, c := range s.rules.Chats {
		out[i] = ChatState{MemberID: m.ID, ChatKey: c.Key}
		for _, r := range rows {
			if r.ChatKey == c.Key {
				out[i] = r
			}
		}
		out[i] = s.explain(m, out[i], ovs[c.Key], s.clock())
	}
	return out, nil
}

// explain fills in why a member has their recorded state now: the stored
// reason is the one of the last transition (kept in the audit trail), while
// karma may have moved within the same state since. A chat added to the
// rules since shows what the rules would decide.
func (s *Store) explain(m *Member, row ChatState, ov gate.Override, now time.Time) ChatState {
	c, _ := s.chatIndex(row.ChatKey)
	if c == nil {
		return row
	}
	st := gate.Status{State: gate.State(row.State), InChat: row.InChat}
	if row.GraceUntil != nil {
		st.GraceUntil = row.GraceUntil.UTC()
	}
	d := s.rules.Evaluate(c, m.gate(), ov, st, now)
	if row.State == "" {
		row.State = string(d.State)
	}
	if string(d.State) == row.State {
		row.Reason = d.Reason.String()
	}
	return row
}

// DeleteMember forgets a member: their pending actions are cancelled, and
// every chat they may be in or on their way into gets a compensating action
// (remove when Telegram has them in the chat or their state says so;
// uninvite when an invite is pending or running, or their state is
// invited, eligible or exempt). An invite a worker already holds still
// settles first: ClaimActions runs one member's actions in a chat in id
// order, so the compensation follows it. The member, their link, states and
// overrides are deleted; the audit trail keeps the events.
func (s *Store) DeleteMember(ctx context.Context, id string, actor string) (actions int, err error) {
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		m, err := lockMember(tx, id)
		if err != nil {
			return err
		}
		actions, err = s.deleteMemberTx(tx, m, actor)
		return err
	})
	return actions, err
}

// deleteMemberTx deletes the locked member m in tx: cancels what has not
// started, queues their removal from every chat they are in or invited to,
// deletes their rows and records it. It returns how many actions it queued.
func (s *Store) deleteMemberTx(tx *gorm.DB, m *Member, actor string) (int, error) {
	p := s.newPlanner(tx, actor)
	var rows []ChatState
	if err := tx.Where("member_id = ?", m.ID).Order("chat_key").Find(&rows).Error; err != nil {
		return 0, fmt.Errorf("load chat states: %w", err)
	}
	var inviting []string
	if err := tx.Model(&Action{}).Distinct("chat_key").
		Where("member_id = ? AND kind = ? AND status IN ?", m.ID, string(gate.ActionInvite), []string{ActionPending, ActionRunning}).
		Order("chat_key").Pluck("chat_key", &inviting).Error; err != nil {
		return 0, fmt.Errorf("find invites in flight: %w", err)
	}
	if err := tx.Model(&Action{}).Where("member_id = ? AND status IN ?", m.ID, unstarted).
		Updates(map[string]any{"status": ActionCancelled, "updated_at": p.now}).Error; err != nil {
		return 0, fmt.Errorf("cancel actions: %w", err)
	}
	for _, chat := range inviting {
		if !slices.ContainsFunc(rows, func(r ChatState) bool { return r.ChatKey == chat }) {
			rows = append(rows, ChatState{ChatKey: chat}) // no state row: nothing to show, but the invite
		}
	}
	why := gate.Reason{Code: gate.ReasonDeleted}.String()
	for _, r := range rows {
		st := gate.State(r.State)
		var kind gate.ActionKind
		switch {
		case r.InChat || st == gate.StateMember || st == gate.StateGrace || st == gate.StateRemoving:
			kind = gate.ActionRemove
		case slices.Contains(inviting, r.ChatKey) ||
			st == gate.StateInvited || st == gate.StateEligible || st == gate.StateExempt:
			kind = gate.ActionUninvite
		default:
			continue
		}
		p.queue(m, r.ChatKey, r.Version+1, kind, why)
		e := p.event(EventStateChanged, m, r.ChatKey, why+"; queued "+string(kind))
		if r.State != "" {
			e.FromState = ptr(r.State)
		}
		e.ToState = ptr(string(gate.StateRemoving))
	}
	for _, q := range []struct {
		model any
		where string
	}{{&ChatState{}, "member_id = ?"}, {&OverrideRow{}, "member_id = ?"}, {&Member{}, "id = ?"}} {
		if err := tx.Where(q.where, m.ID).Delete(q.model).Error; err != nil {
			return 0, fmt.Errorf("delete member: %w", err)
		}
	}
	p.event(EventMemberDeleted, m, "", describeMember(m))
	n := len(p.actions)
	return n, p.flush()
}

// SetOverride sets (or with gate.OverrideNone lifts) a manual decision for a
// member in a chat, and re-plans that member. Setting the override the
// member already has changes nothing and records no event.
func (s *Store) SetOverride(ctx context.Context, id, chat string, mode gate.Override, actor string) (*MemberView, error) {
	if c, _ := s.chatIndex(chat); c == nil {
		return nil, fmt.Errorf("chat %q: %w", chat, ErrNotFound)
	}
	return s.changeMember(ctx, id, actor, func(p *planner, m *Member) error {
		cur := gate.OverrideNone
		var row OverrideRow
		err := p.tx.Where("member_id = ? AND chat_key = ?", m.ID, chat).Take(&row).Error
		switch {
		case err == nil:
			cur = gate.Override(row.Mode)
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("load override: %w", err)
		}
		if cur == mode {
			return nil // nothing changes: no event
		}
		if err := p.tx.Where("member_id = ? AND chat_key = ?", m.ID, chat).Delete(&OverrideRow{}).Error; err != nil {
			return fmt.Errorf("clear override: %w", err)
		}
		if mode != gate.OverrideNone {
			if err := p.tx.Create(&OverrideRow{MemberID: m.ID, ChatKey: chat, Mode: string(mode), CreatedAt: p.now}).Error; err != nil {
				return fmt.Errorf("set override: %w", err)
			}
		}
		what := string(mode)
		if mode == gate.OverrideNone {
			what = "none"
		}
		p.event(EventOverrideSet, m, chat, "override: "+what)
		return nil
	})
}

// SetInChat records what Telegram says about a member's presence in a chat
// (a chat_member update, a participant list) and re-plans the member.
func (s *Store) SetInChat(ctx context.Context, id, chat string, in bool, actor string) (*MemberView, error) {
	return s.changeMember(ctx, id, actor, func(p *planner, m *Member) error {
		var cur ChatState
		if err := p.tx.Where("member_id = ? AND chat_key = ?", m.ID, chat).Limit(1).Find(&cur).Error; err != nil {
			return fmt.Errorf("load chat state: %w", err)
		}
		if err := markInChat(p, m, chat, in); err != nil {
			return err
		}
		verb := "left"
		if in {
			verb = "joined"
		}
		p.event(EventMembership, m, chat, "Telegram: "+verb)
		membershipCallback(p, m, chat, cur.InChat, in)
		return nil
	})
}

// changeMember locks a member, lets change alter it, then re-plans it, all
// in one transaction.
func (s *Store) changeMember(ctx context.Context, id, actor string, change func(*planner, *Member) error) (*MemberView, error) {
	var view *MemberView
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		m, err := lockMember(tx, id)
		if err != nil {
			return err
		}
		p := s.newPlanner(tx, actor)
		p.keep = true
		if err := change(p, m); err != nil {
			return err
		}
		if err := p.plan([]*Member{m}, false); err != nil {
			return err
		}
		view = &MemberView{Member: m, Chats: p.final[m.ID]}
		return p.flush()
	})
	return view, err
}

// ErrAlreadyLinked means the Telegram account is linked to another member.
var ErrAlreadyLinked = errors.New("telegram account already linked to another member")

// LinkTelegram links a member to a Telegram user and re-plans them: chats
// they qualify for move from needs_link to eligible and queue an invite.
func (s *Store) LinkTelegram(ctx context.Context, id string, tgUserID int64, tgUsername string, actor string) (*MemberView, error) {
	return s.changeMember(ctx, id, actor, func(p *planner, m *Member) error {
		var other Member
		err := p.tx.Where("tg_user_id = ? AND id <> ?", tgUserID, m.ID).Take(&other).Error
		if err == nil {
			return fmt.Errorf("link %q to Telegram user %d: %w", id, tgUserID, ErrAlreadyLinked)
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("check link: %w", err)
		}
		m.TgUserID, m.LinkedAt = &tgUserID, &p.now
		m.TgUsername = blankToNil(&tgUsername)
		if err := p.tx.Model(&Member{}).Where("id = ?", m.ID).Updates(map[string]any{
			"tg_user_id": tgUserID, "tg_username": m.TgUsername, "linked_at": p.now, "updated_at": p.now,
		}).Error; err != nil {
			return fmt.Errorf("link member: %w", err)
		}
		if _, err := s.queueProbes(p, m, tgUserID); err != nil {
			return err
		}
		p.event("member.linked", m, "", fmt.Sprintf("linked to Telegram user %d", tgUserID))
		p.callback(CallbackLinked, m, "", "")
		return nil
	})
}

// MemberFilter selects members for ListMembers; zero fields match all.
type MemberFilter struct {
	Chat  string     // a chat key: also report each member's state there
	State gate.State // with Chat: only members in this state
	After string     // page on: only ids after this one
	Limit int        // default 100, at most 1000
}

// MemberListItem is a member in a listing, with its state in the filter's
// chat when one was named.
type MemberListItem struct {
	Member
	State  *string
	Reason *string
}

// ListMembers returns members ordered by id, optionally with their state in
// one chat and only those in one state.
func (s *Store) ListMembers(ctx context.Context, f MemberFilter) ([]MemberListItem, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	q := s.db.read.WithContext(ctx).Table("members AS m")
	if f.Chat != "" {
		if c, _ := s.chatIndex(f.Chat); c == nil {
			return nil, fmt.Errorf("chat %q: %w", f.Chat, ErrNotFound)
		}
		q = q.Select("m.*, COALESCE(cs.state, ?) AS state, cs.reason AS reason", string(gate.StateNotEligible)).
			Joins("LEFT JOIN chat_states AS cs ON cs.member_id = m.id AND cs.chat_key = ?", f.Chat)
		switch {
		case f.State == gate.StateNotEligible:
			q = q.Where("(cs.state IS NULL OR cs.state = ?)", string(f.State))
		case f.State != "":
			q = q.Where("cs.state = ?", string(f.State))
		}
	} else {
		q = q.Select("m.*")
	}
	if f.After != "" {
		q = q.Where("m.external_id > ?", f.After)
	}
	var out []MemberListItem
	if err := q.Order("m.external_id").Limit(f.Limit).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return out, nil
}
