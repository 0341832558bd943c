package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_ReplanEvery: re-planning everyone writes only the members whose
// plan changed (a karma change behind the store's back, a grace period
// that ended) and counts what it queued.
func TestStore_ReplanEvery(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		f.put(t, "ann", 150, "webmasters")
		f.link(t, "ann", 11, "webmasters-pro")
		f.put(t, "ben", 150, "webmasters")
		f.link(t, "ben", 12, "webmasters-pro")
		f.put(t, "cat", 60, "customers")
		f.put(t, "dan", 10, "customers")
		r, err := f.store.ReplanEvery(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		if r.Members != 4 || r.Changed != 0 || r.Queued.Total() != 0 {
			t.Fatalf("nothing changed: %+v", r)
		}
		// Behind the store's back: Ann below leave_below (grace, a
		// warning), Dan above customers-club's bar (not linked: no action).
		if err := f.db.Gorm().Exec("UPDATE members SET karma = 80 WHERE external_id = 'ann'").Error; err != nil {
			t.Fatal(err)
		}
		if err := f.db.Gorm().Exec("UPDATE members SET karma = 60 WHERE external_id = 'dan'").Error; err != nil {
			t.Fatal(err)
		}
		r, err = f.store.ReplanEvery(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		if r.Members != 4 || r.Changed != 2 || r.Queued != (models.Queued{Warnings: 1}) {
			t.Fatalf("two changed: %+v", r)
		}
		if st := f.state(t, "ann", "webmasters-pro"); st.State != "grace" {
			t.Fatalf("ann: %+v", st)
		}
		f.clock.Advance(25 * time.Hour)
		r, err = f.store.ReplanEvery(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		if r.Changed != 1 || r.Queued != (models.Queued{Removals: 1}) {
			t.Fatalf("grace over: %+v", r)
		}
		if n, err := f.store.ReplanAll(ctx, "test"); err != nil || n != 4 {
			t.Fatalf("ReplanAll: %d, %v", n, err)
		}
	})
}

// TestStore_ClaimReconcile: the scheduled pass's lease goes to one owner
// at a time, is due again only after every, and passes to another owner
// once it expires.
func TestStore_ClaimReconcile(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		claim := func(owner string, want bool) {
			t.Helper()
			got, err := f.store.ClaimReconcile(ctx, owner, time.Hour, 10*time.Minute)
			if err != nil || got != want {
				t.Fatalf("claim by %s at %s: %v, %v; want %v", owner, f.clock.Now().Format(time.TimeOnly), got, err, want)
			}
		}
		claim("a", true)
		claim("b", false) // a holds it
		f.clock.Advance(9 * time.Minute)
		claim("a", true) // a renews it
		f.clock.Advance(9 * time.Minute)
		claim("b", false) // renewed: not expired
		started := f.clock.Now()
		if err := f.store.FinishReconcile(ctx, "a", started); err != nil {
			t.Fatal(err)
		}
		if last, err := f.store.LastReconcile(ctx); err != nil || !last.Equal(started) {
			t.Fatalf("last pass: %v, %v", last, err)
		}
		claim("b", false) // not due for an hour
		f.clock.Advance(61 * time.Minute)
		claim("b", true)
		claim("a", false)
		// b dies holding the lease; after it expires a takes over, and b's
		// late finish records nothing.
		f.clock.Advance(11 * time.Minute)
		claim("a", true)
		if err := f.store.FinishReconcile(ctx, "b", f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if last, _ := f.store.LastReconcile(ctx); !last.Equal(started) {
			t.Fatalf("b's late finish counted: %v", last)
		}
	})
}

// TestStore_AuditResults: an audit's outcome is read back from its own
// fields, not from the audit trail's sentence: rewording the event (or a
// count the sentence never held, the admins) changes nothing.
func TestStore_AuditResults(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		if err := f.store.BindChat(ctx, "webmasters-pro", -1001, "test"); err != nil {
			t.Fatal(err)
		}
		f.put(t, "gone", 150, "webmasters")
		f.link(t, "gone", 12, "webmasters-pro")
		f.put(t, "low", 5, "webmasters")
		f.link(t, "low", 13)
		since := f.clock.Now()
		want, err := f.store.RecordParticipants(ctx, "webmasters-pro", []int64{13, 99}, []int64{7, 8}, "audit")
		if err != nil {
			t.Fatal(err)
		}
		if want.Admins != 2 || want.Strangers != 1 || want.Left != 1 {
			t.Fatalf("audit: %+v", want)
		}
		if err := f.db.Gorm().Exec("UPDATE events SET detail = 'reworded' WHERE kind = ?", models.EventAudited).Error; err != nil {
			t.Fatal(err)
		}
		got, open, err := f.store.AuditResults(ctx, []string{"webmasters-pro", "customers-club"}, since)
		if err != nil {
			t.Fatal(err)
		}
		if open != 0 || len(got) != 1 || got["webmasters-pro"] != want {
			t.Fatalf("AuditResults = %+v, %d; want %+v", got, open, want)
		}
		got, _, err = f.store.AuditResults(ctx, []string{"webmasters-pro"}, since.Add(time.Second))
		if err != nil || len(got) != 0 {
			t.Fatalf("an audit before since: %+v, %v", got, err)
		}
	})
}
