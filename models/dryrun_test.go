package models_test

import (
	"context"
	"errors"
	"testing"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

const clubChat int64 = -1001234

// byStatus counts a chat's actions of kind by status.
func (f *fixture) byStatus(t *testing.T, chat string, kind gate.ActionKind) map[string]int {
	t.Helper()
	all, err := f.store.Actions(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, a := range all {
		if a.ChatKey == chat && a.Kind == string(kind) {
			out[a.Status]++
		}
	}
	return out
}

func (f *fixture) held(t *testing.T, chat string) int64 {
	t.Helper()
	_, n, err := f.store.HeldRemovals(context.Background(), chat, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// claimRemovals claims every due action and returns the removals among them.
func (f *fixture) claimRemovals(t *testing.T) []models.Action {
	t.Helper()
	var out []models.Action
	for _, a := range f.claim(t, "w") {
		if a.Kind == string(gate.ActionRemove) {
			out = append(out, a)
		}
	}
	return out
}

// clubWithMembers (starting dry run first if asked) binds customers-club and puts carol (qualifies) and dave
// (does not) inside, and a stranger (Telegram user 999).
func (f *fixture) clubWithMembers(t *testing.T, startDryRun bool) {
	t.Helper()
	ctx := context.Background()
	// As the bot does: dry run starts before the binding.
	if startDryRun {
		if err := f.store.StartDryRun(ctx, "customers-club", "test", "the group had 3 members"); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.BindChat(ctx, "customers-club", clubChat, "test"); err != nil {
		t.Fatal(err)
	}
	f.put(t, "carol", 60, "customers")
	f.put(t, "dave", 10, "customers")
	f.link(t, "carol", 4201, "customers-club")
	f.link(t, "dave", 4202, "customers-club")
	if _, err := f.store.RecordMembership(ctx, clubChat, 999, true, "telegram"); err != nil {
		t.Fatal(err)
	}
}

func TestStore_DryRun(t *testing.T) {
	ctx := context.Background()
	t.Run("a chat bound over a group holds removals until the first confirmation", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec)
			f.clubWithMembers(t, true)
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionHeld] != 2 || len(got) != 1 {
				t.Fatalf("removals by status = %v, want 2 held (dave, the stranger)", got)
			}
			if got := f.claimRemovals(t); len(got) != 0 {
				t.Fatalf("claimed %s under dry run", kinds(got))
			}
			as, n, err := f.store.HeldRemovals(ctx, "customers-club", 1)
			if err != nil || n != 2 || len(as) != 1 || as[0].MemberExt != "dave" {
				t.Fatalf("HeldRemovals = %+v, %d, %v", as, n, err)
			}
			st, err := f.store.ChatDryRun(ctx, "customers-club")
			if err != nil || !st.On || !st.Started || st.Configured {
				t.Fatalf("ChatDryRun = %+v, %v", st, err)
			}
			// The dashboard's planned removals show the held ones.
			planned, total, err := f.store.PlannedRemovals(ctx, "customers-club", 10)
			if err != nil || total != 2 || len(planned) != 2 || planned[0].Status != models.ActionHeld {
				t.Fatalf("PlannedRemovals = %+v, %d, %v", planned, total, err)
			}
			if c, err := f.store.OutboxCounts(ctx); err != nil || c[models.ActionHeld] != 2 {
				t.Fatalf("OutboxCounts = %v, %v", c, err)
			}
			got, err := f.store.ConfirmRemovals(ctx, "customers-club", "admin")
			if err != nil || got != 2 {
				t.Fatalf("ConfirmRemovals = %d, %v; want 2", got, err)
			}
			if st, _ := f.store.ChatDryRun(ctx, "customers-club"); st.On {
				t.Fatalf("dry run still on after the first confirmation: %+v", st)
			}
			if got := f.claimRemovals(t); len(got) != 2 {
				t.Fatalf("claimed %s after confirming, want 2 removals", kinds(got))
			}
			// Later removals run at once.
			f.put(t, "erin", 10, "customers")
			f.link(t, "erin", 4203, "customers-club")
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionPending] != 1 || got[models.ActionHeld] != 0 {
				t.Fatalf("removals by status after dry run = %v, want erin's pending", got)
			}
			if n, err := f.store.ConfirmRemovals(ctx, "customers-club", "admin"); err != nil || n != 0 {
				t.Fatalf("confirming with nothing held = %d, %v", n, err)
			}
			evs, err := f.store.Events(ctx, models.EventFilter{Chat: "customers-club"})
			if err != nil {
				t.Fatal(err)
			}
			var started, confirmed int
			for _, e := range evs {
				switch e.Kind {
				case models.EventDryRunStarted:
					started++
				case models.EventRemovalsConfirmed:
					confirmed++
				}
			}
			if started != 1 || confirmed != 1 {
				t.Errorf("audit: %d dryrun.started, %d removals.confirmed; want 1 each (confirming nothing is no news)", started, confirmed)
			}
		})
	})
	t.Run("dry run in the rules file holds later removals after a confirmation", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec)
			rules := modelstest.MustRules(t, modelstest.Rules+"    dry_run: true\n")
			f.store = models.NewStore(f.db, rules, models.Options{Now: f.clock.Now})
			f.clubWithMembers(t, false)
			if n := f.held(t, "customers-club"); n != 2 {
				t.Fatalf("held = %d, want 2", n)
			}
			if n, err := f.store.ConfirmRemovals(ctx, "customers-club", "admin"); err != nil || n != 2 {
				t.Fatalf("ConfirmRemovals = %d, %v", n, err)
			}
			f.put(t, "erin", 10, "customers")
			f.link(t, "erin", 4203, "customers-club")
			if n := f.held(t, "customers-club"); n != 1 {
				t.Fatalf("held after confirming = %d, want erin's 1", n)
			}
			if st, _ := f.store.ChatDryRun(ctx, "customers-club"); !st.On || !st.Configured {
				t.Fatalf("ChatDryRun = %+v", st)
			}
			// Other chats are not in dry run, and warnings are never held.
			f.put(t, "finn", 150, "webmasters")
			f.link(t, "finn", 4204, "webmasters-pro")
			f.put(t, "finn", 50, "webmasters")
			if got := f.byStatus(t, "webmasters-pro", gate.ActionWarn); got[models.ActionPending] != 1 {
				t.Fatalf("webmasters-pro warns = %v, want 1 pending", got)
			}
		})
	})
	t.Run("a new decision cancels a held removal", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec)
			f.clubWithMembers(t, true)
			if _, err := f.store.AddKarma(ctx, "dave", 50, "test"); err != nil {
				t.Fatal(err)
			}
			if n := f.held(t, "customers-club"); n != 1 {
				t.Fatalf("held = %d, want the stranger's 1", n)
			}
			if st := f.state(t, "dave", "customers-club"); st.State != string(gate.StateMember) {
				t.Errorf("dave = %s", st.State)
			}
			// Deleting a member supersedes their held removal with the
			// deletion's own, held as well.
			if _, err := f.store.AddKarma(ctx, "dave", -50, "test"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.DeleteMember(ctx, "dave", "test"); err != nil {
				t.Fatal(err)
			}
			held := 0
			for _, a := range f.mustActions(t, "dave") {
				if a.Status == models.ActionHeld {
					held++
				}
			}
			if held != 1 {
				t.Errorf("dave has %d held removals after deletion, want the deletion's 1", held)
			}
		})
	})
	t.Run("queued removals are held when dry run starts", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec)
			f.clubWithMembers(t, false)
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionPending] != 2 {
				t.Fatalf("removals = %v, want 2 pending", got)
			}
			if err := f.store.StartDryRun(ctx, "customers-club", "test", "members"); err != nil {
				t.Fatal(err)
			}
			if err := f.store.StartDryRun(ctx, "customers-club", "test", "again"); err != nil {
				t.Fatal(err)
			}
			if got := f.byStatus(t, "customers-club", gate.ActionRemove); got[models.ActionHeld] != 2 {
				t.Fatalf("removals = %v, want 2 held", got)
			}
		})
	})
	t.Run("turning the switch off releases held removals, the started flag does not", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec)
			f.store = models.NewStore(f.db, modelstest.MustRules(t, modelstest.Rules), models.Options{Now: f.clock.Now, DryRun: true})
			f.clubWithMembers(t, false)
			if n := f.held(t, "customers-club"); n != 2 {
				t.Fatalf("held = %d", n)
			}
			// Still on: nothing released.
			if got, err := f.store.ReleaseHeld(ctx, "start"); err != nil || len(got) != 0 {
				t.Fatalf("ReleaseHeld while on = %v, %v", got, err)
			}
			// Restarted without KARMAGATE_DRY_RUN.
			f.store = models.NewStore(f.db, modelstest.MustRules(t, modelstest.Rules), models.Options{Now: f.clock.Now})
			got, err := f.store.ReleaseHeld(ctx, "start")
			if err != nil || got["customers-club"] != 2 {
				t.Fatalf("ReleaseHeld = %v, %v; want 2 in customers-club", got, err)
			}
			if got := f.claimRemovals(t); len(got) != 2 {
				t.Fatalf("claimed %s", kinds(got))
			}
			// A chat that started in dry run keeps its removals held.
			f.put(t, "erin", 10, "customers")
			if err := f.store.StartDryRun(ctx, "customers-club", "test", "members"); err != nil {
				t.Fatal(err)
			}
			f.link(t, "erin", 4203, "customers-club")
			if got, err := f.store.ReleaseHeld(ctx, "start"); err != nil || len(got) != 0 {
				t.Fatalf("ReleaseHeld with the started flag = %v, %v", got, err)
			}
			if n := f.held(t, "customers-club"); n != 1 {
				t.Fatalf("held = %d, want 1", n)
			}
		})
	})
	t.Run("unknown chat", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec)
			if _, err := f.store.ConfirmRemovals(ctx, "nope", "admin"); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("ConfirmRemovals: %v", err)
			}
			if _, _, err := f.store.HeldRemovals(ctx, "nope", 0); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("HeldRemovals: %v", err)
			}
			if _, err := f.store.ChatDryRun(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("ChatDryRun: %v", err)
			}
		})
	})
}

func TestStore_QueueSurvey(t *testing.T) {
	ctx := context.Background()
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		surveys := func() []models.Action {
			var out []models.Action
			for _, a := range f.mustActions(t, "") {
				if a.Kind == models.ActionSurvey {
					out = append(out, a)
				}
			}
			return out
		}
		if ok, err := f.store.QueueSurvey(ctx, "customers-club", 0, "", "bound"); err != nil || !ok {
			t.Fatalf("first page: %v, %v", ok, err)
		}
		first := surveys()
		if len(first) != 1 || first[0].Payload == nil || *first[0].Payload != "" || first[0].MemberID != 0 || first[0].Status != models.ActionPending {
			t.Fatalf("surveys = %+v", first)
		}
		// The next page, queued twice by a page run again after a crash:
		// once.
		for range 2 {
			if _, err := f.store.QueueSurvey(ctx, "customers-club", first[0].ID, "m500", "next"); err != nil {
				t.Fatal(err)
			}
		}
		got := surveys()
		if len(got) != 2 || *got[1].Payload != "m500" {
			t.Fatalf("surveys = %+v", got)
		}
		// A later bind surveys from the start again.
		if ok, err := f.store.QueueSurvey(ctx, "customers-club", 0, "", "bound again"); err != nil || !ok {
			t.Fatalf("second survey: %v, %v", ok, err)
		}
		if _, err := f.store.QueueSurvey(ctx, "nope", 0, "", ""); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("unknown chat: %v", err)
		}
	})
}

func (f *fixture) mustActions(t *testing.T, member string) []models.Action {
	t.Helper()
	as, err := f.store.Actions(context.Background(), member)
	if err != nil {
		t.Fatal(err)
	}
	return as
}
