package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/karmagate/karmagate/lease"
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

// TestStore_MarkReconciled: the end of a scheduled pass is recorded under
// the reconcile lease's fencing token: by its holder, and not by a holder
// that lost the lease to another instance (its late record is refused).
func TestStore_MarkReconciled(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		ls := f.store.Leases()
		a, err := ls.Acquire(ctx, "reconcile", "a", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.MarkReconciled(lease.WithFence(ctx, a), a.At); err != nil {
			t.Fatal(err)
		}
		if last, err := f.store.LastReconcile(ctx); err != nil || !last.Equal(a.At) {
			t.Fatalf("last pass: %v, %v; want %v", last, err, a.At)
		}
		// a is taken over (it was a process of this host that is gone); its
		// late record counts for nothing, the new holder's does.
		b, err := ls.TakeFrom(ctx, "reconcile", "a", "b", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		late := a.At.Add(time.Hour)
		if err := f.store.MarkReconciled(lease.WithFence(ctx, a), late); !errors.Is(err, lease.ErrLost) {
			t.Fatalf("the stale holder's record: %v; want ErrLost", err)
		}
		if last, _ := f.store.LastReconcile(ctx); !last.Equal(a.At) {
			t.Fatalf("the stale holder's record counted: %v", last)
		}
		if err := f.store.MarkReconciled(lease.WithFence(ctx, b), b.At); err != nil {
			t.Fatal(err)
		}
		if last, _ := f.store.LastReconcile(ctx); !last.Equal(b.At) {
			t.Fatalf("last pass: %v; want the new holder's %v", last, b.At)
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
