package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/worker"
)

// storeAuditor audits a chat as the userbot pool does, with a participant
// list given by the test: it records it through the store.
type storeAuditor struct {
	store   *models.Store
	present map[string][]int64 // by chat key; a chat not here cannot be audited
	retry   bool               // answer as when the account is connected elsewhere
	calls   int
}

func (a *storeAuditor) AuditChat(ctx context.Context, chat string) (models.Audit, error) {
	a.calls++
	if a.retry {
		return models.Audit{}, worker.RetryAt(time.Now().Add(time.Minute), errors.New("the account is elsewhere"))
	}
	present, ok := a.present[chat]
	if !ok {
		return models.Audit{}, fmt.Errorf("chat %s: %w", chat, worker.ErrCannotAudit)
	}
	return a.store.RecordParticipants(ctx, chat, present, nil, "userbot:1")
}

// TestReconciler_Pass: a pass re-plans everyone (a grace period that ended
// queues a removal) and audits the chat (a member inside whom nothing
// reported, a stranger), and reports both in the audit trail; the next
// pass finds nothing new.
func TestReconciler_Pass(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		if err := f.store.BindChat(ctx, "webmasters-pro", -1001, "test"); err != nil {
			t.Fatal(err)
		}
		f.eligible(t, "ann", "ben", "cat")
		// Ben, inside, drops below leave_below: 24 h of grace, a warning
		// queued now.
		if _, err := f.store.SetInChat(ctx, "ben", "webmasters-pro", true, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.AddKarma(ctx, "ben", -100, "test"); err != nil {
			t.Fatal(err)
		}
		ann, err := f.store.FindMember(ctx, "ann")
		if err != nil {
			t.Fatal(err)
		}
		ben, err := f.store.FindMember(ctx, "ben")
		if err != nil {
			t.Fatal(err)
		}
		const stranger = 990001
		aud := &storeAuditor{store: f.store, present: map[string][]int64{"webmasters-pro": {*ann.Member.TgUserID, *ben.Member.TgUserID, stranger}}}
		rec, err := worker.NewReconciler(worker.ReconcileOptions{Store: f.store, Auditor: aud, Now: f.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(25 * time.Hour) // Ben's grace is over

		rep, err := rec.Pass(ctx, "test", "")
		if err != nil {
			t.Fatal(err)
		}
		got := struct {
			Members, Replanned, Chats, Audited, Joined, Left, Strangers int
			Queued                                                      models.Queued
		}{rep.Members, rep.Replanned, rep.Chats, rep.Audited, rep.Joined, rep.Left, rep.Strangers, rep.Queued}
		want := got
		want.Members, want.Replanned, want.Chats, want.Audited, want.Joined, want.Left, want.Strangers = 3, 1, 1, 1, 1, 0, 1
		want.Queued = models.Queued{Removals: 2} // Ben's, the stranger's
		if got != want {
			t.Fatalf("report:\n got %+v\nwant %+v", got, want)
		}
		if len(rep.Errors) != 0 {
			t.Fatalf("errors: %v", rep.Errors)
		}
		if kinds := pendingKinds(t, f, "ben"); !kinds["remove"] {
			t.Errorf("ben's actions: %v, want a removal pending", kinds)
		}
		if st := memberState(t, f, "ann", "webmasters-pro"); !st.InChat {
			t.Errorf("ann after the audit: %+v, want in the chat", st)
		}
		evs, err := f.store.Events(ctx, models.EventFilter{Kind: models.EventReconciled})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Actor != "reconcile:test" ||
			!strings.Contains(evs[0].Detail, "test: 3 members planned (1 changed); queued 0 invites, 2 removals, 0 warnings; 1 of 1 chats audited: 1 strangers, 1 found inside, 0 gone") {
			t.Fatalf("reconcile events: %+v", evs)
		}

		// Nothing changed since: nothing new found or queued (the
		// stranger's removal is waiting already).
		rep, err = rec.Pass(ctx, "test", "")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Replanned != 0 || rep.Queued.Total() != 0 || rep.Strangers != 0 || rep.Joined != 0 || rep.Audited != 1 {
			t.Fatalf("second pass: %s", rep)
		}
	})
}

// TestReconciler_AuditElsewhere: a chat whose account another instance
// holds gets an audit action, once; a chat nobody can audit is named.
func TestReconciler_AuditElsewhere(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		for i, key := range []string{"webmasters-pro", "customers-club"} {
			if err := f.store.BindChat(ctx, key, int64(-1001-i), "test"); err != nil {
				t.Fatal(err)
			}
		}
		aud := &storeAuditor{store: f.store, retry: true}
		rec, err := worker.NewReconciler(worker.ReconcileOptions{Store: f.store, Auditor: aud, Now: f.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			rep, err := rec.Pass(ctx, "test", "")
			if err != nil {
				t.Fatal(err)
			}
			if rep.Chats != 2 || rep.AuditsQueued != 2 || rep.Audited != 0 || !strings.Contains(rep.String(), "2 audits queued for the instance holding their account") {
				t.Fatalf("report: %s", rep)
			}
		}
		var n int64
		if err := f.store.DB().Gorm().Raw("SELECT COUNT(*) FROM actions WHERE kind = ? AND status = ?", worker.AuditAction, models.ActionPending).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("pending audits: %d, want 2 (one per chat, not one per pass)", n)
		}

		// Without an auditor: re-plan only, and the report says so.
		rec, err = worker.NewReconciler(worker.ReconcileOptions{Store: f.store, Now: f.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := rec.Pass(ctx, "test", "")
		if err != nil {
			t.Fatal(err)
		}
		if want := "0 of 2 chats audited; not audited: webmasters-pro (no userbot), customers-club (no userbot)"; !strings.Contains(rep.String(), want) {
			t.Fatalf("report: %s\nwant %q", rep, want)
		}
	})
}

// TestReconciler_Schedule: Run runs the pass on its schedule.
func TestReconciler_Schedule(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		store := models.NewStore(modelstest.MustOpen(t, spec), modelstest.MustRules(t, modelstest.Rules), models.Options{})
		rec, err := worker.NewReconciler(worker.ReconcileOptions{Store: store, Every: 100 * time.Millisecond, Check: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		stop := runReconciler(t, rec)
		defer stop()
		eventually(t, "three scheduled passes", func() bool { return len(reconcileEvents(t, store)) >= 3 })
		for _, e := range reconcileEvents(t, store) {
			if e.Actor != "reconcile:schedule" {
				t.Errorf("event by %q, want reconcile:schedule", e.Actor)
			}
		}
	})
}

// TestReconciler_OneInstance: two instances on one database, each starting
// with a pass and checking the schedule every 10 ms: one pass runs, on one
// of them.
func TestReconciler_OneInstance(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		rules := modelstest.MustRules(t, modelstest.Rules)
		var stores []*models.Store
		for range 2 {
			stores = append(stores, models.NewStore(modelstest.MustOpen(t, spec), rules, models.Options{}))
		}
		for i, s := range stores {
			rec, err := worker.NewReconciler(worker.ReconcileOptions{Store: s, Every: time.Hour, Check: 10 * time.Millisecond,
				OnStart: true, Owner: fmt.Sprintf("instance-%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			stop := runReconciler(t, rec)
			defer stop()
		}
		eventually(t, "a pass", func() bool { return len(reconcileEvents(t, stores[0])) >= 1 })
		// Give the other instance many chances (100 checks) to run one too.
		time.Sleep(time.Second)
		if evs := reconcileEvents(t, stores[1]); len(evs) != 1 {
			t.Fatalf("passes: %d, want 1: %+v", len(evs), evs)
		}
		last, err := stores[1].LastReconcile(context.Background())
		if err != nil || last.IsZero() {
			t.Fatalf("last pass: %v, %v", last, err)
		}
	})
}

func runReconciler(t *testing.T, rec *worker.Reconciler) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = rec.Run(ctx) }()
	return func() { cancel(); wg.Wait() }
}

func reconcileEvents(t *testing.T, s *models.Store) []models.Event {
	t.Helper()
	evs, err := s.Events(context.Background(), models.EventFilter{Kind: models.EventReconciled})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pendingKinds(t *testing.T, f *fixture, member string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, a := range f.actions(t, member) {
		if a.Status == models.ActionPending {
			out[a.Kind] = true
		}
	}
	return out
}

func memberState(t *testing.T, f *fixture, member, chat string) models.ChatState {
	t.Helper()
	v, err := f.store.FindMember(context.Background(), member)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range v.Chats {
		if st.ChatKey == chat {
			return st
		}
	}
	return models.ChatState{}
}

// TestReconciler_AwaitsAuditsElsewhere: with AuditWait, a pass waits for
// the audit it queued for the instance holding the chat's account, and
// reports what that audit found.
func TestReconciler_AwaitsAuditsElsewhere(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := f.store.BindChat(ctx, "webmasters-pro", -1001, "test"); err != nil {
			t.Fatal(err)
		}
		const stranger = 990002
		// The other instance: its workers carry out the audit.
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ctx.Err() == nil {
				acts, err := f.store.ClaimActions(ctx, "other", 10, time.Minute)
				if err != nil {
					return
				}
				for _, a := range acts {
					if a.Kind == worker.AuditAction {
						if _, err := f.store.RecordParticipants(ctx, a.ChatKey, []int64{stranger}, nil, "userbot:2"); err != nil {
							t.Error(err)
						}
					}
					if err := f.store.CompleteAction(ctx, a.ID, "other", "worker"); err != nil {
						t.Error(err)
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		rec, err := worker.NewReconciler(worker.ReconcileOptions{Store: f.store, Auditor: &storeAuditor{store: f.store, retry: true},
			AuditWait: 30 * time.Second, Now: f.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := rec.Pass(ctx, "test", "")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Audited != 1 || rep.AuditsQueued != 0 || rep.Strangers != 1 || rep.Queued != (models.Queued{Removals: 1}) {
			t.Fatalf("report: %s", rep)
		}
		cancel()
		<-done
	})
}

// slowAuditor takes its time over each chat.
type slowAuditor struct {
	entered chan struct{}
	once    sync.Once
	d       time.Duration
}

func (a *slowAuditor) AuditChat(ctx context.Context, chat string) (models.Audit, error) {
	a.once.Do(func() { close(a.entered) })
	time.Sleep(a.d)
	return models.Audit{}, nil
}

// TestReconciler_LeaseRenewed: a pass that outlasts its lease's TTL renews
// it, so that another instance does not start a second pass meanwhile.
func TestReconciler_LeaseRenewed(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		rules := modelstest.MustRules(t, modelstest.Rules)
		a := models.NewStore(modelstest.MustOpen(t, spec), rules, models.Options{})
		b := models.NewStore(modelstest.MustOpen(t, spec), rules, models.Options{})
		if err := a.BindChat(context.Background(), "webmasters-pro", -1001, "test"); err != nil {
			t.Fatal(err)
		}
		slow := &slowAuditor{entered: make(chan struct{}), d: 1500 * time.Millisecond}
		first, err := worker.NewReconciler(worker.ReconcileOptions{Store: a, Auditor: slow, Every: time.Hour, LeaseTTL: 300 * time.Millisecond,
			OnStart: true, Owner: "first"})
		if err != nil {
			t.Fatal(err)
		}
		defer runReconciler(t, first)()
		<-slow.entered
		second, err := worker.NewReconciler(worker.ReconcileOptions{Store: b, Auditor: &slowAuditor{entered: make(chan struct{})},
			Every: time.Hour, Check: 10 * time.Millisecond, LeaseTTL: 300 * time.Millisecond, OnStart: true, Owner: "second"})
		if err != nil {
			t.Fatal(err)
		}
		defer runReconciler(t, second)()
		eventually(t, "the first pass to end", func() bool {
			for _, e := range reconcileEvents(t, b) {
				if e.Actor == "reconcile:start" {
					return true
				}
			}
			return false
		})
		time.Sleep(100 * time.Millisecond) // the second instance's checks go on
		if evs := reconcileEvents(t, b); len(evs) != 1 {
			t.Fatalf("passes: %d, want the first instance's alone: %+v", len(evs), evs)
		}
	})
}
