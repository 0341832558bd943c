package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/karmagate/karmagate/gate"
)

// Reads for the admin dashboard. Each method runs a fixed number of
// queries, however many members, chats or events there are.

// Overview is the whole installation at a glance: members, the gated chats
// with their counts, and the outbox.
type Overview struct {
	Members int64 // every member the website sent
	Linked  int64 // members with a Telegram link
	Chats   []ChatOverview
	Outbox  map[string]int64 // actions per status (OutboxCounts)
}

// ChatOverview is one gated chat of the rules with its Telegram side and
// counts.
type ChatOverview struct {
	Chat *gate.Chat
	// Row is the chat's Telegram side: its id once created or bound, the
	// bot's standing and the join link (zero values when it has none).
	Row ChatRow
	// States counts members per state; members without a recorded state
	// are counted as not_eligible.
	States map[gate.State]int64
	// InChat is how many members Telegram says are in the chat.
	InChat int64
	// ShouldBeIn is how many members the rules let in: eligible, invited,
	// member, grace and exempt.
	ShouldBeIn int64
	// Pending counts the chat's outbox actions waiting or running, by kind.
	Pending map[gate.ActionKind]int64
	// Held counts the chat's removals held (dry run or the removal
	// breaker) until an admin confirms them.
	Held int64
	// Strangers counts the accounts inside linked to no member (known by
	// an audit or seen in the group); with Row.PeopleInside and InChat
	// they say who is inside (Unknown).
	Strangers int64
}

// Inside is Telegram's last count of the people inside besides the
// admins; nil when never counted.
func (c ChatOverview) Inside() *int64 {
	if c.Row.PeopleInside == nil {
		return nil
	}
	n := int64(*c.Row.PeopleInside)
	return &n
}

// Unknown is how many of the people inside (Telegram's last count besides
// the admins) karmagate knows nothing about; nil when never counted.
func (c ChatOverview) Unknown() *int64 {
	if c.Row.PeopleInside == nil {
		return nil
	}
	n := max(int64(*c.Row.PeopleInside)-c.InChat-c.Strangers, 0)
	return &n
}

// PendingTotal is the number of the chat's actions waiting or running.
func (c *ChatOverview) PendingTotal() int64 {
	var n int64
	for _, v := range c.Pending {
		n += v
	}
	return n
}

// ShouldBeIn lists the states in which the rules let a member into a chat.
var ShouldBeIn = []gate.State{gate.StateEligible, gate.StateInvited, gate.StateMember, gate.StateGrace, gate.StateExempt}

// Overview counts members, chat states and outbox actions in five grouped
// queries.
func (s *Store) Overview(ctx context.Context) (Overview, error) {
	var out Overview
	err := s.db.read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var totals struct{ Members, Linked int64 }
		if err := tx.Model(&Member{}).Select("COUNT(*) AS members, COUNT(tg_user_id) AS linked").Scan(&totals).Error; err != nil {
			return fmt.Errorf("count members: %w", err)
		}
		out.Members, out.Linked = totals.Members, totals.Linked
		var states []struct {
			ChatKey string
			State   string
			InChat  bool
			N       int64
		}
		if err := tx.Model(&ChatState{}).Select("chat_key, state, in_chat, COUNT(*) AS n").
			Group("chat_key, state, in_chat").Scan(&states).Error; err != nil {
			return fmt.Errorf("count chat states: %w", err)
		}
		var pending []struct {
			ChatKey string
			Kind    string
			Status  string
			N       int64
		}
		if err := tx.Model(&Action{}).Select("chat_key, kind, status, COUNT(*) AS n").
			Where("status IN ?", []string{ActionPending, ActionRunning, ActionHeld}).
			Group("chat_key, kind, status").Scan(&pending).Error; err != nil {
			return fmt.Errorf("count pending actions: %w", err)
		}
		var rows []ChatRow
		if err := tx.Find(&rows).Error; err != nil {
			return fmt.Errorf("load chats: %w", err)
		}
		var byStatus []struct {
			Status string
			N      int64
		}
		if err := tx.Model(&Action{}).Select("status, COUNT(*) AS n").Group("status").Scan(&byStatus).Error; err != nil {
			return fmt.Errorf("count actions: %w", err)
		}
		out.Outbox = map[string]int64{ActionPending: 0, ActionRunning: 0, ActionDone: 0, ActionFailed: 0, ActionCancelled: 0, ActionHeld: 0}
		for _, r := range byStatus {
			out.Outbox[r.Status] = r.N
		}
		var strangers []struct {
			ChatKey string
			N       int64
		}
		if err := tx.Model(&Stranger{}).Select("chat_key, COUNT(*) AS n").Group("chat_key").Scan(&strangers).Error; err != nil {
			return fmt.Errorf("count strangers: %w", err)
		}
		out.Chats = make([]ChatOverview, len(s.rules.Chats))
		for i, c := range s.rules.Chats {
			co := ChatOverview{Chat: c, Row: ChatRow{ChatKey: c.Key, Title: c.Title},
				States: map[gate.State]int64{}, Pending: map[gate.ActionKind]int64{}}
			for _, st := range gate.States {
				co.States[st] = 0
			}
			recorded := int64(0)
			for _, r := range states {
				if r.ChatKey != c.Key {
					continue
				}
				if r.InChat {
					co.InChat += r.N
				}
				if r.State != string(gate.StateNotEligible) {
					co.States[gate.State(r.State)] += r.N
					recorded += r.N
				}
			}
			co.States[gate.StateNotEligible] = max(out.Members-recorded, 0)
			for _, st := range ShouldBeIn {
				co.ShouldBeIn += co.States[st]
			}
			for _, p := range pending {
				switch {
				case p.ChatKey != c.Key:
				case p.Status == ActionHeld:
					co.Held += p.N
				default:
					co.Pending[gate.ActionKind(p.Kind)] += p.N
				}
			}
			for _, r := range rows {
				if r.ChatKey == c.Key {
					co.Row = r
				}
			}
			for _, r := range strangers {
				if r.ChatKey == c.Key {
					co.Strangers = r.N
				}
			}
			out.Chats[i] = co
		}
		return nil
	})
	return out, err
}

// MemberSearch selects members for SearchMembers; zero fields match all.
type MemberSearch struct {
	// Query matches, case-insensitively, part of the member's id, name,
	// website username or Telegram username.
	Query string
	// Chat narrows to members with a state in this chat, together with
	// States or InChat.
	Chat   string
	States []gate.State // with Chat: only members in one of these states
	InChat bool         // with Chat: only members Telegram says are in it
	Offset int
	Limit  int // default 50, at most 500
}

// MemberPage is one page of a member search.
type MemberPage struct {
	Members []MemberView // ordered by id; each with its state in every chat
	Total   int64        // members matching the search on all pages
}

// SearchMembers returns one page of the members matching f with their
// state in every chat, and how many match in all, in four queries.
func (s *Store) SearchMembers(ctx context.Context, f MemberSearch) (MemberPage, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	f.Offset = max(f.Offset, 0)
	if f.Chat != "" {
		if c, _ := s.chatIndex(f.Chat); c == nil {
			return MemberPage{}, fmt.Errorf("chat %q: %w", f.Chat, ErrNotFound)
		}
	}
	var page MemberPage
	err := s.db.read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		where := func() *gorm.DB {
			q := tx.Table("members AS m")
			if t := strings.TrimSpace(f.Query); t != "" {
				like := "%" + escapeLike(strings.ToLower(t)) + "%"
				q = q.Where(`(LOWER(m.external_id) LIKE ? ESCAPE '!' OR LOWER(COALESCE(m.name, '')) LIKE ? ESCAPE '!'
					OR LOWER(COALESCE(m.username, '')) LIKE ? ESCAPE '!' OR LOWER(COALESCE(m.tg_username, '')) LIKE ? ESCAPE '!')`,
					like, like, like, like)
			}
			if f.Chat != "" && (len(f.States) > 0 || f.InChat) {
				q = q.Joins("LEFT JOIN chat_states AS cs ON cs.member_id = m.id AND cs.chat_key = ?", f.Chat)
				if f.InChat {
					q = q.Where("cs.in_chat = ?", true)
				}
				if len(f.States) > 0 {
					names := make([]string, len(f.States))
					for i, st := range f.States {
						names[i] = string(st)
					}
					cond := "cs.state IN ?"
					for _, st := range f.States {
						if st == gate.StateNotEligible {
							cond = "(cs.state IS NULL OR cs.state IN ?)"
						}
					}
					q = q.Where(cond, names)
				}
			}
			return q
		}
		if err := where().Count(&page.Total).Error; err != nil {
			return fmt.Errorf("count members: %w", err)
		}
		var ms []Member
		if err := where().Select("m.*").Order("m.external_id").Offset(f.Offset).Limit(f.Limit).Find(&ms).Error; err != nil {
			return fmt.Errorf("list members: %w", err)
		}
		if len(ms) == 0 {
			return nil
		}
		ids := make([]int64, len(ms))
		for i := range ms {
			ids[i] = ms[i].ID
		}
		var rows []ChatState
		if err := tx.Where("member_id IN ?", ids).Find(&rows).Error; err != nil {
			return fmt.Errorf("load chat states: %w", err)
		}
		var ors []OverrideRow
		if err := tx.Where("member_id IN ?", ids).Find(&ors).Error; err != nil {
			return fmt.Errorf("load overrides: %w", err)
		}
		now := s.clock()
		page.Members = make([]MemberView, len(ms))
		for i := range ms {
			m := &ms[i]
			v := MemberView{Member: m, Chats: make([]ChatState, len(s.rules.Chats))}
			for j, c := range s.rules.Chats {
				row := ChatState{MemberID: m.ID, ChatKey: c.Key}
				for _, r := range rows {
					if r.MemberID == m.ID && r.ChatKey == c.Key {
						row = r
					}
				}
				ov := gate.OverrideNone
				for _, o := range ors {
					if o.MemberID == m.ID && o.ChatKey == c.Key {
						ov = gate.Override(o.Mode)
					}
				}
				v.Chats[j] = s.explain(m, row, ov, now)
			}
			page.Members[i] = v
		}
		return nil
	})
	return page, err
}

// escapeLike escapes LIKE's wildcards with '!'.
func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// Overrides returns a member's manual decisions by chat key.
func (s *Store) Overrides(ctx context.Context, id string) (map[string]gate.Override, error) {
	var ors []OverrideRow
	err := s.db.read.WithContext(ctx).Table("overrides AS o").Select("o.*").
		Joins("JOIN members AS m ON m.id = o.member_id").Where("m.external_id = ?", id).Find(&ors).Error
	if err != nil {
		return nil, fmt.Errorf("load overrides: %w", err)
	}
	out := make(map[string]gate.Override, len(ors))
	for _, o := range ors {
		out[o.ChatKey] = gate.Override(o.Mode)
	}
	return out, nil
}

// PlannedRemovals returns up to limit removals waiting or running in the
// outbox, oldest first, in one chat or (with chat empty) in all, and how
// many there are in all.
func (s *Store) PlannedRemovals(ctx context.Context, chat string, limit int) ([]Action, int64, error) {
	if limit <= 0 {
		limit = 100
	}
	q := func() *gorm.DB {
		q := s.db.read.WithContext(ctx).Model(&Action{}).
			Where("kind = ? AND status IN ?", string(gate.ActionRemove), []string{ActionHeld, ActionPending, ActionRunning})
		if chat != "" {
			q = q.Where("chat_key = ?", chat)
		}
		return q
	}
	var total int64
	if err := q().Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count planned removals: %w", err)
	}
	var out []Action
	if err := q().Order("id").Limit(limit).Find(&out).Error; err != nil {
		return nil, 0, fmt.Errorf("list planned removals: %w", err)
	}
	return out, total, nil
}

// Timeline is a grid of N equal steps starting at From, for the charts.
type Timeline struct {
	From time.Time
	Step time.Duration // at least a second
	N    int
}

// End is where the last step ends.
func (t Timeline) End() time.Time { return t.From.Add(time.Duration(t.N) * t.Step) }

// bucket is the SQL for the step of the timeline col falls in (0 for the
// first; N and beyond for times after the grid), with its parameters.
// Times are stored in UTC on both databases.
func (s *Store) bucket(col string, t Timeline) (string, []any) {
	step := int64(max(t.Step, time.Second) / time.Second)
	if s.db.dialect == MySQL {
		return "TIMESTAMPDIFF(SECOND, ?, " + col + ") DIV ?", []any{t.From.UTC(), step}
	}
	return "(CAST(strftime('%s', " + col + ") AS INTEGER) - ?) / ?", []any{t.From.UTC().Unix(), step}
}

type bucketCount struct {
	B int64
	K string
	N int64
}

// countBuckets counts the rows of q per step of t (rows at or after t.From)
// and per the key expression key.
func (s *Store) countBuckets(q *gorm.DB, col, key string, t Timeline) ([]bucketCount, error) {
	expr, args := s.bucket(col, t)
	var out []bucketCount
	err := q.Select(expr+" AS b, "+key+" AS k, COUNT(*) AS n", args...).
		Where(col+" >= ?", t.From.UTC()).Group("b, k").Scan(&out).Error
	return out, err
}

// MembersOverTime returns, per chat key, how many members were in the chat
// at the end of each step of t. It starts from how many Telegram says are
// in each chat now and walks back through the audit trail: a join seen
// (membership.changed "Telegram: joined") adds one, a leave seen or a
// removal carried out (action.done of a remove) takes one away. Two
// queries.
func (s *Store) MembersOverTime(ctx context.Context, t Timeline) (map[string][]int64, error) {
	tx := s.db.read.WithContext(ctx)
	var now []struct {
		ChatKey string
		N       int64
	}
	if err := tx.Model(&ChatState{}).Select("chat_key, COUNT(*) AS n").Where("in_chat = ?", true).
		Group("chat_key").Scan(&now).Error; err != nil {
		return nil, fmt.Errorf("count members in chats: %w", err)
	}
	// The texts are those RecordMembership, SetInChat and CompleteAction
	// write.
	key := "chat_key || CASE WHEN kind = 'membership.changed' AND detail = 'Telegram: joined' THEN '+' ELSE '-' END"
	if s.db.dialect == MySQL {
		key = "CONCAT(chat_key, CASE WHEN kind = 'membership.changed' AND detail = 'Telegram: joined' THEN '+' ELSE '-' END)"
	}
	q := tx.Model(&Event{}).Where("chat_key IS NOT NULL").
		Where("(kind = ? AND detail IN ?) OR (kind = ? AND detail LIKE ?)",
			EventMembership, []string{"Telegram: joined", "Telegram: left"}, EventActionDone, string(gate.ActionRemove)+" done%")
	rows, err := s.countBuckets(q, "at", key, t)
	if err != nil {
		return nil, fmt.Errorf("count joins and leaves: %w", err)
	}
	out := make(map[string][]int64, len(s.rules.Chats))
	for _, c := range s.rules.Chats {
		cur := int64(0)
		for _, n := range now {
			if n.ChatKey == c.Key {
				cur = n.N
			}
		}
		// delta[i] is the change during step i; the last slot gathers
		// whatever happened after the grid.
		delta := make([]int64, t.N+1)
		for _, r := range rows {
			chat, sign := r.K[:len(r.K)-1], r.K[len(r.K)-1]
			if chat != c.Key || r.B < 0 {
				continue
			}
			d := r.N
			if sign == '-' {
				d = -d
			}
			delta[min(r.B, int64(t.N))] += d
		}
		series := make([]int64, t.N)
		level := cur - delta[t.N]
		for i := t.N - 1; i >= 0; i-- {
			series[i] = max(level, 0)
			level -= delta[i]
		}
		out[c.Key] = series
	}
	return out, nil
}

// ActionsOverTime returns, per action kind, how many actions were carried
// out in each step of t, and how many failed for good (under the key
// "failed"). One query.
func (s *Store) ActionsOverTime(ctx context.Context, t Timeline) (map[string][]int64, error) {
	key := "CASE WHEN status = '" + ActionFailed + "' THEN 'failed' ELSE kind END"
	q := s.db.read.WithContext(ctx).Model(&Action{}).Where("status IN ?", []string{ActionDone, ActionFailed})
	rows, err := s.countBuckets(q, "updated_at", key, t)
	if err != nil {
		return nil, fmt.Errorf("count actions per step: %w", err)
	}
	out := map[string][]int64{}
	for _, r := range rows {
		if r.B < 0 || r.B >= int64(t.N) {
			continue
		}
		if out[r.K] == nil {
			out[r.K] = make([]int64, t.N)
		}
		out[r.K][r.B] += r.N
	}
	return out, nil
}

// OutboxOverTime returns how many actions were waiting or running at the
// end of each step of t: the outbox's depth now, walked back through when
// actions were queued and when they settled. Three queries.
func (s *Store) OutboxOverTime(ctx context.Context, t Timeline) ([]int64, error) {
	tx := s.db.read.WithContext(ctx)
	var depth int64
	if err := tx.Model(&Action{}).Where("status IN ?", []string{ActionPending, ActionRunning}).Count(&depth).Error; err != nil {
		return nil, fmt.Errorf("count waiting actions: %w", err)
	}
	queued, err := s.countBuckets(tx.Model(&Action{}), "created_at", "'q'", t)
	if err != nil {
		return nil, fmt.Errorf("count queued actions: %w", err)
	}
	settled, err := s.countBuckets(tx.Model(&Action{}).Where("status IN ?", []string{ActionDone, ActionFailed, ActionCancelled}),
		"updated_at", "'s'", t)
	if err != nil {
		return nil, fmt.Errorf("count settled actions: %w", err)
	}
	delta := make([]int64, t.N+1)
	for _, r := range queued {
		if r.B >= 0 {
			delta[min(r.B, int64(t.N))] += r.N
		}
	}
	for _, r := range settled {
		if r.B >= 0 {
			delta[min(r.B, int64(t.N))] -= r.N
		}
	}
	out := make([]int64, t.N)
	level := depth - delta[t.N]
	for i := t.N - 1; i >= 0; i-- {
		out[i] = max(level, 0)
		level -= delta[i]
	}
	return out, nil
}
