package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type fixture struct {
	store *models.Store
	clock *modelstest.Clock
	db    *models.DB
}

func newFixture(t *testing.T, spec string) *fixture {
	t.Helper()
	db := modelstest.MustOpen(t, spec)
	clock := modelstest.NewClock(t0)
	return &fixture{db: db, clock: clock, store: models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{Now: clock.Now})}
}

func (f *fixture) put(t *testing.T, id string, karma int64, groups ...string) models.PutResult {
	t.Helper()
	in := models.MemberInput{ID: id, Karma: karma, Groups: groups}
	if err := in.Normalize(f.store.Rules()); err != nil {
		t.Fatalf("normalize: %v", err)
	}
	res, err := f.store.PutMember(context.Background(), in, "test")
	if err != nil {
		t.Fatalf("put %s: %v", id, err)
	}
	return res
}

// link links a member to a Telegram user and, for each chat given, records
// that Telegram says they are in it.
func (f *fixture) link(t *testing.T, id string, tgUserID int64, inChats ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := f.store.LinkTelegram(ctx, id, tgUserID, "", "bot"); err != nil {
		t.Fatalf("link %s: %v", id, err)
	}
	for _, c := range inChats {
		if _, err := f.store.SetInChat(ctx, id, c, true, "bot"); err != nil {
			t.Fatalf("%s joins %s: %v", id, c, err)
		}
	}
}

func (f *fixture) state(t *testing.T, id, chat string) models.ChatState {
	t.Helper()
	v, err := f.store.FindMember(context.Background(), id)
	if err != nil {
		t.Fatalf("find %s: %v", id, err)
	}
	for _, c := range v.Chats {
		if c.ChatKey == chat {
			return c
		}
	}
	t.Fatalf("no chat %s", chat)
	return models.ChatState{}
}

func (f *fixture) pending(t *testing.T, id string) []models.Action {
	t.Helper()
	all, err := f.store.Actions(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []models.Action
	for _, a := range all {
		if a.Status == models.ActionPending {
			out = append(out, a)
		}
	}
	return out
}

func TestStore_PutMember(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		res := f.put(t, "alice", 150, "webmasters")
		if res.Created != 1 || res.View == nil || res.View.Member.Karma != 150 {
			t.Fatalf("put = %+v", res)
		}
		if st := f.state(t, "alice", "webmasters-pro"); st.State != "needs_link" || st.Reason != "karma 150 >= 100 in webmasters; waiting for the member to link Telegram" {
			t.Errorf("state = %+v", st)
		}
		if st := f.state(t, "alice", "customers-club"); st.State != "not_eligible" {
			t.Errorf("customers-club state = %+v", st)
		}
		// Linking queues exactly one invite.
		if _, err := f.store.LinkTelegram(ctx, "alice", 4101, "alice_tg", "bot"); err != nil {
			t.Fatal(err)
		}
		if p := f.pending(t, "alice"); len(p) != 1 || p[0].Kind != "invite" || *p[0].TgUserID != 4101 {
			t.Fatalf("pending = %+v", p)
		}
		// The same PUT again changes nothing and queues nothing.
		res = f.put(t, "alice", 150, "webmasters")
		if res.Unchanged != 1 || res.Actions != 0 {
			t.Errorf("repeat put = %+v", res)
		}
		if p := f.pending(t, "alice"); len(p) != 1 {
			t.Errorf("repeat put queued more: %+v", p)
		}
		// Another member cannot take the same Telegram account.
		f.put(t, "bob", 1, "customers")
		if _, err := f.store.LinkTelegram(ctx, "bob", 4101, "", "bot"); !errors.Is(err, models.ErrAlreadyLinked) {
			t.Errorf("double link err = %v", err)
		}
	})
}

// TestStore_PutMemberMaxGroups: the most groups the API accepts, each as
// long as allowed, round-trip unchanged on both databases.
func TestStore_PutMemberMaxGroups(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		groups := make([]string, models.MaxGroups)
		for i := range groups {
			groups[i] = fmt.Sprintf("%02d%s", i, strings.Repeat("g", 62))
		}
		in := models.MemberInput{ID: "many", Karma: 1, Groups: groups}
		if err := in.Normalize(nil); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.PutMember(ctx, in, "test"); err != nil {
			t.Fatalf("put %d groups of 64 characters: %v", len(groups), err)
		}
		v, err := f.store.FindMember(ctx, "many")
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Member.Groups(); !slices.Equal(got, groups) {
			t.Fatalf("groups came back as %d (%d characters), want %d", len(got), len(v.Member.GroupList), len(groups))
		}
	})
}

func TestStore_ThresholdHysteresisGrace(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		f.put(t, "carol", 50, "webmasters")
		if _, err := f.store.LinkTelegram(ctx, "carol", 4102, "", "bot"); err != nil {
			t.Fatal(err)
		}
		// Crossing 100 moves the state and writes exactly one action.
		res := f.put(t, "carol", 100, "webmasters")
		if res.Actions != 1 {
			t.Fatalf("crossing the bar queued %d actions", res.Actions)
		}
		if st := f.state(t, "carol", "webmasters-pro"); st.State != "eligible" {
			t.Fatalf("state = %s", st.State)
		}
		// Telegram reports the join.
		if _, err := f.store.SetInChat(ctx, "carol", "webmasters-pro", true, "bot"); err != nil {
			t.Fatal(err)
		}
		if st := f.state(t, "carol", "webmasters-pro"); st.State != "member" {
			t.Fatalf("after join state = %s", st.State)
		}
		// Hysteresis: 95 is below min_karma but not below leave_below.
		v, err := f.store.AddKarma(ctx, "carol", -5, "api")
		if err != nil {
			t.Fatal(err)
		}
		if v.Chats[0].State != "member" || v.Chats[0].Reason != "karma 95 >= 90 (leave_below) in webmasters" {
			t.Fatalf("after -5: %+v", v.Chats[0])
		}
		// Below 90: grace for 24h with one warning.
		before := len(f.pending(t, "carol"))
		if _, err := f.store.AddKarma(ctx, "carol", -10, "api"); err != nil {
			t.Fatal(err)
		}
		st := f.state(t, "carol", "webmasters-pro")
		if st.State != "grace" || st.GraceUntil == nil || !st.GraceUntil.Equal(t0.Add(24*time.Hour)) {
			t.Fatalf("grace state = %+v", st)
		}
		p := f.pending(t, "carol")
		if len(p) != before+1 || p[len(p)-1].Kind != "warn" {
			t.Fatalf("pending after grace = %+v", p)
		}
		// Grace not over: the sweep changes nothing.
		f.clock.Advance(23 * time.Hour)
		if n, err := f.store.ExpireGrace(ctx, "sweeper"); err != nil || n != 0 {
			t.Fatalf("early sweep = %d, %v", n, err)
		}
		// Over: removal queued, the unsent warning superseded.
		f.clock.Advance(time.Hour)
		if n, err := f.store.ExpireGrace(ctx, "sweeper"); err != nil || n != 1 {
			t.Fatalf("sweep = %d, %v", n, err)
		}
		if st := f.state(t, "carol", "webmasters-pro"); st.State != "removing" {
			t.Fatalf("after grace state = %s", st.State)
		}
		p = f.pending(t, "carol")
		if len(p) != 1 || p[0].Kind != "remove" {
			t.Fatalf("pending after sweep = %+v", p)
		}
	})
}

func TestStore_GraceCancelledByRecovery(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		f.put(t, "dan", 120, "webmasters")
		f.link(t, "dan", 4103, "webmasters-pro")
		f.put(t, "dan", 80, "webmasters")
		if st := f.state(t, "dan", "webmasters-pro"); st.State != "grace" {
			t.Fatalf("state = %s", st.State)
		}
		f.clock.Advance(time.Hour)
		f.put(t, "dan", 91, "webmasters")
		if st := f.state(t, "dan", "webmasters-pro"); st.State != "member" || st.GraceUntil != nil {
			t.Fatalf("recovered state = %+v", st)
		}
		for _, a := range f.pending(t, "dan") {
			if a.Kind == "remove" || a.Kind == "warn" {
				t.Errorf("left a pending %s after recovery", a.Kind)
			}
		}
	})
}

func TestStore_AddKarmaConcurrent(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		f.put(t, "erin", 0, "webmasters")
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := int64(3)
				if i%2 == 1 {
					d = -1
				}
				if _, err := f.store.AddKarma(context.Background(), "erin", d, "api"); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		v, err := f.store.FindMember(context.Background(), "erin")
		if err != nil {
			t.Fatal(err)
		}
		if v.Member.Karma != 200 {
			t.Fatalf("karma = %d, want 200", v.Member.Karma)
		}
	})
}

func TestStore_AddKarmaErrors(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		if _, err := f.store.AddKarma(ctx, "nobody", 1, "api"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("unknown member err = %v", err)
		}
		f.put(t, "max", 9223372036854775800, "staff")
		var ie *models.InputError
		if _, err := f.store.AddKarma(ctx, "max", 100, "api"); !errors.As(err, &ie) {
			t.Errorf("overflow err = %v", err)
		}
		v, err := f.store.FindMember(ctx, "max")
		if err != nil {
			t.Fatal(err)
		}
		if v.Member.Karma != 9223372036854775800 {
			t.Errorf("overflow changed karma to %d", v.Member.Karma)
		}
	})
}

func TestStore_DeleteMember(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		f.put(t, "gus", 200, "webmasters", "customers")
		f.link(t, "gus", 4104, "webmasters-pro")
		// In webmasters-pro: removed. Eligible for customers-club with its
		// invite still pending: the invite is cancelled and the link
		// withdrawn.
		n, err := f.store.DeleteMember(ctx, "gus", "api")
		if err != nil || n != 2 {
			t.Fatalf("delete = %d, %v", n, err)
		}
		if _, err := f.store.FindMember(ctx, "gus"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("find after delete err = %v", err)
		}
		p := f.pending(t, "gus")
		if len(p) != 2 {
			t.Fatalf("pending after delete = %+v", p)
		}
		for _, want := range []struct{ kind, chat string }{{"uninvite", "customers-club"}, {"remove", "webmasters-pro"}} {
			i := slices.IndexFunc(p, func(a models.Action) bool { return a.ChatKey == want.chat })
			if i < 0 || p[i].Kind != want.kind || p[i].TgUserID == nil || *p[i].TgUserID != 4104 {
				t.Errorf("pending after delete in %s = %+v, want %s", want.chat, p, want.kind)
			}
		}
		ev, err := f.store.Events(ctx, models.EventFilter{Member: "gus", Kind: models.EventMemberDeleted})
		if err != nil {
			t.Fatal(err)
		}
		if len(ev) != 1 {
			t.Fatalf("delete events = %+v", ev)
		}
		if _, err := f.store.DeleteMember(ctx, "gus", "api"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("second delete err = %v", err)
		}
	})
}

func TestStore_Overrides(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		f.put(t, "hal", -20, "customers")
		f.link(t, "hal", 4105)
		v, err := f.store.SetOverride(ctx, "hal", "webmasters-pro", gate.OverrideAlways, "admin")
		if err != nil || v.Chats[0].State != "exempt" {
			t.Fatalf("always: %+v, %v", v, err)
		}
		if p := f.pending(t, "hal"); len(p) != 1 || p[0].Kind != "invite" {
			t.Fatalf("always queued %+v", p)
		}
		v, err = f.store.SetOverride(ctx, "hal", "webmasters-pro", gate.OverrideNone, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if v.Chats[0].State != "not_eligible" {
			t.Fatalf("lifted: %+v", v.Chats[0])
		}
		if p := f.pending(t, "hal"); len(p) != 0 {
			t.Fatalf("lifting before the invite ran should cancel it: %+v", p)
		}
		if _, err := f.store.SetOverride(ctx, "hal", "no-such-chat", gate.OverrideNever, "admin"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("unknown chat err = %v", err)
		}
	})
}

func TestStore_Outbox(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		f.put(t, "ivy", 150, "webmasters")
		f.link(t, "ivy", 4106)
		got, err := f.store.ClaimActions(ctx, "w1", 10, time.Minute)
		if err != nil || len(got) != 1 || got[0].Status != models.ActionRunning || got[0].Attempts != 1 {
			t.Fatalf("claim = %+v, %v", got, err)
		}
		// Leased: another worker gets nothing.
		if again, err := f.store.ClaimActions(ctx, "w2", 10, time.Minute); err != nil || len(again) != 0 {
			t.Fatalf("double claim: %+v, %v", again, err)
		}
		// A failure with a retry time puts it back for later.
		retry := f.clock.Now().Add(30 * time.Second)
		if err := f.store.FailAction(ctx, got[0].ID, "w1", "worker", errors.New("Too Many Requests: retry after 30"), &retry); err != nil {
			t.Fatal(err)
		}
		if again, err := f.store.ClaimActions(ctx, "w2", 10, time.Minute); err != nil || len(again) != 0 {
			t.Fatalf("claimed before retry_after: %+v, %v", again, err)
		}
		f.clock.Advance(30 * time.Second)
		got, err = f.store.ClaimActions(ctx, "w2", 10, time.Minute)
		if err != nil || len(got) != 1 || got[0].Attempts != 2 {
			t.Fatalf("retry claim = %+v, %v", got, err)
		}
		// The first worker's lease is gone.
		if err := f.store.CompleteAction(ctx, got[0].ID, "w1", "worker"); !errors.Is(err, models.ErrLeaseLost) {
			t.Fatalf("stale complete err = %v", err)
		}
		// A crashed worker's lease runs out and another takes over.
		f.clock.Advance(2 * time.Minute)
		got, err = f.store.ClaimActions(ctx, "w3", 10, time.Minute)
		if err != nil || len(got) != 1 || got[0].Attempts != 3 {
			t.Fatalf("expired lease claim = %+v, %v", got, err)
		}
		if err := f.store.CompleteAction(ctx, got[0].ID, "w3", "worker"); err != nil {
			t.Fatal(err)
		}
		if st := f.state(t, "ivy", "webmasters-pro"); st.State != "invited" {
			t.Fatalf("after invite done state = %s", st.State)
		}
		counts, err := f.store.OutboxCounts(ctx)
		if err != nil || counts[models.ActionDone] != 1 || counts[models.ActionPending] != 0 {
			t.Fatalf("counts = %v, %v", counts, err)
		}
	})
}

// TestStore_IdempotencyKey: the same decision made twice (two planners that
// read the member's state before either wrote, as a replay would) queues
// one action, and leaves it pending.
func TestStore_IdempotencyKey(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		f.put(t, "jo", 150, "webmasters")
		// Linked behind the planner's back, so that the next plan decides
		// to invite.
		if err := f.db.Gorm().Exec("UPDATE members SET tg_user_id = ? WHERE external_id = ?", 4107, "jo").Error; err != nil {
			t.Fatal(err)
		}
		if err := models.PlanTwice(ctx, f.store, "jo", "test"); err != nil {
			t.Fatalf("the replayed decision failed: %v", err)
		}
		acts, err := f.store.Actions(ctx, "jo")
		if err != nil {
			t.Fatal(err)
		}
		if len(acts) != 1 || acts[0].Kind != "invite" || acts[0].Status != models.ActionPending {
			t.Fatalf("actions after the same decision twice = %+v, want one pending invite", acts)
		}
		if st := f.state(t, "jo", "webmasters-pro"); st.State != "eligible" || st.Version != acts[0].StateVersion {
			t.Fatalf("state = %+v, action's version %d", st, acts[0].StateVersion)
		}
	})
}

func TestDB_Reopen(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		f.put(t, "kim", 77, "customers")
		if err := f.db.Close(); err != nil {
			t.Fatal(err)
		}
		db := modelstest.MustOpen(t, spec)
		s := models.NewStore(db, f.store.Rules(), models.Options{})
		v, err := s.FindMember(context.Background(), "kim")
		if err != nil || v.Member.Karma != 77 || v.Chats[1].State != "needs_link" {
			t.Fatalf("after reopen: %+v, %v", v, err)
		}
	})
}

func TestDB_Migrate(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		db := modelstest.MustOpen(t, spec)
		ctx := context.Background()
		if applied, err := db.Migrate(ctx); err != nil || len(applied) != 0 {
			t.Fatalf("second migrate = %v, %v", applied, err)
		}
		if err := db.CheckSchema(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.Gorm().Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", 999, "9999_future.sql", "now").Error; err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx); err == nil {
			t.Fatal("migrate accepted a schema newer than the build")
		}
		if err := db.CheckSchema(ctx); err == nil {
			t.Fatal("check accepted a schema newer than the build")
		}
	})
}

func TestOpen_BadSpec(t *testing.T) {
	for _, spec := range []string{"", "postgres:x", "sqlite:", "mysql:not a dsn((("} {
		if _, err := models.Open(context.Background(), spec, models.OpenOptions{}); err == nil {
			t.Errorf("Open(%q) succeeded", spec)
		}
	}
}

func TestStore_BindChat(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		if err := f.store.BindChat(ctx, "webmasters-pro", -1001234567890, "userbot"); err != nil {
			t.Fatal(err)
		}
		if err := f.store.BindChat(ctx, "webmasters-pro", -1001234567890, "userbot"); err != nil {
			t.Fatalf("rebinding the same pair: %v", err)
		}
		if err := f.store.BindChat(ctx, "customers-club", -1001234567890, "admin"); !errors.Is(err, models.ErrChatBound) {
			t.Fatalf("binding one Telegram chat twice: %v", err)
		}
		if err := f.store.BindChat(ctx, "nope", -1009, "admin"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown key: %v", err)
		}
		sums, err := f.store.ChatSummaries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sums[0].TgChatID == nil || *sums[0].TgChatID != -1001234567890 || sums[1].TgChatID != nil {
			t.Fatalf("summaries = %+v", sums)
		}
		ev, err := f.store.Events(ctx, models.EventFilter{Chat: "webmasters-pro", Kind: models.EventChatBound})
		if err != nil {
			t.Fatal(err)
		}
		if len(ev) != 1 {
			t.Fatalf("bind events = %d", len(ev))
		}
	})
}

// TestStore_ReadsDuringLongWrite: a write transaction that takes its time
// (a bulk import) does not stall reads, health or metrics.
func TestStore_ReadsDuringLongWrite(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		f.put(t, "lee", 120, "webmasters")
		tx := f.db.Gorm().Begin()
		if err := tx.Exec("UPDATE members SET karma = 1 WHERE external_id = ?", "lee").Error; err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		v, err := f.store.FindMember(ctx, "lee")
		if err != nil {
			t.Fatalf("read during a write: %v", err)
		}
		if v.Member.Karma != 120 {
			t.Fatalf("read saw uncommitted karma %d", v.Member.Karma)
		}
		if err := f.db.Ping(ctx); err != nil {
			t.Fatalf("ping during a write: %v", err)
		}
		if _, err := f.store.ChatSummaries(ctx); err != nil {
			t.Fatalf("summaries during a write: %v", err)
		}
	})
}

func TestStore_ListMembers(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		f.put(t, "a1", 150, "webmasters")
		f.put(t, "a2", 10, "webmasters")
		f.put(t, "a3", 200, "webmasters")
		f.put(t, "b1", 60, "customers")
		f.link(t, "a3", 4401)
		ids := func(items []models.MemberListItem) string {
			var s []string
			for _, it := range items {
				x := it.ExternalID
				if it.State != nil {
					x += ":" + *it.State
				}
				s = append(s, x)
			}
			return strings.Join(s, ",")
		}
		tests := []struct {
			name string
			f    models.MemberFilter
			want string
		}{
			{"all", models.MemberFilter{}, "a1,a2,a3,b1"},
			{"paged", models.MemberFilter{After: "a1", Limit: 2}, "a2,a3"},
			{"with chat", models.MemberFilter{Chat: "webmasters-pro"}, "a1:needs_link,a2:not_eligible,a3:eligible,b1:not_eligible"},
			{"needs link", models.MemberFilter{Chat: "webmasters-pro", State: gate.StateNeedsLink}, "a1:needs_link"},
			{"not eligible includes no row", models.MemberFilter{Chat: "webmasters-pro", State: gate.StateNotEligible}, "a2:not_eligible,b1:not_eligible"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := f.store.ListMembers(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if ids(got) != tt.want {
					t.Errorf("got %s, want %s", ids(got), tt.want)
				}
			})
		}
		if _, err := f.store.ListMembers(ctx, models.MemberFilter{Chat: "nope"}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("unknown chat: %v", err)
		}
	})
}

func TestStore_SetInChat(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		f.put(t, "nia", 150, "webmasters")
		f.link(t, "nia", 4301, "webmasters-pro")
		// Telegram may report what it reported before (a repeated
		// chat_member update, a participant list): nothing changes.
		for range 2 {
			v, err := f.store.SetInChat(ctx, "nia", "webmasters-pro", true, "bot")
			if err != nil {
				t.Fatalf("the same join reported again: %v", err)
			}
			if v.Chats[0].State != "member" || !v.Chats[0].InChat {
				t.Fatalf("state = %+v", v.Chats[0])
			}
		}
	})
}
