package models

import (
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/karmagate/karmagate/gate"
)

// planner collects, within one transaction, what re-planning members
// decides, and writes it in batches.
type planner struct {
	s     *Store
	tx    *gorm.DB
	now   time.Time
	actor string

	states  []ChatState
	actions []Action
	events  []Event
	cancel  map[string][]string // chat key -> members whose pending actions a new decision supersedes
	final   map[int64][]ChatState
	keep    bool    // keep final states per member (for responses)
	last    *Member // the last member put (for a single PutMember's response)
	bulk    bool    // a bulk upsert: one event for all creations
	buf     []gate.Change
}

func (s *Store) newPlanner(tx *gorm.DB, actor string) *planner {
	return &planner{s: s, tx: tx, now: s.clock(), actor: actor, cancel: map[string][]string{}}
}

func (p *planner) event(kind string, m *Member, chat string, detail string) *Event {
	e := Event{At: p.now, Actor: p.actor, Kind: kind, Detail: truncate(detail, 1000)}
	if m != nil {
		e.MemberExt = &m.ExternalID
	}
	if chat != "" {
		e.ChatKey = &chat
	}
	p.events = append(p.events, e)
	return &p.events[len(p.events)-1]
}

// loadStates returns the chat states and overrides of members, by member id.
func (p *planner) loadStates(ids []int64) (map[int64][]ChatState, map[int64][]OverrideRow, error) {
	states := make(map[int64][]ChatState, len(ids))
	ovs := map[int64][]OverrideRow{}
	err := chunks(ids, chunkSize, func(part []int64) error {
		cond, arg := p.s.in("member_id", part)
		var rows []ChatState
		if err := p.tx.Where(cond, arg).Find(&rows).Error; err != nil {
			return fmt.Errorf("load chat states: %w", err)
		}
		for _, r := range rows {
			states[r.MemberID] = append(states[r.MemberID], r)
		}
		var ors []OverrideRow
		if err := p.tx.Where(cond, arg).Find(&ors).Error; err != nil {
			return fmt.Errorf("load overrides: %w", err)
		}
		for _, o := range ors {
			ovs[o.MemberID] = append(ovs[o.MemberID], o)
		}
		return nil
	})
	return states, ovs, err
}

// plan re-plans members against every gated chat. Members created in this
// transaction have no states, so the caller may say so and skip the reads.
func (p *planner) plan(members []*Member, fresh bool) error {
	var states map[int64][]ChatState
	var ovs map[int64][]OverrideRow
	if !fresh {
		ids := make([]int64, len(members))
		for i, m := range members {
			ids[i] = m.ID
		}
		var err error
		if states, ovs, err = p.loadStates(ids); err != nil {
			return err
		}
	}
	chats := p.s.rules.Chats
	cur := make([]gate.Status, len(chats))
	rows := make([]ChatState, len(chats))
	ov := make([]gate.Override, len(chats))
	for _, m := range members {
		clear(cur)
		clear(rows)
		clear(ov)
		for _, r := range states[m.ID] {
			if c, i := p.s.chatIndex(r.ChatKey); c != nil {
				rows[i] = r
				cur[i] = gate.Status{State: gate.State(r.State), InChat: r.InChat}
				if r.GraceUntil != nil {
					cur[i].GraceUntil = r.GraceUntil.UTC()
				}
			}
		}
		for _, o := range ovs[m.ID] {
			if c, i := p.s.chatIndex(o.ChatKey); c != nil {
				ov[i] = gate.Override(o.Mode)
			}
		}
		p.buf = p.s.rules.PlanMember(m.gate(), cur, ov, p.now, p.buf[:0])
		for _, ch := range p.buf {
			p.apply(m, chats[ch.Chat].Key, &rows[ch.Chat], &ch.Decision)
		}
		if p.keep {
			final := make([]ChatState, 0, len(chats))
			for i, c := range chats {
				if rows[i].ChatKey == "" {
					rows[i] = ChatState{MemberID: m.ID, ChatKey: c.Key, State: string(gate.StateNotEligible)}
				}
				final = append(final, p.s.explain(m, rows[i], ov[i], p.now))
			}
			if p.final == nil {
				p.final = map[int64][]ChatState{}
			}
			p.final[m.ID] = final
		}
	}
	return nil
}

// apply records one decision: the new state row, the action it queues and
// the audit event. row is the member's current row in the chat (zero when
// none) and is updated in place.
func (p *planner) apply(m *Member, chat string, row *ChatState, d *gate.Decision) {
	from := gate.State(row.State)
	if row.ChatKey != "" {
		// A new decision supersedes whatever the old one queued and no
		// worker has taken yet.
		p.cancel[chat] = append(p.cancel[chat], m.ExternalID)
	}
	reason := d.Reason.String()
	next := ChatState{
		MemberID: m.ID, ChatKey: chat, State: string(d.State), Reason: truncate(reason, 500),
		InChat: row.InChat, Version: row.Version + 1, ChangedAt: p.now,
	}
	if g := d.GraceUntil(); !g.IsZero() {
		next.GraceUntil = &g
	}
	*row = next
	p.states = append(p.states, next)
	detail := reason
	if d.Action != gate.ActionNone {
		p.actions = append(p.actions, Action{
			IdemKey:   idemKey(m.ID, chat, next.Version, d.Action),
			Kind:      string(d.Action),
			MemberExt: m.ExternalID, ChatKey: chat, TgUserID: m.TgUserID, StateVersion: next.Version,
			Reason: truncate(reason, 500), Status: ActionPending,
			NotBefore: p.now, CreatedAt: p.now, UpdatedAt: p.now,
		})
		detail += "; queued " + string(d.Action)
	}
	// A new member's first "not eligible" is no news; everything else is.
	if from == gate.StateNone && d.State == gate.StateNotEligible && d.Action == gate.ActionNone {
		return
	}
	e := p.event(EventStateChanged, m, chat, detail)
	if from != gate.StateNone {
		e.FromState = ptr(string(from))
	}
	e.ToState = ptr(string(d.State))
}

// flush writes what the planner collected.
func (p *planner) flush() error {
	if err := p.dropMootUninvites(); err != nil {
		return err
	}
	keys := make([]string, 0, len(p.cancel))
	for k := range p.cancel {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, chat := range keys {
		err := chunks(p.cancel[chat], chunkSize, func(exts []string) error {
			cond, arg := p.s.in("member_ext", exts)
			return p.tx.Model(&Action{}).
				Where("status = ? AND chat_key = ?", ActionPending, chat).Where(cond, arg).
				Updates(map[string]any{"status": ActionCancelled, "updated_at": p.now}).Error
		})
		if err != nil {
			return fmt.Errorf("cancel superseded actions: %w", err)
		}
	}
	states := make([][]any, len(p.states))
	for i, r := range p.states {
		states[i] = []any{r.MemberID, r.ChatKey, r.State, r.Reason, r.InChat, r.GraceUntil, r.Version, r.ChangedAt}
	}
	err := p.s.insertRows(p.tx, "chat_states",
		[]string{"member_id", "chat_key", "state", "reason", "in_chat", "grace_until", "version", "changed_at"}, states,
		onConflict{
			sqlite: "ON CONFLICT (member_id, chat_key) DO UPDATE SET state = excluded.state, reason = excluded.reason, in_chat = excluded.in_chat, grace_until = excluded.grace_until, version = excluded.version, changed_at = excluded.changed_at",
			mysql:  "ON DUPLICATE KEY UPDATE state = VALUES(state), reason = VALUES(reason), in_chat = VALUES(in_chat), grace_until = VALUES(grace_until), version = VALUES(version), changed_at = VALUES(changed_at)",
		})
	if err != nil {
		return fmt.Errorf("write chat states: %w", err)
	}
	actions := make([][]any, len(p.actions))
	for i, a := range p.actions {
		actions[i] = []any{a.IdemKey, a.Kind, a.MemberExt, a.ChatKey, a.TgUserID, a.StateVersion, a.Reason, a.Status, a.Attempts, a.NotBefore, a.LastError, a.CreatedAt, a.UpdatedAt}
	}
	// The idempotency key makes a replayed decision a no-op.
	err = p.s.insertRows(p.tx, "actions",
		[]string{"idem_key", "kind", "member_ext", "chat_key", "tg_user_id", "state_version", "reason", "status", "attempts", "not_before", "last_error", "created_at", "updated_at"}, actions,
		onConflict{sqlite: "ON CONFLICT (idem_key) DO NOTHING", mysql: "ON DUPLICATE KEY UPDATE idem_key = idem_key"})
	if err != nil {
		return fmt.Errorf("queue actions: %w", err)
	}
	events := make([][]any, len(p.events))
	for i, e := range p.events {
		events[i] = []any{e.At, e.Actor, e.Kind, e.MemberExt, e.ChatKey, e.FromState, e.ToState, e.Detail}
	}
	err = p.s.insertRows(p.tx, "events", []string{"at", "actor", "kind", "member_ext", "chat_key", "from_state", "to_state", "detail"}, events, onConflict{})
	if err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	return nil
}

// chatIndex finds a chat of the rules by key; nil when the rules no longer
// have it.
func (s *Store) chatIndex(key string) (*gate.Chat, int) {
	for i, c := range s.rules.Chats {
		if c.Key == key {
			return c, i
		}
	}
	return nil, -1
}

// dropMootUninvites drops an uninvite whose invite never went out: it is
// still pending, and the new decision cancels it anyway.
func (p *planner) dropMootUninvites() error {
	kept := p.actions[:0]
	for _, a := range p.actions {
		if a.Kind == string(gate.ActionUninvite) {
			var n int64
			err := p.tx.Model(&Action{}).Where("status = ? AND kind = ? AND member_ext = ? AND chat_key = ?",
				ActionPending, string(gate.ActionInvite), a.MemberExt, a.ChatKey).Count(&n).Error
			if err != nil {
				return fmt.Errorf("check pending invite: %w", err)
			}
			if n > 0 {
				continue
			}
		}
		kept = append(kept, a)
	}
	p.actions = kept
	return nil
}

// idemKey is the idempotency key of the action a decision queues: member
// row, chat, state version and kind, so that replaying a decision inserts
// nothing.
func idemKey(memberID int64, chat string, version int64, kind gate.ActionKind) string {
	return fmt.Sprintf("m%d/%s/v%d/%s", memberID, chat, version, kind)
}
