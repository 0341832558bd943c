package worker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/worker"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// tgSeq hands out Telegram user ids.
var tgSeq atomic.Int64

type fixture struct {
	store *models.Store
	clock *modelstest.Clock
}

func newFixture(t *testing.T, spec string) *fixture {
	t.Helper()
	db := modelstest.MustOpen(t, spec)
	clock := modelstest.NewClock(t0)
	return &fixture{clock: clock, store: models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{Now: clock.Now})}
}

// eligible creates linked members who qualify for webmasters-pro, which
// queues one invite each.
func (f *fixture) eligible(t *testing.T, ids ...string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		in := models.MemberInput{ID: id, Karma: 150, Groups: []string{"webmasters"}}
		if err := in.Normalize(f.store.Rules()); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.PutMember(ctx, in, "test"); err != nil {
			t.Fatalf("put %s: %v", id, err)
		}
		if _, err := f.store.LinkTelegram(ctx, id, tgSeq.Add(1), "", "test"); err != nil {
			t.Fatalf("link %s: %v", id, err)
		}
	}
}

func (f *fixture) actions(t *testing.T, member string) []models.Action {
	t.Helper()
	as, err := f.store.Actions(context.Background(), member)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// run starts the pool and returns a stop function that waits for it.
func run(t *testing.T, p *worker.Pool) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("pool did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func statusOf(t *testing.T, f *fixture, member string) string {
	as := f.actions(t, member)
	if len(as) == 0 {
		return ""
	}
	return as[len(as)-1].Status
}

// each runs fn as a named subtest on a fresh database of every kind.
func each(t *testing.T, name string, fn func(t *testing.T, spec string)) {
	t.Run(name, func(t *testing.T) { modelstest.Each(t, fn) })
}

func TestPool_Run(t *testing.T) {
	each(t, "done", func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		f.eligible(t, "a1", "a2", "a3")
		var seen sync.Map
		p := worker.New(worker.Options{Store: f.store, Now: f.clock.Now, Poll: 10 * time.Millisecond, Workers: 2,
			Executors: map[string]worker.Executor{string(gate.ActionInvite): worker.ExecutorFunc(func(_ context.Context, a *models.Action) error {
				if _, dup := seen.LoadOrStore(a.ID, true); dup {
					t.Errorf("action %d executed twice", a.ID)
				}
				return nil
			})}})
		stop := run(t, p)
		for _, id := range []string{"a1", "a2", "a3"} {
			waitFor(t, id+" done", func() bool { return statusOf(t, f, id) == models.ActionDone })
		}
		stop()
		v, err := f.store.FindMember(context.Background(), "a2")
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Chats[0].State; got != string(gate.StateInvited) {
			t.Errorf("state after invite = %s, want invited", got)
		}
	})
	each(t, "retry at is exact and not a failure", func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		f.eligible(t, "b1")
		var calls atomic.Int32
		at := t0.Add(42 * time.Second)
		p := worker.New(worker.Options{Store: f.store, Now: f.clock.Now, Poll: 10 * time.Millisecond, MaxAttempts: 1,
			Executors: map[string]worker.Executor{"invite": worker.ExecutorFunc(func(context.Context, *models.Action) error {
				if calls.Add(1) == 1 {
					return worker.RetryAt(at, errors.New("Too Many Requests: retry after 42"))
				}
				return nil
			})}})
		stop := run(t, p)
		waitFor(t, "deferral", func() bool {
			as := f.actions(t, "b1")
			return len(as) == 1 && as[0].Status == models.ActionPending && as[0].NotBefore.Equal(at)
		})
		if a := f.actions(t, "b1")[0]; a.Attempts != 0 {
			t.Errorf("attempts after a flood wait = %d, want 0 (not a failure)", a.Attempts)
		}
		f.clock.Advance(41 * time.Second)
		p.Wake()
		time.Sleep(50 * time.Millisecond)
		if n := calls.Load(); n != 1 {
			t.Fatalf("ran again before the wait ended: %d calls", n)
		}
		f.clock.Advance(time.Second)
		p.Wake()
		// MaxAttempts is 1: had the wait counted as a failure, the
		// action would be parked instead of done.
		waitFor(t, "done after the wait", func() bool { return statusOf(t, f, "b1") == models.ActionDone })
		stop()
	})
	each(t, "transient errors back off then park", func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		f.eligible(t, "c1")
		var calls atomic.Int32
		p := worker.New(worker.Options{Store: f.store, Now: f.clock.Now, Poll: 10 * time.Millisecond, MaxAttempts: 3,
			Backoff: func(n int) time.Duration { return time.Duration(n) * time.Minute },
			Executors: map[string]worker.Executor{"invite": worker.ExecutorFunc(func(context.Context, *models.Action) error {
				calls.Add(1)
				return errors.New("502 Bad Gateway")
			})}})
		stop := run(t, p)
		for n := 1; n <= 2; n++ {
			waitFor(t, "retry scheduled", func() bool {
				as := f.actions(t, "c1")
				return as[0].Status == models.ActionPending && as[0].Attempts == n
			})
			if a := f.actions(t, "c1")[0]; !a.NotBefore.Equal(f.clock.Now().Add(time.Duration(n) * time.Minute)) {
				t.Errorf("retry %d at %s, want backoff of %d min", n, a.NotBefore, n)
			}
			f.clock.Advance(time.Duration(n) * time.Minute)
			p.Wake()
		}
		waitFor(t, "parked", func() bool { return statusOf(t, f, "c1") == models.ActionFailed })
		stop()
		if n := calls.Load(); n != 3 {
			t.Errorf("calls = %d, want 3", n)
		}
		if a := f.actions(t, "c1")[0]; a.LastError != "502 Bad Gateway" {
			t.Errorf("last error = %q", a.LastError)
		}
	})
	each(t, "an unreachable database is retried past the last attempt", func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		f.eligible(t, "u1")
		var calls atomic.Int32
		p := worker.New(worker.Options{Store: f.store, Now: f.clock.Now, Poll: 10 * time.Millisecond, MaxAttempts: 1,
			Backoff: func(int) time.Duration { return time.Minute },
			Executors: map[string]worker.Executor{"invite": worker.ExecutorFunc(func(context.Context, *models.Action) error {
				if calls.Add(1) == 1 {
					return fmt.Errorf("load member: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
				}
				return nil
			})}})
		stop := run(t, p)
		waitFor(t, "a retry scheduled", func() bool {
			a := f.actions(t, "u1")[0]
			return a.Status == models.ActionPending && a.Attempts == 1
		})
		f.clock.Advance(time.Minute)
		p.Wake()
		waitFor(t, "done on the second attempt", func() bool { return statusOf(t, f, "u1") == models.ActionDone })
		stop()
	})
	each(t, "permanent, panic and unknown kind park at once", func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		f.eligible(t, "d1", "d2", "d3")
		p := worker.New(worker.Options{Store: f.store, Now: f.clock.Now, Poll: 10 * time.Millisecond, MaxAttempts: 5,
			Executors: map[string]worker.Executor{"invite": worker.ExecutorFunc(func(_ context.Context, a *models.Action) error {
				switch a.MemberExt {
				case "d1":
					return worker.Permanent(errors.New("Forbidden: bot was blocked by the user"))
				case "d2":
					panic("boom")
				}
				return nil
			})}})
		stop := run(t, p)
		waitFor(t, "d1 parked", func() bool { return statusOf(t, f, "d1") == models.ActionFailed })
		waitFor(t, "d3 done", func() bool { return statusOf(t, f, "d3") == models.ActionDone })
		waitFor(t, "d2 retried", func() bool {
			a := f.actions(t, "d2")[0]
			return a.Status == models.ActionPending && a.Attempts == 1
		})
		stop()
		if a := f.actions(t, "d2")[0]; a.LastError != "executor panicked: boom" {
			t.Errorf("panic recorded as %q", a.LastError)
		}
		g := newFixture(t, spec)
		g.eligible(t, "e1")
		q := worker.New(worker.Options{Store: g.store, Now: g.clock.Now, Poll: 10 * time.Millisecond})
		stop = run(t, q)
		waitFor(t, "unknown kind parked", func() bool { return statusOf(t, g, "e1") == models.ActionFailed })
		stop()
	})
	each(t, "a flood wait on one chat stalls no other", func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ids := []string{"f1", "f2", "f3", "f4", "f5", "f6"}
		f.eligible(t, ids...)
		blocked := map[string]bool{"f1": true, "f3": true, "f5": true}
		p := worker.New(worker.Options{Store: f.store, Now: f.clock.Now, Poll: 10 * time.Millisecond, Workers: 1,
			Executors: map[string]worker.Executor{"invite": worker.ExecutorFunc(func(_ context.Context, a *models.Action) error {
				if blocked[a.MemberExt] {
					return worker.RetryAt(t0.Add(time.Hour), errors.New("flood wait"))
				}
				return nil
			})}})
		stop := run(t, p)
		for _, id := range []string{"f2", "f4", "f6"} {
			waitFor(t, id+" done", func() bool { return statusOf(t, f, id) == models.ActionDone })
		}
		stop()
		for id := range blocked {
			if a := f.actions(t, id)[0]; a.Status != models.ActionPending || !a.NotBefore.Equal(t0.Add(time.Hour)) {
				t.Errorf("%s: %s not before %s, want pending until the wait ends", id, a.Status, a.NotBefore)
			}
		}
	})
	each(t, "shutdown hands back what did not start", func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		f.eligible(t, "g1", "g2", "g3", "g4")
		started := make(chan struct{})
		release := make(chan struct{})
		var once sync.Once
		p := worker.New(worker.Options{Store: f.store, Now: f.clock.Now, Poll: 10 * time.Millisecond, Workers: 1, Lease: time.Hour,
			Executors: map[string]worker.Executor{"invite": worker.ExecutorFunc(func(context.Context, *models.Action) error {
				once.Do(func() { close(started) })
				<-release
				return nil
			})}})
		stop := run(t, p)
		<-started
		go func() { time.Sleep(50 * time.Millisecond); close(release) }()
		stop()
		var done, pending int
		for _, id := range []string{"g1", "g2", "g3", "g4"} {
			switch a := f.actions(t, id)[0]; a.Status {
			case models.ActionDone:
				done++
			case models.ActionPending:
				pending++
				if a.LeaseOwner != nil {
					t.Errorf("%s handed back still leased to %s", id, *a.LeaseOwner)
				}
			default:
				t.Errorf("%s: status %s", id, a.Status)
			}
		}
		if done < 1 || done+pending != 4 {
			t.Errorf("done %d, pending %d: the action in flight must finish, the rest be handed back", done, pending)
		}
		// Handed back at once: claimable now, not after the hour's lease.
		got, err := f.store.ClaimActions(context.Background(), "other", 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != pending {
			t.Errorf("claimable after shutdown: %d, want %d", len(got), pending)
		}
	})
}

func TestExponentialBackoff(t *testing.T) {
	b := worker.ExponentialBackoff(2*time.Second, time.Minute)
	for _, tc := range []struct {
		n        int
		min, max time.Duration
	}{{1, time.Second, 2 * time.Second}, {2, 2 * time.Second, 4 * time.Second}, {4, 8 * time.Second, 16 * time.Second}, {20, 30 * time.Second, time.Minute}} {
		for range 50 {
			if d := b(tc.n); d < tc.min || d > tc.max {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", tc.n, d, tc.min, tc.max)
			}
		}
	}
}

// claimCounter wraps a store and records how many actions each claim asked
// for, and how many workers were busy at that moment.
type claimCounter struct {
	worker.Store
	busy   *atomic.Int32
	mu     sync.Mutex
	limits []int
	busyAt []int32
}

func (c *claimCounter) ClaimActions(ctx context.Context, owner string, limit int, lease time.Duration) ([]models.Action, error) {
	c.mu.Lock()
	c.limits = append(c.limits, limit)
	c.busyAt = append(c.busyAt, c.busy.Load())
	c.mu.Unlock()
	return c.Store.ClaimActions(ctx, owner, limit, lease)
}

// TestPool_ClaimsOnlyForIdleWorkers: while every worker is busy the pool
// claims nothing (a claimed action would wait in memory with its lease
// running out), and a claim never asks for more than the idle workers.
func TestPool_ClaimsOnlyForIdleWorkers(t *testing.T) {
	each(t, "idle", func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ids := make([]string, 6)
		for i := range ids {
			ids[i] = fmt.Sprintf("c%d", i)
		}
		f.eligible(t, ids...)
		var busy atomic.Int32
		release := make(chan struct{})
		var started atomic.Int32
		cc := &claimCounter{Store: f.store, busy: &busy}
		p := worker.New(worker.Options{Store: cc, Now: f.clock.Now, Poll: 5 * time.Millisecond, Workers: 2,
			Executors: map[string]worker.Executor{string(gate.ActionInvite): worker.ExecutorFunc(func(context.Context, *models.Action) error {
				busy.Add(1)
				defer busy.Add(-1)
				started.Add(1)
				<-release // not ctx: the fake clock's leases ended long ago
				return nil
			})}})
		stop := run(t, p)
		waitFor(t, "both workers busy", func() bool { return busy.Load() == 2 })
		cc.mu.Lock()
		before := len(cc.limits)
		cc.mu.Unlock()
		time.Sleep(100 * time.Millisecond) // 20 polls
		cc.mu.Lock()
		after := len(cc.limits)
		cc.mu.Unlock()
		if after != before {
			t.Errorf("the pool claimed %d more times while both workers were busy", after-before)
		}
		// Nothing was claimed beyond what runs: 2 leased, 4 still pending.
		leased := 0
		for _, id := range ids {
			for _, a := range f.actions(t, id) {
				if a.Status == models.ActionRunning {
					leased++
				}
			}
		}
		if leased > 2 {
			t.Errorf("%d actions leased with 2 workers busy; want at most 2", leased)
		}
		close(release)
		waitFor(t, "all done", func() bool {
			for _, id := range ids {
				if statusOf(t, f, id) != models.ActionDone {
					return false
				}
			}
			return true
		})
		stop()
		cc.mu.Lock()
		defer cc.mu.Unlock()
		for i, l := range cc.limits {
			if idle := 2 - int(cc.busyAt[i]); l > idle {
				t.Errorf("claim %d asked for %d actions with %d workers idle", i, l, idle)
			}
		}
	})
}
