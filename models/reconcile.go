package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/karmagate/karmagate/gate"
)

// Audit trail kinds of reconciling.
const (
	// EventReconciled is a full reconcile pass: what it found and queued.
	EventReconciled = "reconcile.pass"
	// EventAudited is a chat's participant list recorded: what it found
	// and queued (Audit.String).
	EventAudited = "chat.audited"
)

// auditFormat is how Audit.String writes an audit for the audit trail.
const auditFormat = "%d participants, %d admins: %d found inside, %d gone, %d strangers; queued %d invites, %d uninvites, %d warnings, %d removals, %d flags, %d other"

// String says what an audit found and queued.
func (a Audit) String() string {
	q := a.Queued
	return fmt.Sprintf(auditFormat, a.Present, a.Admins, a.Joined, a.Left, a.Strangers, q.Invites, q.Uninvites, q.Warnings, q.Removals, q.Flags, q.Other)
}

// auditRow is an audit's outcome as fields, written with its chat.audited
// event (migration 0013).
type auditRow struct {
	ID        int64 `gorm:"primaryKey"`
	EventID   int64
	At        time.Time
	ChatKey   string
	Present   int
	Admins    int
	Joined    int
	Gone      int
	Strangers int
	Invites   int
	Uninvites int
	Warnings  int
	Removals  int
	Flags     int
	Other     int
}

func (auditRow) TableName() string { return "audits" }

func newAuditRow(eventID int64, at time.Time, key string, a Audit) auditRow {
	q := a.Queued
	return auditRow{EventID: eventID, At: at, ChatKey: key, Present: a.Present, Admins: a.Admins, Joined: a.Joined,
		Gone: a.Left, Strangers: a.Strangers, Invites: q.Invites, Uninvites: q.Uninvites, Warnings: q.Warnings,
		Removals: q.Removals, Flags: q.Flags, Other: q.Other}
}

func (r auditRow) audit() Audit {
	return Audit{Present: r.Present, Admins: r.Admins, Joined: r.Joined, Left: r.Gone, Strangers: r.Strangers,
		Queued: Queued{Invites: r.Invites, Uninvites: r.Uninvites, Warnings: r.Warnings, Removals: r.Removals, Flags: r.Flags, Other: r.Other}}
}

// recordAudit writes an audit's chat.audited event and its outcome's
// fields in tx.
func recordAudit(tx *gorm.DB, at time.Time, actor, key string, a Audit) error {
	ev := &Event{At: at, Actor: actor, Kind: EventAudited, ChatKey: &key, Detail: a.String()}
	if err := tx.Create(ev).Error; err != nil {
		return fmt.Errorf("record audit event: %w", err)
	}
	row := newAuditRow(ev.ID, at, key, a)
	if err := tx.Create(&row).Error; err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	return nil
}

// AuditResults returns, for the chats given, the outcome of the last audit
// recorded at or after since, and how many of their audit actions
// (kind audit) are still waiting or running: a reconcile pass that queued
// audits for another instance waits on it.
func (s *Store) AuditResults(ctx context.Context, chats []string, since time.Time) (map[string]Audit, int, error) {
	out := map[string]Audit{}
	if len(chats) == 0 {
		return out, 0, nil
	}
	g := s.db.read.WithContext(ctx)
	var open int64
	if err := g.Model(&Action{}).Where("kind = ? AND member_id = 0 AND chat_key IN ? AND status IN ?", "audit", chats, []string{ActionPending, ActionRunning}).
		Count(&open).Error; err != nil {
		return nil, 0, fmt.Errorf("count open audits: %w", err)
	}
	var rows []auditRow
	if err := g.Where("chat_key IN ? AND at >= ?", chats, since.UTC().Truncate(time.Microsecond)).Order("id").Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("read audits: %w", err)
	}
	for _, r := range rows {
		out[r.ChatKey] = r.audit()
	}
	return out, int(open), nil
}

// Replan says what re-planning every member did.
type Replan struct {
	Members int    // members looked at
	Changed int    // members whose plan changed: re-planned, states and actions written
	Queued  Queued // the actions the re-plan queued
}

// Queued counts queued actions by kind.
type Queued struct {
	Invites   int // gate.ActionInvite
	Uninvites int // gate.ActionUninvite
	Warnings  int // gate.ActionWarn
	Removals  int // gate.ActionRemove
	Flags     int // gate.ActionFlag
	Other     int // any other kind (callbacks, notices)
}

// Add adds o's counts to q.
func (q *Queued) Add(o Queued) {
	q.Invites += o.Invites
	q.Uninvites += o.Uninvites
	q.Warnings += o.Warnings
	q.Removals += o.Removals
	q.Flags += o.Flags
	q.Other += o.Other
}

// Total is the number of actions counted.
func (q Queued) Total() int {
	return q.Invites + q.Uninvites + q.Warnings + q.Removals + q.Flags + q.Other
}

func (q *Queued) add(kind string, n int) {
	switch gate.ActionKind(kind) {
	case gate.ActionInvite:
		q.Invites += n
	case gate.ActionUninvite:
		q.Uninvites += n
	case gate.ActionWarn:
		q.Warnings += n
	case gate.ActionRemove:
		q.Removals += n
	case gate.ActionFlag:
		q.Flags += n
	default:
		q.Other += n
	}
}

// replanChunk is how many changed members one transaction re-plans.
const replanChunk = readChunk

// ReplanEvery re-plans every member against the rules: grace periods that
// ended, rules that changed, anything a lost update left behind.
//
// It reads members, their chat states and their overrides in three
// streamed queries (no locks; one pass over each table in member id
// order), plans each member in memory and keeps only those whose plan
// changes. Those are re-planned again under their row locks, in
// transactions of replanChunk members (on MariaDB/MySQL replanWorkers of
// them at once), by the same planner every other change goes through: a
// member changed by someone else meanwhile is planned from what is
// current. So a pass over members whose plan holds
// costs three statements, whatever their number; the statements of the
// writes grow with the members that change, not with all of them.
func (s *Store) ReplanEvery(ctx context.Context, actor string) (Replan, error) {
	var out Replan
	changed, n, err := s.diffAll(ctx)
	out.Members = n
	if err != nil {
		return out, err
	}
	var parts [][]int64
	for lo := 0; lo < len(changed); lo += replanChunk {
		parts = append(parts, changed[lo:min(lo+replanChunk, len(changed))])
	}
	workers := 1
	if s.db.dialect == MySQL {
		workers = replanWorkers
	}
	var (
		mu        sync.Mutex
		next      int
		failed    error
		perMember = 1.0 // decisions a changed member made, in the last chunk done
		wg        sync.WaitGroup
	)
	for range min(workers, len(parts)) {
		wg.Go(func() {
			for {
				mu.Lock()
				if failed != nil || next == len(parts) {
					mu.Unlock()
					return
				}
				part := parts[next]
				next++
				expect := int(perMember * float64(len(part)) * 1.1)
				mu.Unlock()
				q, decisions, err := s.replanIDsCounted(ctx, part, actor, expect)
				mu.Lock()
				if err != nil {
					if failed == nil {
						failed = err
					}
				} else {
					perMember = float64(decisions) / float64(len(part))
					out.Queued.Add(q)
					out.Changed += len(part)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, failed
}

// replanWorkers is how many transactions re-plan chunks of members at once
// on MariaDB/MySQL: the chunks are disjoint sets of members, locked in
// their own transactions, and while the server writes one chunk the next
// is read, planned and encoded, on another of its threads. SQLite has one
// writer: one transaction at a time.
const replanWorkers = 2

// diffAll plans every member from a streamed read and returns the ids of
// those whose plan would change, and how many members it read.
func (s *Store) diffAll(ctx context.Context) ([]int64, int, error) {
	g := s.db.read.WithContext(ctx)
	members, err := g.Raw("SELECT id, karma, group_list, tg_user_id IS NOT NULL FROM members ORDER BY id").Rows()
	if err != nil {
		return nil, 0, fmt.Errorf("read members: %w", err)
	}
	defer members.Close()
	states, err := g.Raw("SELECT member_id, chat_key, state, in_chat, grace_until FROM chat_states ORDER BY member_id").Rows()
	if err != nil {
		return nil, 0, fmt.Errorf("read chat states: %w", err)
	}
	defer states.Close()
	ovs, err := g.Raw("SELECT member_id, chat_key, mode FROM overrides ORDER BY member_id").Rows()
	if err != nil {
		return nil, 0, fmt.Errorf("read overrides: %w", err)
	}
	defer ovs.Close()

	st := newCursor(states, func(r *sql.Rows, row *streamRow) error {
		var grace sql.NullTime
		if err := r.Scan(&row.member, &row.chat, &row.state, &row.inChat, &grace); err != nil {
			return err
		}
		row.grace = time.Time{}
		if grace.Valid {
			row.grace = grace.Time.UTC()
		}
		return nil
	})
	ov := newCursor(ovs, func(r *sql.Rows, row *streamRow) error {
		return r.Scan(&row.member, &row.chat, &row.state)
	})

	chats := s.rules.Chats
	cur := make([]gate.Status, len(chats))
	ovr := make([]gate.Override, len(chats))
	var buf []gate.Change
	var changed []int64
	now := s.clock()
	n := 0
	for members.Next() {
		var (
			id     int64
			karma  int64
			groups string
			linked bool
		)
		if err := members.Scan(&id, &karma, &groups, &linked); err != nil {
			return nil, n, fmt.Errorf("read members: %w", err)
		}
		n++
		clear(cur)
		clear(ovr)
		err := st.each(id, func(r *streamRow) {
			if c, i := s.chatIndex(r.chat); c != nil {
				cur[i] = gate.Status{State: gate.State(r.state), InChat: r.inChat, GraceUntil: r.grace}
			}
		})
		if err != nil {
			return nil, n, fmt.Errorf("read chat states: %w", err)
		}
		err = ov.each(id, func(r *streamRow) {
			if c, i := s.chatIndex(r.chat); c != nil {
				ovr[i] = gate.Override(r.state)
			}
		})
		if err != nil {
			return nil, n, fmt.Errorf("read overrides: %w", err)
		}
		var gs []string
		if groups != "" {
			gs = strings.Split(groups, ",")
		} else {
			gs = []string{}
		}
		buf = s.rules.PlanMember(gate.Member{Karma: karma, Groups: gs, Linked: linked}, cur, ovr, now, buf[:0])
		if len(buf) > 0 {
			changed = append(changed, id)
		}
	}
	if err := members.Err(); err != nil {
		return nil, n, fmt.Errorf("read members: %w", err)
	}
	return changed, n, nil
}

// streamRow is one row of chat_states or overrides (mode in state).
type streamRow struct {
	member int64
	chat   string
	state  string
	inChat bool
	grace  time.Time
}

// cursor walks rows ordered by member id alongside the members.
type cursor struct {
	rows *sql.Rows
	scan func(*sql.Rows, *streamRow) error
	row  streamRow
	have bool // row holds a read row not handed out yet
	done bool
}

func newCursor(rows *sql.Rows, scan func(*sql.Rows, *streamRow) error) *cursor {
	return &cursor{rows: rows, scan: scan}
}

// each calls fn for every row of member id, skipping rows of smaller ids
// (members deleted since the members were read).
func (c *cursor) each(id int64, fn func(*streamRow)) error {
	for {
		if !c.have {
			if c.done || !c.rows.Next() {
				c.done = true
				return c.rows.Err()
			}
			if err := c.scan(c.rows, &c.row); err != nil {
				return err
			}
			c.have = true
		}
		switch {
		case c.row.member < id:
			c.have = false
		case c.row.member == id:
			fn(&c.row)
			c.have = false
		default:
			return nil
		}
	}
}

// replanIDsCounted re-plans members by row id in one transaction and
// returns the actions it queued and the decisions it wrote (states
// changed); room is made for about expect of them.
func (s *Store) replanIDsCounted(ctx context.Context, ids []int64, actor string, expect int) (Queued, int, error) {
	var queued Queued
	var decisions int
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var ms []Member
		cond, arg := s.in("id", ids)
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where(cond, arg).Order("id").Find(&ms).Error; err != nil {
			return fmt.Errorf("load members: %w", err)
		}
		ptrs := make([]*Member, len(ms))
		for i := range ms {
			ptrs[i] = &ms[i]
		}
		p := s.newPlanner(tx, actor)
		p.reserve(expect)
		if err := p.plan(ptrs, false); err != nil {
			return err
		}
		if err := p.flush(); err != nil {
			return err
		}
		queued = p.queued()
		decisions = len(p.states) + len(p.changed)
		return nil
	})
	return queued, decisions, err
}

// queued counts the actions the planner wrote (after flush).
func (p *planner) queued() Queued {
	var out Queued
	for _, a := range p.actions {
		out.add(a.Kind, 1)
	}
	return out
}

// RecordReconcile writes the audit event of a reconcile pass.
func (s *Store) RecordReconcile(ctx context.Context, actor, detail string) error {
	return s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&Event{At: s.clock(), Actor: actor, Kind: EventReconciled, Detail: Truncate(detail, 1000)}).Error; err != nil {
			return fmt.Errorf("record reconcile pass: %w", err)
		}
		return nil
	})
}

// metaReconcileLast is the meta key of when the last scheduled pass
// started (unix ns); the pass's lease is lease.Leases' (worker.ReconcileLease).
const metaReconcileLast = "reconcile_last"

// MarkReconciled records that a scheduled pass, started at started (the
// database's clock), is over: the next is due Every after it. Under the
// pass's lease (lease.WithFence on ctx) it is refused once another
// instance took the lease, whose pass then counts.
func (s *Store) MarkReconciled(ctx context.Context, started time.Time) error {
	return s.inTx(ctx, func(tx *gorm.DB) error {
		row := metaRow{K: metaReconcileLast, V: fmt.Sprint(started.UTC().UnixNano())}
		err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "k"}}, DoUpdates: clause.AssignmentColumns([]string{"v"})}).Create(&row).Error
		if err != nil {
			return fmt.Errorf("record reconcile pass: %w", err)
		}
		return nil
	})
}

// LastReconcile returns when the last scheduled pass started (zero when
// none ran).
func (s *Store) LastReconcile(ctx context.Context) (time.Time, error) {
	var row metaRow
	err := s.db.read.WithContext(ctx).Where("k = ?", metaReconcileLast).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read last reconcile: %w", err)
	}
	return parseNanos(row.V), nil
}

func parseNanos(v string) time.Time {
	var ns int64
	if _, err := fmt.Sscan(v, &ns); err != nil || ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
