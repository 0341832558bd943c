package models_test

import (
	"context"
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_RecordMembershipOnce: a chat_member update handled again (its
// processor was killed after the join committed, before the update was
// marked done) records nothing the second time, even after a removal
// followed the join; an update that was never stored, or none, records as
// RecordMembership does.
func TestStore_RecordMembershipOnce(t *testing.T) {
	ctx := context.Background()
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		if err := f.store.BindChat(ctx, "customers-club", clubChat, "test"); err != nil {
			t.Fatal(err)
		}
		f.put(t, "carol", 60, "customers")
		f.link(t, "carol", 4201)
		if _, err := f.store.SaveUpdates(ctx, []models.Update{
			{UpdateID: 700001, Lane: 4201, Kind: "chat_member", Payload: "{}"},
			{UpdateID: 700002, Lane: 4201, Kind: "chat_member", Payload: "{}"},
		}); err != nil {
			t.Fatal(err)
		}
		joins := func() int {
			t.Helper()
			evs, err := f.store.Events(ctx, models.EventFilter{Member: "carol", Kind: models.EventMembership})
			if err != nil {
				t.Fatal(err)
			}
			return len(evs)
		}
		inChat := func() bool {
			t.Helper()
			v, err := f.store.FindMember(ctx, "carol")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range v.Chats {
				if c.ChatKey == "customers-club" {
					return c.InChat
				}
			}
			t.Fatal("no customers-club state")
			return false
		}

		res, err := f.store.RecordMembershipOnce(ctx, 700001, clubChat, 4201, true, "telegram")
		if err != nil || res.Repeat || !inChat() || joins() != 1 {
			t.Fatalf("first join: %+v, %v, in %v, %d events", res, err, inChat(), joins())
		}
		// She leaves (a later update), then the join's update comes again.
		if _, err := f.store.RecordMembershipOnce(ctx, 700002, clubChat, 4201, false, "telegram"); err != nil || inChat() {
			t.Fatalf("leave: %v, in %v", err, inChat())
		}
		res, err = f.store.RecordMembershipOnce(ctx, 700001, clubChat, 4201, true, "telegram")
		if err != nil || !res.Repeat {
			t.Fatalf("the join again: %+v, %v; want a repeat", res, err)
		}
		if inChat() || joins() != 2 {
			t.Fatalf("the join applied twice: in %v, %d membership events (want out, 2)", inChat(), joins())
		}
		u, err := f.store.FindUpdate(ctx, 700001)
		if err != nil || u.AppliedAt == nil {
			t.Fatalf("update 700001: %+v, %v; want applied", u, err)
		}
		// An update the store never saw, and none at all, still record.
		if res, err := f.store.RecordMembershipOnce(ctx, 799999, clubChat, 4201, true, "telegram"); err != nil || res.Repeat || !inChat() {
			t.Fatalf("unsaved update: %+v, %v, in %v", res, err, inChat())
		}
		if res, err := f.store.RecordMembership(ctx, clubChat, 4201, false, "telegram"); err != nil || res.Repeat || inChat() {
			t.Fatalf("no update: %+v, %v, in %v", res, err, inChat())
		}
	})
}
