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

// TestStore_InstancesFreeTheWorkOfTheDead: work a registered process holds
// is another's as soon as its heart stopped for a few seconds, or at once
// when it is marked dead, not when its one-minute lease runs out. A living
// holder, or one that never registered, keeps it until its lease ends.
// Userbot accounts wait for a known death (a silent holder may still run
// its client).
func TestStore_InstancesFreeTheWorkOfTheDead(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		beat := func(owner string) {
			t.Helper()
			if err := f.store.Heartbeat(ctx, models.Instance{Owner: owner, Host: "h", PID: 1, Version: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		f.put(t, "a1", 150, "webmasters")
		f.link(t, "a1", 501)
		f.put(t, "a2", 150, "webmasters")
		f.link(t, "a2", 502)
		beat("alive")
		beat("silent")
		held, err := f.store.ClaimActions(ctx, "silent", 1, time.Minute)
		if err != nil || len(held) != 1 {
			t.Fatalf("claim: %v %v", held, err)
		}
		if _, err := f.store.ClaimActions(ctx, "unregistered", 1, time.Minute); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.store.ClaimActions(ctx, "alive", 10, time.Minute); len(got) != 0 {
			t.Fatalf("claimed %d actions held by living or unregistered owners", len(got))
		}
		if _, err := f.store.Leases().Acquire(ctx, "poller", "silent", time.Minute); err != nil {
			t.Fatalf("poller lease: %v", err)
		}
		if _, err := f.store.Leases().Acquire(ctx, "poller", "alive", time.Minute); !errors.Is(err, lease.ErrHeld) {
			t.Fatalf("took the poller lease from a living holder: %v", err)
		}
		// silent's heart stops.
		if err := models.AgeHeartbeat(ctx, f.store, "silent", models.InstanceStale+time.Second); err != nil {
			t.Fatal(err)
		}
		got, err := f.store.ClaimActions(ctx, "alive", 10, time.Minute)
		if err != nil || len(got) != 1 || got[0].ID != held[0].ID {
			t.Fatalf("after silent's heart stopped, claimed %v %v; want its action", got, err)
		}
		if _, err := f.store.Leases().Acquire(ctx, "poller", "alive", time.Minute); err != nil {
			t.Fatalf("the poller lease of a silent holder: %v; want taken", err)
		}
		// The silent process cannot settle what was taken from it.
		if err := f.store.CompleteAction(ctx, held[0].ID, "silent", "test"); err == nil {
			t.Error("a holder whose work was taken over settled it")
		}
		vs, err := f.store.Instances(ctx)
		if err != nil || len(vs) != 2 || vs[0].Owner != "alive" || !vs[0].Alive || vs[1].Alive {
			t.Fatalf("instances: %+v %v; want alive first, silent not alive", vs, err)
		}
		if err := f.store.RemoveInstance(ctx, "alive"); err != nil {
			t.Fatal(err)
		}
		if vs, _ := f.store.Instances(ctx); len(vs) != 1 {
			t.Errorf("after a clean shutdown: %+v", vs)
		}
	})
}
