package models_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_LinkOrAsk: a member linked to one Telegram account is moved to
// another only by its confirmation (DecideRelink) or a replace link; the
// store alone guarantees it, whoever calls.
func TestStore_LinkOrAsk(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		f.put(t, "alice", 150, "webmasters")
		const alice, mallory, alice2 = 4101, 4666, 4102
		ask := func(u int64, replace bool) models.LinkResult {
			t.Helper()
			res, err := f.store.LinkOrAsk(ctx, "alice", models.LinkRequest{
				User: models.TelegramUser{ID: u}, Name: "Someone", Via: "token", Replace: replace, Expires: f.clock.Now().Add(15 * time.Minute),
			}, "bot")
			if err != nil {
				t.Fatalf("link or ask %d: %v", u, err)
			}
			return res
		}
		linkedTo := func(want int64) {
			t.Helper()
			v, err := f.store.FindMember(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if v.Member.TgUserID == nil || *v.Member.TgUserID != want {
				t.Fatalf("alice linked to %v, want %d", v.Member.TgUserID, want)
			}
		}
		decide := func(id, by int64, confirm bool) string {
			t.Helper()
			d, err := f.store.DecideRelink(ctx, id, by, confirm, "bot")
			if err != nil {
				t.Fatalf("decide %d by %d: %v", id, by, err)
			}
			return d.Outcome
		}

		if res := ask(alice, false); res.Pending != nil || res.View.Member.TgUserID == nil {
			t.Fatalf("first link: %+v", res)
		}
		if res := ask(alice, false); !res.Unchanged || res.Pending != nil {
			t.Fatalf("same account again: %+v", res)
		}
		r1 := ask(mallory, false).Pending
		if r1 == nil || r1.OldTgUserID != alice || r1.NewTgUserID != mallory || r1.Status != models.RelinkPending {
			t.Fatalf("mallory's request: %+v", r1)
		}
		linkedTo(alice)
		if again := ask(mallory, false).Pending; again == nil || again.ID != r1.ID {
			t.Fatalf("asking again made another request: %+v, want %d", again, r1.ID)
		}
		if got := decide(r1.ID, mallory, true); got != models.RelinkNotYours {
			t.Fatalf("mallory confirms her own request: %s", got)
		}
		linkedTo(alice)
		if got := decide(r1.ID, alice, false); got != models.RelinkRefused {
			t.Fatalf("alice refuses: %s", got)
		}
		if got := decide(r1.ID, alice, true); got != models.RelinkClosed {
			t.Fatalf("confirm after refuse: %s", got)
		}
		linkedTo(alice)

		r2 := ask(mallory, false).Pending
		f.clock.Advance(16 * time.Minute)
		if got := decide(r2.ID, alice, true); got != models.RelinkExpired {
			t.Fatalf("late confirm: %s", got)
		}
		linkedTo(alice)

		r3 := ask(alice2, false).Pending
		r4 := ask(mallory, false).Pending
		if got := decide(r3.ID, alice, true); got != models.RelinkConfirmed {
			t.Fatalf("alice confirms alice2: %s", got)
		}
		linkedTo(alice2)
		// Her other request is void: the account it would take from left.
		if got := decide(r4.ID, alice, true); got != models.RelinkClosed {
			t.Fatalf("the other request after the move: %s", got)
		}
		linkedTo(alice2)

		// replace moves at once and closes what is pending.
		r5 := ask(mallory, false).Pending
		if res := ask(alice, true); res.Pending != nil || res.PreviousAccount != alice2 {
			t.Fatalf("replace: %+v", res)
		}
		linkedTo(alice)
		if got := decide(r5.ID, alice2, true); got != models.RelinkClosed {
			t.Fatalf("a request after a replace: %s", got)
		}
		linkedTo(alice)
		if _, err := f.store.DecideRelink(ctx, 999999, alice, true, "bot"); err == nil {
			t.Fatal("an unknown request was decided")
		}
	})
}

// TestStore_LastReplyTo reads the newest answer to a person.
func TestStore_LastReplyTo(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		if _, ok, err := f.store.LastReplyTo(ctx, 7); err != nil || ok {
			t.Fatalf("none yet: %v %v", ok, err)
		}
		for i, kind := range []string{"reply", "reply", "join_declined"} {
			if _, err := f.store.BeginNotice(ctx, models.Notice{IdemKey: string(rune('a' + i)), TgUserID: 7, Kind: kind}); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Minute)
		}
		at, ok, err := f.store.LastReplyTo(ctx, 7)
		if err != nil || !ok || !at.Equal(t0.Add(time.Minute)) {
			t.Fatalf("last reply at %v (%v, %v), want %v", at, ok, err, t0.Add(time.Minute))
		}
	})
}

// TestDB_MigrateRelink: migration 0008 applies on a database at 6, and
// the schema is then current.
func TestDB_MigrateRelink(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		ctx := context.Background()
		db, err := models.Open(ctx, spec, models.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := models.MigrateTo(ctx, db, 6); err != nil {
			t.Fatal(err)
		}
		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(applied, "0008_relink.sql") {
			t.Fatalf("applied %v, want 0008_relink.sql among them", applied)
		}
		if err := db.CheckSchema(ctx); err != nil {
			t.Fatal(err)
		}
		if !db.Gorm().Migrator().HasTable("relinks") || !db.Gorm().Migrator().HasColumn("link_tokens", "replace_link") {
			t.Fatal("0008 did not make relinks and link_tokens.replace_link")
		}
	})
}

// TestStore_RelinkPersonalData: relink requests are in the member's export,
// go with an erasure (also those naming their account), and are pruned
// with the deep-link tokens once expired longer than the retention.
func TestStore_RelinkPersonalData(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		for _, id := range []string{"alice", "bob"} {
			f.put(t, id, 150, "webmasters")
		}
		f.link(t, "alice", 4101)
		f.link(t, "bob", 4102)
		ask := func(id string, u int64) *models.Relink {
			t.Helper()
			res, err := f.store.LinkOrAsk(ctx, id, models.LinkRequest{User: models.TelegramUser{ID: u, Username: "x_tg"}, Name: "X", Via: "widget", Expires: f.clock.Now().Add(15 * time.Minute)}, "test")
			if err != nil || res.Pending == nil {
				t.Fatalf("ask %s for %d: %+v %v", id, u, res, err)
			}
			return res.Pending
		}
		ask("alice", 4666)
		ask("bob", 4101) // alice's account asks for bob's link
		x, err := f.store.ExportMember(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(x.Relinks) != 2 {
			t.Fatalf("alice's export has %d relink requests, want 2: %+v", len(x.Relinks), x.Relinks)
		}
		if _, err := f.store.EraseMember(ctx, "alice", "test"); err != nil {
			t.Fatal(err)
		}
		var left []models.Relink
		if err := f.db.Gorm().Find(&left).Error; err != nil {
			t.Fatal(err)
		}
		if len(left) != 0 {
			t.Fatalf("after erasing alice: %+v", left)
		}

		ask("bob", 4777)
		f.clock.Advance(15*time.Minute + models.DefaultRetention().Updates + time.Hour)
		p, err := f.store.Prune(ctx, models.DefaultRetention())
		if err != nil {
			t.Fatal(err)
		}
		if err := f.db.Gorm().Find(&left).Error; err != nil {
			t.Fatal(err)
		}
		if len(left) != 0 || p.Tokens < 1 {
			t.Fatalf("after the prune: %+v (pruned %+v)", left, p)
		}
	})
}
