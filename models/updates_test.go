package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_SaveUpdates_IDsStartAgain: a repeat of a stored update (the
// same content, written alike or not) is stored once; an update whose id a
// long-done update had, with other content, is a new one after Telegram
// started its ids again: stored, and processed after what arrived before
// it in its lane, whatever the ids say.
func TestStore_SaveUpdates_IDsStartAgain(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		save := func(ups ...models.Update) int {
			t.Helper()
			n, err := f.store.SaveUpdates(ctx, ups)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		up := func(id, lane int64, payload string) models.Update {
			return models.Update{UpdateID: id, Lane: lane, Kind: "message", Payload: payload}
		}
		if n := save(up(10, 7, `{"update_id":10,"message":{"text":"a"}}`), up(11, 7, `{"update_id":11,"message":{"text":"b"}}`)); n != 2 {
			t.Fatalf("stored %d, want 2", n)
		}
		claimed, err := f.store.ClaimUpdates(ctx, "w", 10, time.Minute)
		if err != nil || len(claimed) != 1 || claimed[0].UpdateID != 10 {
			t.Fatalf("claim: %+v %v", claimed, err)
		}
		if err := f.store.FinishUpdate(ctx, 10, "w", nil, nil); err != nil {
			t.Fatal(err)
		}
		// Telegram delivers 11 again, written differently.
		if n := save(up(11, 7, `{"message":{"text":"b"},  "update_id":11}`)); n != 0 {
			t.Errorf("a repeat stored as %d new", n)
		}
		// Ids start again lower: 10 is someone else's now, and arrives
		// after 11 in the same lane.
		if n := save(up(10, 7, `{"update_id":10,"message":{"text":"new"}}`)); n != 1 {
			t.Fatalf("the new update 10 stored as %d new, want 1", n)
		}
		var order []string
		for range 2 {
			c, err := f.store.ClaimUpdates(ctx, "w", 10, time.Minute)
			if err != nil || len(c) != 1 {
				t.Fatalf("claim: %+v %v", c, err)
			}
			order = append(order, c[0].Payload)
			if err := f.store.FinishUpdate(ctx, c[0].UpdateID, "w", nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		if order[0] != `{"update_id":11,"message":{"text":"b"}}` || order[1] != `{"update_id":10,"message":{"text":"new"}}` {
			t.Errorf("processed in the order %q; want 11 (arrived first), then the new 10", order)
		}
		// The same id twice more, each time other content, while the ones
		// before still wait: each is stored, none lost (the fuzzer found a
		// 500 here).
		for i, text := range []string{"again", "and again"} {
			if n := save(up(77, 9, `{"update_id":77,"message":{"text":"`+text+`"}}`)); n != 1 {
				t.Fatalf("update 77, #%d: stored %d, want 1", i+1, n)
			}
		}
		if n := save(up(77, 9, `{"update_id":77,"message":{"text":"third"}}`)); n != 1 {
			t.Fatalf("update 77, #3: stored %d, want 1", n)
		}
	})
}
