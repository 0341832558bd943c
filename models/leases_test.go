package models_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/karmagate/karmagate/lease"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_LeasesOfSilentHearts: the store's leases free a holder whose
// heart has been silent for models.InstanceStale, before its lease runs
// out; the silent holder's writes under its token are refused from then
// on, and its successor's go through. Taking or renewing a lease beats the
// holder's heart.
func TestStore_LeasesOfSilentHearts(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		for _, o := range []string{"A", "B"} {
			if err := f.store.Heartbeat(ctx, models.Instance{Owner: o, Host: "h", PID: 1, Version: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		ls := f.store.Leases()
		a, err := ls.Acquire(ctx, "poller", "A", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		save := func(l lease.Lease, id int64) error {
			_, err := f.store.SaveUpdates(lease.WithFence(ctx, l), []models.Update{{UpdateID: id, Lane: 1, Kind: "message", Payload: fmt.Sprintf(`{"update_id":%d}`, id)}})
			return err
		}
		// A renewal beats A's heart: aged, then renewed, A is alive.
		if err := models.AgeHeartbeat(ctx, f.store, "A", models.InstanceStale+time.Second); err != nil {
			t.Fatal(err)
		}
		if a, err = ls.Renew(ctx, a, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := ls.Acquire(ctx, "poller", "B", time.Hour); !errors.Is(err, lease.ErrHeld) {
			t.Fatalf("taken from a holder that just renewed: %v", err)
		}
		if err := save(a, 1); err != nil {
			t.Fatal(err)
		}
		// A's heart stops.
		if err := models.AgeHeartbeat(ctx, f.store, "A", models.InstanceStale+time.Second); err != nil {
			t.Fatal(err)
		}
		b, err := ls.Acquire(ctx, "poller", "B", time.Hour)
		if err != nil || b.Token != a.Token+1 {
			t.Fatalf("the lease of a silent heart: %+v %v; want taken with the next token", b, err)
		}
		if err := save(a, 2); !errors.Is(err, lease.ErrLost) {
			t.Fatalf("the silent holder's late write: %v; want lease.ErrLost", err)
		}
		if err := save(b, 3); err != nil {
			t.Fatalf("the successor's write: %v", err)
		}
		var ids []int64
		if err := f.store.DB().Gorm().Raw("SELECT update_id FROM updates ORDER BY update_id").Scan(&ids).Error; err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids) != "[1 3]" {
			t.Errorf("stored %v; want [1 3]", ids)
		}
	})
}
