package models_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// breakerClub binds customers-club with n linked members inside, each
// with karma 60 (the bar is 50).
func breakerClub(t *testing.T, spec string, n int, opts models.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	db := modelstest.MustOpen(t, spec)
	clock := modelstest.NewClock(t0)
	opts.Now = clock.Now
	f := &fixture{db: db, clock: clock, store: models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), opts)}
	if err := f.store.BindChat(ctx, "customers-club", clubChat, "test"); err != nil {
		t.Fatal(err)
	}
	ins := make([]models.MemberInput, n)
	for i := range ins {
		ins[i] = models.MemberInput{ID: fmt.Sprintf("m%03d", i), Karma: 60, Groups: []string{"customers"}}
		if err := ins[i].Normalize(f.store.Rules()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.store.PutMembers(ctx, ins, "test"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		f.link(t, fmt.Sprintf("m%03d", i), int64(5000+i), "customers-club")
	}
	return f
}

// drop sets the karma of members first..last-1 below the bar in one bulk
// upsert.
func (f *fixture) drop(t *testing.T, first, last int) {
	t.Helper()
	var ins []models.MemberInput
	for i := first; i < last; i++ {
		in := models.MemberInput{ID: fmt.Sprintf("m%03d", i), Karma: 0, Groups: []string{"customers"}}
		if err := in.Normalize(f.store.Rules()); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, in)
	}
	if _, err := f.store.PutMembers(context.Background(), ins, "api"); err != nil {
		t.Fatal(err)
	}
}

func TestStore_RemovalBreaker(t *testing.T) {
	ctx := context.Background()
	t.Run("a bulk push beyond the cap opens the breaker", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := breakerClub(t, spec, 100, models.Options{Admins: []int64{77, 78}, Callbacks: true})
			f.drop(t, 0, 60)
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionPending] != 10 || got[models.ActionHeld] != 50 {
				t.Fatalf("removals by status = %v, want 10 pending, 50 held", got)
			}
			as, n, err := f.store.HeldRemovals(ctx, "customers-club", 100)
			if err != nil || n != 50 {
				t.Fatalf("HeldRemovals = %d, %v", n, err)
			}
			for _, a := range as {
				if a.Hold != models.HoldBreaker {
					t.Fatalf("held %s with hold %q", a.MemberExt, a.Hold)
				}
			}
			st, err := f.store.ChatBreaker(ctx, "customers-club")
			if err != nil || !st.Open || st.Held != 50 || st.Started != 10 || st.Limit != 10 || st.Inside != 100 {
				t.Fatalf("ChatBreaker = %+v, %v", st, err)
			}
			if dr, _ := f.store.ChatDryRun(ctx, "customers-club"); !dr.BreakerOpen || dr.On {
				t.Errorf("ChatDryRun = %+v", dr)
			}
			all, _ := f.store.Actions(ctx, "")
			var dms, cbs int
			for _, a := range all {
				switch a.Kind {
				case models.ActionNotify:
					dms++
					var p models.NoticePayload
					if err := json.Unmarshal([]byte(*a.Payload), &p); err != nil || p.Kind != models.NoticeBreakerOpened ||
						!strings.Contains(p.Text, "10 removal(s) started within 24h") || !strings.Contains(p.Text, "50 more are held") ||
						!strings.Contains(p.Text, "m010") || !strings.Contains(p.Text, "and 40 more") {
						t.Errorf("DM = %+v, %v", p, err)
					}
				case models.ActionCallback:
					if a.Reason != models.CallbackBreakerOpened {
						continue
					}
					cbs++
					var cb models.Callback
					if err := json.Unmarshal([]byte(*a.Payload), &cb); err != nil || cb.Chat != "customers-club" || cb.Member != "" ||
						cb.Breaker == nil || cb.Breaker.Held != 50 || cb.Breaker.Limit != 10 || cb.Breaker.MaxRemovals != "10%/24h" {
						t.Errorf("callback = %s, %v", *a.Payload, err)
					}
				}
			}
			if dms != 2 || cbs != 1 {
				t.Errorf("%d DMs, %d callbacks; want 2 and 1", dms, cbs)
			}
			// Open, it holds every later removal, however few.
			f.drop(t, 60, 61)
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionPending] != 10 || got[models.ActionHeld] != 51 {
				t.Fatalf("after one more: %v", got)
			}
			// A website that fixes its push drops the held removals.
			f.put(t, "m059", 60, "customers")
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionHeld] != 50 {
				t.Fatalf("after a fix: %v", got)
			}
			evs, _ := f.store.Events(ctx, models.EventFilter{Kind: models.EventBreakerOpened})
			if len(evs) != 1 {
				t.Errorf("breaker.opened events = %d", len(evs))
			}
			n2, err := f.store.ConfirmRemovals(ctx, "customers-club", "admin")
			if err != nil || n2 != 50 {
				t.Fatalf("ConfirmRemovals = %d, %v", n2, err)
			}
			if st, _ := f.store.ChatBreaker(ctx, "customers-club"); st.Open || st.Held != 0 || st.Started != 0 {
				t.Errorf("after confirm: %+v", st)
			}
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionPending] != 60 {
				t.Fatalf("after confirm: %v", got)
			}
			// Closed, removals run again within the cap, counted from the confirmation.
			f.clock.Advance(time.Second)
			f.drop(t, 70, 75)
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionPending] != 65 || got[models.ActionHeld] != 0 {
				t.Fatalf("after confirm, 5 more: %v", got)
			}
		})
	})
	t.Run("dry run holds first; ReleaseHeld leaves the breaker's", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := breakerClub(t, spec, 30, models.Options{MaxRemovals: gate.RemovalCap{Count: 3, Window: gate.DefaultRemovalCap.Window}})
			if err := f.store.StartDryRun(ctx, "customers-club", "test", "why"); err != nil {
				t.Fatal(err)
			}
			f.drop(t, 0, 5)
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionHeld] != 5 {
				t.Fatalf("dry run: %v", got)
			}
			if st, _ := f.store.ChatBreaker(ctx, "customers-club"); st.Open {
				t.Fatal("the breaker opened under dry run")
			}
			if n, err := f.store.ConfirmRemovals(ctx, "customers-club", "admin"); err != nil || n != 5 {
				t.Fatalf("confirm = %d, %v", n, err)
			}
			f.drop(t, 5, 10)
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionPending] != 8 || got[models.ActionHeld] != 2 {
				t.Fatalf("confirmed removals count against the cap: %v", got)
			}
			if rel, err := f.store.ReleaseHeld(ctx, "serve"); err != nil || len(rel) != 0 {
				t.Fatalf("ReleaseHeld = %v, %v", rel, err)
			}
			// The window passes: the cap has room again, but the breaker
			// stays open until an admin confirms.
			f.clock.Advance(25 * time.Hour)
			f.drop(t, 10, 11)
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionHeld] != 3 {
				t.Fatalf("open breaker after the window: %v", got)
			}
		})
	})
	t.Run("strangers an audit finds pass the breaker", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := breakerClub(t, spec, 5, models.Options{})
			present := make([]int64, 0, 35)
			for i := range 5 {
				present = append(present, int64(5000+i))
			}
			for i := range 30 {
				present = append(present, int64(9000+i))
			}
			a, err := f.store.RecordParticipants(ctx, "customers-club", present, nil, "audit")
			if err != nil || a.Strangers != 30 {
				t.Fatalf("RecordParticipants = %+v, %v", a, err)
			}
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionPending] != 10 || got[models.ActionHeld] != 20 {
				t.Fatalf("strangers' removals = %v, want 10 pending and 20 held", got)
			}
			if st, _ := f.store.ChatBreaker(ctx, "customers-club"); !st.Open || st.Held != 20 {
				t.Errorf("breaker = %+v", st)
			}
		})
	})
	t.Run("none turns it off", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := breakerClub(t, spec, 40, models.Options{MaxRemovals: gate.RemovalCap{Off: true}})
			f.drop(t, 0, 40)
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionPending] != 40 {
				t.Fatalf("removals = %v", got)
			}
		})
	})
	t.Run("the cap holds under concurrent writers", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := breakerClub(t, spec, 40, models.Options{})
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Go(func() { f.drop(t, i, i+1) })
			}
			wg.Wait()
			got := f.byStatus(t, "customers-club", gate.ActionRemove)
			if got[models.ActionPending] != 10 || got[models.ActionHeld] != 30 {
				t.Fatalf("removals = %v, want 10 pending and 30 held", got)
			}
		})
	})
}
