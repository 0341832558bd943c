package models

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Group commit: single-member writes that arrive together share one
// transaction, so that a commit (the disk's flush, the round trips of a
// transaction) is paid once for many of them. Each caller still returns
// only after the shared commit, with its own outcome: a decision is
// durable before its caller answers.
//
// A batch takes the writes queued within Window of the first, at most Max
// of them and at most one per member (a second write of a member waits for
// the next batch: within one transaction it would plan from states its
// first write has not written yet). One batch runs at a time, its members
// locked in the order of their ids, so batches never deadlock each other.
// A write whose own input fails (a member not found, a karma overflow)
// gets its error and the others commit in the same transaction. A write
// that breaks the transaction is taken out and the others re-run without
// it in a fresh one. When the failure cannot be pinned on one write (a
// batched statement, the flush or the commit failed, or a conflict the
// store's retries did not resolve), each write runs alone, as without
// group commit: the one at fault fails with its own error.

// GroupOptions configures a GroupCommit; the zero value works.
type GroupOptions struct {
	// Window is how long a batch waits for more writes after its first
	// (2 ms by default).
	Window time.Duration
	// Max bounds the writes of one batch (64 by default).
	Max int
}

// Defaults of GroupOptions.
const (
	DefaultGroupWindow = 2 * time.Millisecond
	DefaultGroupMax    = 64
)

// GroupCommit batches PutMember and AddKarma calls into shared
// transactions. Its worker goroutine runs while writes are queued and
// ends when the queue is empty; a GroupCommit needs no closing.
type GroupCommit struct {
	s      *Store
	window time.Duration
	max    int

	mu      sync.Mutex
	queue   []*groupOp
	running bool
	// batched is called with the size of each batch committed (tests).
	batched func(n int)
	// fail, when set, fails a batch's transaction on the write of the
	// member it returns an error for (tests).
	fail func(member string) error
}

// NewGroupCommit returns a group commit over s.
func NewGroupCommit(s *Store, opts GroupOptions) *GroupCommit {
	if opts.Window <= 0 {
		opts.Window = DefaultGroupWindow
	}
	if opts.Max <= 0 {
		opts.Max = DefaultGroupMax
	}
	return &GroupCommit{s: s, window: opts.Window, max: opts.Max}
}

// groupOp is one caller's write: a PutMember (put set) or an AddKarma.
type groupOp struct {
	ctx    context.Context
	member string // external id
	actor  string
	put    *MemberInput
	delta  int64

	view *MemberView
	res  PutResult // a PutMember's counts
	err  error     // the write's own failure (the batch commits without it)
	done chan struct{}
}

// PutMember creates or replaces one member, as Store.PutMember, in a
// shared transaction. in must be normalized.
func (g *GroupCommit) PutMember(ctx context.Context, in MemberInput, actor string) (PutResult, error) {
	op := &groupOp{ctx: ctx, member: in.ID, actor: actor, put: &in}
	if err := g.submit(op); err != nil {
		return PutResult{}, err
	}
	res := op.res
	res.View = op.view
	return res, nil
}

// AddKarma changes a member's karma by delta, as Store.AddKarma, in a
// shared transaction.
func (g *GroupCommit) AddKarma(ctx context.Context, id string, delta int64, actor string) (*MemberView, error) {
	op := &groupOp{ctx: ctx, member: id, actor: actor, delta: delta}
	if err := g.submit(op); err != nil {
		return nil, err
	}
	return op.view, nil
}

// submit queues op and waits until its batch committed (or op failed).
func (g *GroupCommit) submit(op *groupOp) error {
	op.done = make(chan struct{})
	g.mu.Lock()
	g.queue = append(g.queue, op)
	if !g.running {
		g.running = true
		go g.loop()
	}
	g.mu.Unlock()
	// Once its batch started, a write runs to its end whatever the caller
	// does: the batch decides its outcome, and the caller learns it.
	<-op.done
	return op.err
}

// loop runs batches while writes are queued. A batch waits the window
// for company only when the queue was empty as the last batch ended: what
// queued while a batch ran has waited already.
func (g *GroupCommit) loop() {
	wait := true
	for {
		if wait {
			time.Sleep(g.window)
		}
		g.mu.Lock()
		batch := g.take()
		if len(batch) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.run(batch)
		g.mu.Lock()
		wait = len(g.queue) == 0
		g.mu.Unlock()
	}
}

// take removes from the queue the next batch: at most max writes, one per
// member, skipping writes whose caller gave up before they started.
// g.mu is held.
func (g *GroupCommit) take() []*groupOp {
	var batch, rest []*groupOp
	seen := map[string]bool{}
	for _, op := range g.queue {
		switch {
		case op.ctx.Err() != nil:
			op.err = fmt.Errorf("%w: the caller gave up before the write started (%v)", ErrBusy, op.ctx.Err())
			close(op.done)
		case len(batch) < g.max && !seen[op.member]:
			seen[op.member] = true
			batch = append(batch, op)
		default:
			rest = append(rest, op)
		}
	}
	g.queue = rest
	return batch
}

// run commits batch, taking out the writes that fail, and answers each.
// A panic fails the writes not yet answered (a handler's panic would have
// failed its own request) instead of ending the process.
func (g *GroupCommit) run(batch []*groupOp) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		g.s.log.Error("group commit: a batch panicked", "panic", r, "stack", string(debug.Stack()))
		for _, op := range batch {
			select {
			case <-op.done:
			default:
				op.err = fmt.Errorf("group commit: the batch failed: %v", r)
				close(op.done)
			}
		}
	}()
	slices.SortFunc(batch, func(a, b *groupOp) int { return strings.Compare(a.member, b.member) })
	for len(batch) > 0 {
		failed, err := g.commit(batch)
		if err == nil {
			if g.batched != nil {
				g.batched(len(batch))
			}
			for _, op := range batch {
				close(op.done)
			}
			return
		}
		if failed < 0 {
			// Not one write's failure: each runs alone.
			for _, op := range batch {
				if len(batch) > 1 {
					_, err = g.commit([]*groupOp{op})
				}
				if err != nil {
					op.err = err
				}
				close(op.done)
			}
			return
		}
		op := batch[failed]
		op.err = err
		close(op.done)
		batch = slices.Delete(batch, failed, failed+1)
	}
}

// commit runs batch's writes in one transaction. A write whose own input
// fails (a member not found, a karma out of range) gets its error and the
// others commit. When the transaction fails, commit returns the index of
// the write it failed on, or -1 when the failure is the batch's (a batched
// statement, the flush, the commit).
func (g *GroupCommit) commit(batch []*groupOp) (int, error) {
	failed := -1
	ctx, cancel := batchContext(batch)
	defer cancel()
	err := g.s.inTx(ctx, func(tx *gorm.DB) error {
		failed = -1
		for _, op := range batch {
			op.err, op.view, op.res = nil, nil, PutResult{}
		}
		all := g.s.newPlanner(tx, batch[0].actor)
		// Writes of one kind and one actor run together: one statement
		// for all their rows where the store batches.
		type key struct {
			put   bool
			actor string
		}
		var order []key
		groups := map[key][]*groupOp{}
		for _, op := range batch {
			k := key{op.put != nil, op.actor}
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], op)
		}
		for _, k := range order {
			p := g.s.newPlanner(tx, k.actor)
			p.now = all.now
			p.keep = true
			var err error
			if k.put {
				err = g.s.putGroup(p, groups[k])
			} else {
				err = g.s.karmaGroup(p, groups[k])
			}
			if err != nil {
				return err
			}
			all.merge(p)
		}
		if err := g.s.joinLinks(tx, batch); err != nil {
			return err
		}
		if g.fail != nil {
			for i, op := range batch {
				if err := g.fail(op.member); err != nil {
					failed = i
					return err
				}
			}
		}
		return all.flush()
	})
	if err == nil {
		return -1, nil
	}
	return failed, err
}

// putGroup puts the members of ops with p, in the store's batched
// statements, and fills in each op's view and counts.
func (s *Store) putGroup(p *planner, ops []*groupOp) error {
	ins := make([]MemberInput, len(ops))
	for i, op := range ops {
		ins[i] = *op.put
	}
	p.byExt, p.createdExt = map[string]*Member{}, map[string]bool{}
	var res PutResult
	if err := s.putChunk(p, ins, &res); err != nil {
		return err
	}
	for _, op := range ops {
		m := p.byExt[op.member]
		chats := p.final[m.ID]
		switch {
		case p.createdExt[op.member]:
			op.res.Created = 1
		case chats != nil:
			op.res.Updated = 1
		default: // unchanged: read the states
			op.res.Unchanged = 1
			var err error
			if chats, err = s.memberStates(p.tx, m); err != nil {
				return err
			}
		}
		for _, a := range p.actions {
			if a.MemberID == m.ID {
				op.res.Actions++
			}
		}
		op.view = &MemberView{Member: m, Chats: chats}
	}
	return nil
}

// karmaGroup changes the karma of the members of ops with p: their rows
// locked in one statement, changed in one, re-planned together. A member
// not found or a karma out of range fails its op alone.
func (s *Store) karmaGroup(p *planner, ops []*groupOp) error {
	exts := make([]string, len(ops))
	for i, op := range ops {
		exts[i] = op.member
	}
	var ms []Member
	cond, arg := s.in("external_id", exts)
	if err := p.tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where(cond, arg).Order("id").Find(&ms).Error; err != nil {
		return fmt.Errorf("load members: %w", err)
	}
	byExt := make(map[string]*Member, len(ms))
	for i := range ms {
		byExt[ms[i].ExternalID] = &ms[i]
	}
	var rows [][]any
	planned := make([]*Member, 0, len(ops))
	for _, op := range ops {
		m := byExt[op.member]
		if m == nil {
			op.err = fmt.Errorf("member %q: %w", op.member, ErrNotFound)
			continue
		}
		next := m.Karma + op.delta
		if (op.delta > 0 && next < m.Karma) || (op.delta < 0 && next > m.Karma) {
			op.err = inputErrorf("delta", "karma %d %+d is outside the range %d to %d", m.Karma, op.delta, int64(math.MinInt64), int64(math.MaxInt64))
			continue
		}
		if op.delta != 0 {
			rows = append(rows, []any{m.ID, next, p.now})
			p.event(EventKarmaChanged, m, "", fmt.Sprintf("karma %d → %d (delta %+d)", m.Karma, next, op.delta))
			m.Karma, m.UpdatedAt = next, p.now
		}
		planned = append(planned, m)
	}
	if err := s.updateRows(p.tx, "members", []string{"id"}, []string{"karma", "updated_at"}, rows); err != nil {
		return fmt.Errorf("update karma: %w", err)
	}
	if err := p.plan(planned, false); err != nil {
		return err
	}
	for _, op := range ops {
		if m := byExt[op.member]; op.err == nil {
			op.view = &MemberView{Member: m, Chats: p.final[m.ID]}
		}
	}
	return nil
}

// batchContext is the context a batch's transaction runs in: not
// cancelled by any one caller, bounded by the latest of their deadlines.
func batchContext(batch []*groupOp) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, op := range batch {
		d, ok := op.ctx.Deadline()
		if !ok {
			return context.WithoutCancel(op.ctx), func() {}
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(batch[0].ctx), latest)
}

// merge takes what q collected into p, to be flushed with p's.
func (p *planner) merge(q *planner) {
	p.states = append(p.states, q.states...)
	p.changed = append(p.changed, q.changed...)
	p.actions = append(p.actions, q.actions...)
	p.events = append(p.events, q.events...)
	p.callbacks = append(p.callbacks, q.callbacks...)
	p.cancel = append(p.cancel, q.cancel...)
}

// joinLinks fills in the join links of the views of batch, read once for
// the batch: each bound chat's join-request link, or the member's personal
// link where the chat gave them one.
func (s *Store) joinLinks(tx *gorm.DB, batch []*groupOp) error {
	var chats []ChatRow
	if err := tx.Find(&chats).Error; err != nil {
		return fmt.Errorf("load chats: %w", err)
	}
	ids := make([]int64, 0, len(batch))
	for _, op := range batch {
		if op.view != nil {
			ids = append(ids, op.view.Member.ID)
		}
	}
	var own []MemberLink
	if len(ids) > 0 {
		cond, arg := s.in("member_id", ids)
		if err := tx.Where(cond, arg).Find(&own).Error; err != nil {
			return fmt.Errorf("load member links: %w", err)
		}
	}
	for _, op := range batch {
		if op.view == nil {
			continue
		}
		links := map[string]string{}
		for _, c := range chats {
			if c.TgChatID != nil && c.JoinLink != nil {
				links[c.ChatKey] = *c.JoinLink
			}
		}
		for _, l := range own {
			if _, bound := links[l.ChatKey]; bound && l.MemberID == op.view.Member.ID {
				links[l.ChatKey] = l.Link
			}
		}
		op.view.JoinLinks = links
	}
	return nil
}
