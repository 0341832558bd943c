package models_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_Door: a request held at the door is opened once, decided by
// exactly one of the visits and the worker racing for it, and handed back
// to the worker when its answer did not reach Telegram.
func TestStore_Door(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		ctx := context.Background()
		now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		store := models.NewStore(modelstest.MustOpen(t, spec), modelstest.MustRules(t, modelstest.Rules), models.Options{Now: func() time.Time { return now }})
		if _, err := store.DoorFor(ctx, "webmasters-pro", 7); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("no door yet: %v", err)
		}
		p := models.DoorPayload{QueryID: "123", ChatID: -1001, UserChatID: 7, Date: now.Unix(), Lang: "en", FirstName: "Ann"}
		id, fresh, err := store.OpenDoor(ctx, "webmasters-pro", 7, p, now.Add(10*time.Minute))
		if err != nil || !fresh || id == 0 {
			t.Fatalf("open: %d %v %v", id, fresh, err)
		}
		if id2, fresh, err := store.OpenDoor(ctx, "webmasters-pro", 7, p, now.Add(time.Hour)); err != nil || fresh || id2 != id {
			t.Fatalf("open again: %d %v %v, want the same door, not fresh", id2, fresh, err)
		}
		d, err := store.DoorFor(ctx, "webmasters-pro", 7)
		if err != nil || !d.Open() || d.Payload != p || !d.DecideAt.Equal(now.Add(10*time.Minute)) || d.TgUserID != 7 {
			t.Fatalf("door %+v, %v", d, err)
		}
		var won atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				ok, err := store.CloseDoor(ctx, id, "approve: karma 150 >= 100")
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d visits decided the door, want 1", won.Load())
		}
		if d, _ = store.DoorFor(ctx, "webmasters-pro", 7); d.Open() || d.Outcome != "approve: karma 150 >= 100" {
			t.Errorf("after: %+v", d)
		}
		if err := store.ReopenDoor(ctx, id, errors.New("timeout")); err != nil {
			t.Fatal(err)
		}
		if d, _ = store.DoorFor(ctx, "webmasters-pro", 7); !d.Open() || !d.DecideAt.Equal(now) {
			t.Errorf("reopened: %+v, want open and due now", d)
		}
		as, err := store.ClaimActions(ctx, "w1", 10, time.Minute)
		if err != nil || len(as) != 1 || as[0].Kind != models.ActionDoor {
			t.Fatalf("claimed %+v, %v", as, err)
		}
		if ok, err := store.CloseDoor(ctx, id, "approve: x"); err != nil || ok {
			t.Errorf("a visit closes a door the worker holds: %v %v", ok, err)
		}
		if err := store.SetDoorOutcome(ctx, id, "decline: the time ran out"); err != nil {
			t.Fatal(err)
		}
		if err := store.CompleteAction(ctx, id, "w1", "test"); err != nil {
			t.Fatal(err)
		}
		if d, _ = store.DoorFor(ctx, "webmasters-pro", 7); d.Outcome != "decline: the time ran out" {
			t.Errorf("worker's outcome: %+v", d)
		}
	})
}
