package callback_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/callback"
	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/worker"
)

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

// TestSender_Outbox runs the store, the worker pool (with stand-ins for the
// bot's executors) and the sender against a test website: a member links,
// joins, is warned and removed, and the website hears of each, signed; the
// first delivery is refused with a 500 and arrives on the retry.
func TestSender_Outbox(t *testing.T) {
	const chatID = -1001800000001
	run := func(t *testing.T, spec string, on bool) (*website, *models.Store) {
		t.Helper()
		ctx := context.Background()
		clock := modelstest.NewClock(time.Now().UTC().Truncate(time.Second))
		db, rules := modelstest.MustOpen(t, spec), modelstest.MustRules(t, modelstest.Rules)
		store := models.NewStore(db, rules, models.Options{Now: clock.Now, Callbacks: on})
		// Bound before callbacks are on: this story is about a member
		// (chat.bound is the models tests').
		if err := models.NewStore(db, rules, models.Options{Now: clock.Now}).BindChat(ctx, "webmasters-pro", chatID, "admin"); err != nil {
			t.Fatal(err)
		}
		w := newWebsite(t, clock.Now, http.StatusInternalServerError)
		sender, err := callback.New(callback.Options{URL: w.URL + "/karmagate/callback", Secret: secret, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		done := worker.ExecutorFunc(func(context.Context, *models.Action) error { return nil })
		execs := sender.Executors()
		for _, k := range []gate.ActionKind{gate.ActionInvite, gate.ActionUninvite, gate.ActionWarn, gate.ActionRemove, gate.ActionFlag} {
			execs[string(k)] = done
		}
		pool := worker.New(worker.Options{Store: store, Executors: execs, Now: clock.Now, Poll: 10 * time.Millisecond})
		pctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { _ = pool.Run(pctx) })
		t.Cleanup(func() { cancel(); wg.Wait() })

		// settled waits until no action is pending or running, but those
		// waiting for a later time.
		settled := func(what string) {
			t.Helper()
			waitFor(t, what, func() bool {
				as, err := store.Actions(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range as {
					if a.Status == models.ActionRunning || (a.Status == models.ActionPending && !a.NotBefore.After(clock.Now())) {
						return false
					}
				}
				return true
			})
		}
		put := func(karma int64) {
			t.Helper()
			in := models.MemberInput{ID: "alice", Karma: karma, Groups: []string{"webmasters"}}
			if err := in.Normalize(store.Rules()); err != nil {
				t.Fatal(err)
			}
			if _, err := store.PutMember(ctx, in, "test"); err != nil {
				t.Fatal(err)
			}
			pool.Wake()
		}
		put(150)
		if _, err := store.RelinkTelegram(ctx, "alice", models.TelegramUser{ID: 4101, Username: "alice_tg"}, "bot"); err != nil {
			t.Fatal(err)
		}
		pool.Wake()
		settled("the link's actions")
		if on {
			waitFor(t, "the refused first delivery", func() bool { return len(w.deliveries()) == 1 })
		}
		clock.Advance(time.Minute) // the retry is due
		pool.Wake()
		settled("the retry")
		if _, err := store.RecordMembership(ctx, chatID, 4101, true, "telegram"); err != nil {
			t.Fatal(err)
		}
		pool.Wake()
		settled("the join")
		put(85) // below leave_below: grace, and a warning
		settled("the warning")
		clock.Advance(25 * time.Hour)
		if _, err := store.ExpireGrace(ctx, "grace"); err != nil {
			t.Fatal(err)
		}
		pool.Wake()
		settled("the removal")
		removed := false
		as, err := store.Actions(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			removed = removed || (a.Kind == string(gate.ActionRemove) && a.Status == models.ActionDone)
		}
		if !removed {
			t.Fatalf("alice was not removed: %+v", as)
		}
		return w, store
	}
	t.Run("link, join, warn and remove arrive, signed, the first after a 500", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			w, _ := run(t, spec, true)
			got := w.deliveries()
			var events, types []string
			var seqs []int64
			for i, d := range got {
				if d.verified != nil {
					t.Errorf("delivery %d: %v", i, d.verified)
				}
				var cb models.Callback
				if err := json.Unmarshal(d.body, &cb); err != nil {
					t.Fatal(err)
				}
				if cb.ID != d.event || cb.Member != "alice" {
					t.Errorf("delivery %d: body %s, event header %q", i, d.body, d.event)
				}
				events, types, seqs = append(events, cb.ID), append(types, cb.Type), append(seqs, cb.Seq)
			}
			want := []string{models.CallbackLinked, models.CallbackLinked, models.CallbackJoined, models.CallbackWarned, models.CallbackRemoved}
			if !slices.Equal(types, want) {
				t.Fatalf("deliveries = %q, want %q", types, want)
			}
			if events[0] != events[1] || seqs[0] != seqs[1] {
				t.Errorf("the retry after the 500 is another event: %q/%d, %q/%d", events[0], seqs[0], events[1], seqs[1])
			}
			if !slices.IsSorted(seqs) || len(slices.Compact(slices.Clone(events))) != 4 {
				t.Errorf("seqs %v, events %q: want growing seqs and four events", seqs, events)
			}
		})
	})
	t.Run("nothing when callbacks are off", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			w, _ := run(t, spec, false)
			if got := w.deliveries(); len(got) != 0 {
				t.Fatalf("%d deliveries, want none", len(got))
			}
		})
	})
}
