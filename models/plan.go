package models

import (
	"database/sql"
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

	states  []ChatState // new rows
	changed []ChatState // rows that exist, with their new values
	actions []Action
	events  []Event
	// callbacks to the website, queued with the rest (Options.Callbacks)
	callbacks []Callback
	cancel    [][]any // (member id, chat key) whose pending actions a new decision supersedes
	final     map[int64][]ChatState
	keep      bool    // keep final states per member (for responses)
	last      *Member // the last member put (for a single PutMember's response)
	bulk      bool    // a bulk upsert: one event for all creations
	// byExt and createdExt, when set, record every member put and those
	// created, by external id (group commit's answers).
	byExt      map[string]*Member
	createdExt map[string]bool
	buf        []gate.Change
}

// reserve makes room for the actions and events of about n more
// decisions, so that a large re-plan does not copy them as they grow.
func (p *planner) reserve(n int) {
	p.actions = slices.Grow(p.actions, n)
	p.events = slices.Grow(p.events, n)
	p.changed = slices.Grow(p.changed, n)
}

func (s *Store) newPlanner(tx *gorm.DB, actor string) *planner {
	return &planner{s: s, tx: tx, now: s.clock(), actor: actor}
}

func (p *planner) event(kind string, m *Member, chat string, detail string) *Event {
	e := Event{At: p.now, Actor: p.actor, Kind: kind, Detail: Truncate(detail, 1000)}
	if m != nil {
		e.MemberExt = &m.ExternalID
	}
	if chat != "" {
		e.ChatKey = &chat
	}
	p.events = append(p.events, e)
	return &p.events[len(p.events)-1]
}

// readChunk is how many members one read of their rows names: a list of
// ids in the statement's text (MySQL) or its one JSON parameter (SQLite).
const readChunk = 10_000

// loadStates returns the chat states and overrides of members, by member id.
func (p *planner) loadStates(ids []int64) (map[int64][]ChatState, map[int64][]OverrideRow, error) {
	states := make(map[int64][]ChatState, len(ids))
	ovs := map[int64][]OverrideRow{}
	err := chunks(ids, readChunk, func(part []int64) error {
		cond, arg := p.s.in("member_id", part)
		// Scanned by hand: gorm's reflection was most of the read's time.
		rows, err := p.tx.Raw("SELECT member_id, chat_key, state, reason, in_chat, grace_until, version, changed_at, tag FROM chat_states WHERE "+cond, arg).Rows()
		if err != nil {
			return fmt.Errorf("load chat states: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var r ChatState
			var grace sql.NullTime
			var tag sql.NullString
			if err := rows.Scan(&r.MemberID, &r.ChatKey, &r.State, &r.Reason, &r.InChat, &grace, &r.Version, &r.ChangedAt, &tag); err != nil {
				return fmt.Errorf("load chat states: %w", err)
			}
			if grace.Valid {
				g := grace.Time
				r.GraceUntil = &g
			}
			if tag.Valid {
				t := tag.String
				r.Tag = &t
			}
			states[r.MemberID] = append(states[r.MemberID], r)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load chat states: %w", err)
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
	exists := row.ChatKey != ""
	if exists {
		// A new decision supersedes whatever the old one queued and no
		// worker has taken yet.
		p.cancel = append(p.cancel, []any{m.ID, chat})
	}
	reason := d.Reason.String()
	next := ChatState{
		MemberID: m.ID, ChatKey: chat, State: string(d.State), Reason: Truncate(reason, 500),
		InChat: row.InChat, Version: row.Version + 1, ChangedAt: p.now,
	}
	if g := d.GraceUntil(); !g.IsZero() {
		next.GraceUntil = &g
	}
	*row = next
	if exists {
		p.changed = append(p.changed, next)
	} else {
		p.states = append(p.states, next)
	}
	detail := reason
	if d.Action != gate.ActionNone {
		p.queue(m, chat, next.Version, d.Action, reason)
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

// idemKey is an action's idempotency key: at most one action of a kind per
// member row, chat and version of the member's state there, so that a
// replayed decision queues nothing.
func idemKey(memberID int64, chat string, version int64, kind gate.ActionKind) string {
	return fmt.Sprintf("m%d/%s/v%d/%s", memberID, chat, version, kind)
}

// queue adds an action for m in chat, asked for by the decision that took
// the member's state there to version.
func (p *planner) queue(m *Member, chat string, version int64, kind gate.ActionKind, reason string) {
	p.actions = append(p.actions, Action{
		IdemKey: idemKey(m.ID, chat, version, kind), Kind: string(kind),
		MemberID: m.ID, MemberExt: m.ExternalID, ChatKey: chat, TgUserID: m.TgUserID, StateVersion: version,
		Reason: Truncate(reason, 500), Status: ActionPending,
		NotBefore: p.now, CreatedAt: p.now, UpdatedAt: p.now,
	})
}

// flush writes what the planner collected.
func (p *planner) flush() error {
	if err := p.dropMootUninvites(); err != nil {
		return err
	}
	// The planner read every state row of the members it planned under
	// their lock, so it knows which rows exist: those are updated, the
	// others inserted.
	stateRow := func(r ChatState) []any {
		return []any{r.MemberID, r.ChatKey, r.State, r.Reason, r.InChat, r.GraceUntil, r.Version, r.ChangedAt}
	}
	states := make([][]any, len(p.states))
	for i, r := range p.states {
		states[i] = stateRow(r)
	}
	if err := p.s.insertRows(p.tx, "chat_states", stateCols, states, onConflict{}); err != nil {
		return fmt.Errorf("write chat states: %w", err)
	}
	changed := make([][]any, len(p.changed))
	for i, r := range p.changed {
		changed[i] = stateRow(r)
	}
	if err := p.s.overwriteRows(p.tx, "chat_states", stateCols[:2], stateCols[2:], changed); err != nil {
		return fmt.Errorf("update chat states: %w", err)
	}
	// A new decision supersedes what older versions of the member's state
	// queued and no worker has taken yet. The decision itself made again
	// (a replay: same version, same idempotency key) keeps its action.
	if err := p.cancelSuperseded(); err != nil {
		return err
	}
	if err := p.s.holdRemovals(p.tx, p.actor, p.now, p.actions); err != nil {
		return err
	}
	actions := make([][]any, len(p.actions))
	for i, a := range p.actions {
		actions[i] = []any{a.IdemKey, a.Kind, a.MemberID, a.MemberExt, a.ChatKey, a.TgUserID, a.StateVersion, a.Reason, a.Status, a.Attempts, a.NotBefore, a.LastError, a.CreatedAt, a.UpdatedAt, a.Hold}
	}
	// The idempotency key makes a replayed decision a no-op.
	err := p.s.insertRows(p.tx, "actions",
		[]string{"idem_key", "kind", "member_id", "member_ext", "chat_key", "tg_user_id", "state_version", "reason", "status", "attempts", "not_before", "last_error", "created_at", "updated_at", "hold"}, actions,
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
	return p.s.writeCallbacks(p.tx, p.callbacks, p.now)
}

// stateCols are chat_states' columns, its key first.
var stateCols = []string{"member_id", "chat_key", "state", "reason", "in_chat", "grace_until", "version", "changed_at"}

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
// still pending, and the new decision cancels it anyway. One query per
// chunk of members, not one per uninvite.
func (p *planner) dropMootUninvites() error {
	var ids []int64
	for _, a := range p.actions {
		if a.Kind == string(gate.ActionUninvite) {
			ids = append(ids, a.MemberID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	type key struct {
		member int64
		chat   string
	}
	pending := map[key]bool{}
	err := chunks(ids, chunkSize, func(part []int64) error {
		cond, arg := p.s.in("member_id", part)
		var rows []struct {
			MemberID int64
			ChatKey  string
		}
		err := p.tx.Model(&Action{}).Select("member_id, chat_key").Where(cond, arg).
			Where("status = ? AND kind = ?", ActionPending, string(gate.ActionInvite)).Scan(&rows).Error
		for _, r := range rows {
			pending[key{r.MemberID, r.ChatKey}] = true
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("check pending invites: %w", err)
	}
	kept := p.actions[:0]
	for _, a := range p.actions {
		if a.Kind == string(gate.ActionUninvite) && pending[key{a.MemberID, a.ChatKey}] {
			continue
		}
		kept = append(kept, a)
	}
	p.actions = kept
	return nil
}

// cancelSuperseded cancels what older versions of the re-decided members'
// states queued and no worker has taken yet, in one statement per batch:
// the pairs (member, chat) joined to their actions and current states.
func (p *planner) cancelSuperseded() error {
	if len(p.cancel) > cancelCheck {
		if err := p.keepCancellable(); err != nil {
			return err
		}
	}
	if len(p.cancel) == 0 {
		return nil
	}
	q := p.s.cancelSQL()
	err := p.s.eachBatch(p.cancel, nil, func(data string) error {
		// The batch comes first on MySQL (UPDATE's table list), after SET's
		// values on SQLite (in the subquery).
		// A probe (probe.go) asks what is, whatever the member's state: no
		// decision supersedes it.
		args := []any{data, ActionCancelled, p.now, ActionPending, ActionHeld, ActionProbe}
		if p.s.db.dialect == SQLite {
			args = []any{ActionCancelled, p.now, data, ActionPending, ActionHeld, ActionProbe}
		}
		return p.tx.Exec(q, args...).Error
	})
	if err != nil {
		return fmt.Errorf("cancel superseded actions: %w", err)
	}
	return nil
}

// cancelSQL is cancelSuperseded's statement: a batch of (member, chat)
// pairs joined to their unstarted actions and current states.
func (s *Store) cancelSQL() string {
	src := s.source([]any{int64(0), ""}, "v")
	var q string
	if s.db.dialect == SQLite {
		// CROSS JOIN is SQLite's way to fix the order: the batch drives,
		// one index range per pair (actions_member). Left to itself, with
		// no statistics, SQLite walked every pending action by status for
		// each pair: behind a backlog, most of a busy serve's CPU.
		q = fmt.Sprintf(`UPDATE actions SET status = ?, updated_at = ? WHERE id IN (
SELECT a.id FROM %s CROSS JOIN actions AS a ON a.member_id = %s AND a.chat_key = %s
CROSS JOIN chat_states AS cs ON cs.member_id = a.member_id AND cs.chat_key = a.chat_key
WHERE a.status IN (?, ?) AND a.state_version < cs.version AND a.kind <> ?)`, src.from, src.cols[0], src.cols[1])
	} else {
		q = fmt.Sprintf(`UPDATE %s STRAIGHT_JOIN actions AS a ON a.member_id = %s AND a.chat_key = %s
STRAIGHT_JOIN chat_states AS cs ON cs.member_id = a.member_id AND cs.chat_key = a.chat_key
SET a.status = ?, a.updated_at = ? WHERE a.status IN (?, ?) AND a.state_version < cs.version AND a.kind <> ?`, src.from, src.cols[0], src.cols[1])
	}
	return q
}

// cancelCheck is how many pairs to cancel make it worth finding first
// which of their members have unstarted actions at all.
const cancelCheck = 1000

// keepCancellable keeps of p.cancel only the pairs whose member has an
// unstarted action: one index range per member (actions_member), where
// joining every pair to its actions and states costs two lookups a pair.
// A re-plan that moves members with nothing queued (the first pass after
// an import, a rules change) cancels nothing and now finds that out
// cheaply.
func (p *planner) keepCancellable() error {
	ids := make([]int64, 0, len(p.cancel))
	for _, c := range p.cancel {
		if id := c[0].(int64); len(ids) == 0 || ids[len(ids)-1] != id {
			ids = append(ids, id)
		}
	}
	has := map[int64]bool{}
	err := chunks(ids, readChunk, func(part []int64) error {
		var found []int64
		if p.s.db.dialect == SQLite {
			// Probed member by member: asked for actions of members IN a
			// list and a status, SQLite walks every unstarted action
			// (actions_ready), a range that grows with the outbox.
			data, _ := appendJSONList(nil, part)
			if err := p.tx.Raw("SELECT j.value FROM json_each(?) AS j WHERE EXISTS (SELECT 1 FROM actions AS a WHERE a.member_id = j.value AND a.status IN ?)",
				string(data), unstarted).Scan(&found).Error; err != nil {
				return err
			}
		} else {
			cond, arg := p.s.in("member_id", part)
			if err := p.tx.Model(&Action{}).Distinct("member_id").Where(cond, arg).
				Where("status IN ?", unstarted).Pluck("member_id", &found).Error; err != nil {
				return err
			}
		}
		for _, id := range found {
			has[id] = true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("find unstarted actions: %w", err)
	}
	kept := p.cancel[:0]
	for _, c := range p.cancel {
		if has[c[0].(int64)] {
			kept = append(kept, c)
		}
	}
	p.cancel = kept
	return nil
}
