package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
	"github.com/karmagate/karmagate/worker"
)

// loseFirst wraps an executor so that the first attempt of each action
// that does its work in Telegram then loses the outcome, as a crash or an
// answer that never came would: the worker sees an error and retries.
// hold, when set, runs between the effect and the lost outcome.
type loseFirst struct {
	inner worker.Executor
	hold  func(a *models.Action)
	mu    sync.Mutex
	lost  map[int64]bool
}

func (l *loseFirst) Execute(ctx context.Context, a *models.Action) error {
	err := l.inner.Execute(ctx, a)
	if err != nil {
		return err // no work done (handed back for the person's turn, say): not the attempt to lose
	}
	l.mu.Lock()
	first := !l.lost[a.ID]
	l.lost[a.ID] = true
	l.mu.Unlock()
	if !first {
		return nil
	}
	if l.hold != nil {
		l.hold(a)
	}
	return errors.New("the answer was lost after the call")
}

// callsFor counts successful and failed Bot API calls of method about user.
func callsFor(calls []world.Call, method string, user int64) (ok, failed int) {
	for _, c := range calls {
		p, _ := c.Params.(map[string]string)
		if c.API != "bot" || c.Method != method || p["user_id"] != strconv.FormatInt(user, 10) {
			continue
		}
		if c.Error == "" && c.Fault == "" {
			ok++
		} else {
			failed++
		}
	}
	return ok, failed
}

// TestBot_RetryChecksFirst: an invite or a removal on its second attempt
// (the first did its work, then its outcome was lost) asks Telegram
// whether the effect is there (getChatMember) and completes without doing
// it again.
func TestBot_RetryChecksFirst(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		joined := make(chan struct{})
		var invite, remove *loseFirst
		h := newHarness(t, spec, harnessOptions{executors: func(ex map[string]worker.Executor) {
			// The invite's first attempt sends the link and loses its
			// outcome; the member uses the link before the retry.
			invite = &loseFirst{inner: ex[string(gate.ActionInvite)], lost: map[int64]bool{}, hold: func(*models.Action) { <-joined }}
			remove = &loseFirst{inner: ex[string(gate.ActionRemove)], lost: map[int64]bool{}}
			ex[string(gate.ActionInvite)], ex[string(gate.ActionRemove)] = invite, remove
		}})
		owner := h.person("Owner", "owner_tg")
		chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
		h.put("alice", 150, "webmasters")
		p := h.person("Alice", "alice_tg")
		h.link("alice", p)
		h.eventually("the invite's first attempt", func() bool {
			invite.mu.Lock()
			defer invite.mu.Unlock()
			return len(invite.lost) == 1
		})
		if _, err := h.sb.Join(p.ID, h.joinLink("webmasters-pro")); err != nil {
			t.Fatal(err)
		}
		h.eventually("alice in", func() bool { return h.inChat(chat.BotAPIID())[p.ID] })
		// Telegram's chat_member update recorded first: a new decision
		// would cancel the invite's retry rather than let it look.
		h.eventually("alice recorded in the chat", func() bool { return h.state("alice", "webmasters-pro").InChat })
		close(joined)
		h.eventually("the invite done on its second attempt", func() bool { return doneAfter(h, "alice", gate.ActionInvite) == 2 })
		// The first attempt found no request to approve; the join request
		// was approved by its handler; the retry looked and did nothing.
		approved, refused := callsFor(h.sb.Calls(), "approveChatJoinRequest", p.ID)
		if approved != 1 || refused != 1 {
			t.Errorf("approveChatJoinRequest for alice: %d succeeded, %d refused; want 1 and 1 (none from the retry)", approved, refused)
		}
		if got := h.received(p.ID); len(got) != 1 {
			t.Errorf("alice received %d messages, want 1 (linked, with the link): %q", len(got), got)
		}

		// The removal: banned and unbanned, outcome lost, retried.
		checksBefore, _ := callsFor(h.sb.Calls(), "getChatMember", p.ID)
		if _, err := h.store.AddKarma(h.ctx, "alice", -100, "test"); err != nil {
			t.Fatal(err)
		}
		h.pool.Wake()
		h.eventually("the removal done on its second attempt", func() bool { return doneAfter(h, "alice", gate.ActionRemove) == 2 })
		h.idle()
		calls := h.sb.Calls()
		if bans, _ := callsFor(calls, "banChatMember", p.ID); bans != 1 {
			t.Errorf("banChatMember succeeded %d times for alice, want 1", bans)
		}
		if checks, _ := callsFor(calls, "getChatMember", p.ID); checks-checksBefore != 2 {
			t.Errorf("getChatMember asked %d times during the removal, want 2 (each attempt looks first)", checks-checksBefore)
		}
		if h.inChat(chat.BotAPIID())[p.ID] {
			t.Error("alice is still in the chat")
		}
		if got := h.received(p.ID); len(got) != 2 {
			t.Errorf("alice received %d messages, want 2 (linked, removed once): %q", len(got), got)
		}
	})
}

// doneAfter is how many attempts alice's done action of kind took (0 while
// not done).
func doneAfter(h *harness, member string, kind gate.ActionKind) int {
	as, err := h.store.Actions(h.ctx, member)
	if err != nil {
		h.t.Fatal(fmt.Errorf("actions: %w", err))
	}
	for _, a := range as {
		if a.Kind == string(kind) && a.Status == models.ActionDone {
			return a.Attempts
		}
	}
	return 0
}

// diesAfterEffect wraps the removal executor: its first attempt of each
// action bans and unbans the person in Telegram (as the executor does) and
// then dies before the notice, as a process killed between the two would.
type diesAfterEffect struct {
	inner   worker.Executor
	effect  func(a *models.Action)
	mu      sync.Mutex
	crashed map[int64]bool
}

func (d *diesAfterEffect) Execute(ctx context.Context, a *models.Action) error {
	d.mu.Lock()
	first := !d.crashed[a.ID]
	d.crashed[a.ID] = true
	d.mu.Unlock()
	if first {
		d.effect(a)
		return errors.New("killed after the ban, before the notice")
	}
	return d.inner.Execute(ctx, a)
}

// TestBot_RetriedRemovalTellsOnce: the process that removed Alice died
// before it wrote her notice. The retry finds her out already, bans
// nobody, and tells her (no notice row existed: nothing had been
// attempted, so this is still at most once).
func TestBot_RetriedRemovalTellsOnce(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		var h *harness
		var chatID int64
		var owner, alice world.User
		remove := &diesAfterEffect{crashed: map[int64]bool{}, effect: func(*models.Action) {
			w := h.sb.World()
			if err := w.Ban(chatID, owner.ID, alice.ID, time.Time{}); err != nil {
				t.Errorf("ban: %v", err)
			}
			if err := w.Unban(chatID, owner.ID, alice.ID, true); err != nil {
				t.Errorf("unban: %v", err)
			}
		}}
		h = newHarness(t, spec, harnessOptions{executors: func(ex map[string]worker.Executor) {
			remove.inner = ex[string(gate.ActionRemove)]
			ex[string(gate.ActionRemove)] = remove
		}})
		owner = h.person("Owner", "owner_tg")
		chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
		chatID = chat.ID
		h.put("alice", 150, "webmasters")
		alice = h.person("Alice", "alice_tg")
		h.link("alice", alice)
		if _, err := h.sb.Join(alice.ID, h.joinLink("webmasters-pro")); err != nil {
			t.Fatal(err)
		}
		h.eventually("alice recorded in the chat", func() bool { return h.state("alice", "webmasters-pro").InChat })
		h.idle()
		before := len(h.received(alice.ID))
		if _, err := h.store.AddKarma(h.ctx, "alice", -100, "test"); err != nil {
			t.Fatal(err)
		}
		h.pool.Wake()
		h.eventually("the removal done on its second attempt", func() bool { return doneAfter(h, "alice", gate.ActionRemove) == 2 })
		h.idle()
		if bans, _ := callsFor(h.sb.Calls(), "banChatMember", alice.ID); bans != 0 {
			t.Errorf("the retry banned alice %d times; she was out already", bans)
		}
		if got := h.received(alice.ID)[before:]; len(got) != 1 {
			t.Errorf("alice was told %d times after her removal, want once: %q", len(got), got)
		}
	})
}
