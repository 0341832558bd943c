package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_Strangers: what an audit does with the accounts inside linked
// to no member, by the chat's strangers: rule and how it was bound.
func TestStore_Strangers(t *testing.T) {
	const chatID = -1001800000009
	rules := func(extra string) string {
		return "chats:\n  club:\n    title: Club\n    groups: [members]\n    min_karma: 10\n" + extra
	}
	tests := []struct {
		name   string
		rules  string
		byHand bool
		// what the audit queues for the strangers
		removals, tells int
		// what the sweep queues once remove_after has passed
		expired int
	}{
		{name: "bound by hand, no rule: kept", rules: rules(""), byHand: true},
		{name: "bound with no one's command, no rule: removed at once", rules: rules(""), removals: 2},
		{name: "keep", rules: rules("    strangers: keep\n")},
		{name: "remove_after", rules: rules("    strangers: {remove_after: 2h}\n"), byHand: true, tells: 2, expired: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			modelstest.Each(t, func(t *testing.T, spec string) {
				ctx := context.Background()
				db := modelstest.MustOpen(t, spec)
				clock := modelstest.NewClock(t0)
				s := models.NewStore(db, modelstest.MustRules(t, tt.rules), models.Options{Now: clock.Now})
				var err error
				if tt.byHand {
					err = s.BindChatBy(ctx, "club", chatID, 4100, "test")
				} else {
					err = s.BindChat(ctx, "club", chatID, "test")
				}
				if err != nil {
					t.Fatal(err)
				}
				a, err := s.RecordParticipants(ctx, "club", []int64{9001, 9002}, []int64{4100}, "audit")
				if err != nil {
					t.Fatal(err)
				}
				if a.Present != 2 {
					t.Errorf("audit: %+v", a)
				}
				count := func(kind string) int {
					as, err := s.Actions(ctx, "")
					if err != nil {
						t.Fatal(err)
					}
					n := 0
					for _, x := range as {
						if x.Kind == kind && x.Status != models.ActionCancelled {
							n++
						}
					}
					return n
				}
				if got := count(string(gate.ActionRemove)); got != tt.removals {
					t.Errorf("removals after the audit: %d, want %d", got, tt.removals)
				}
				if got := count(models.ActionTellStranger); got != tt.tells {
					t.Errorf("strangers told: %d, want %d", got, tt.tells)
				}
				p, err := s.ChatPeople(ctx, "club")
				if err != nil || p.Strangers != 2 {
					t.Errorf("ChatPeople = %+v, %v; want 2 strangers", p, err)
				}
				// A second audit starts no clock again and tells nobody twice.
				if _, err := s.RecordParticipants(ctx, "club", []int64{9001, 9002}, []int64{4100}, "audit"); err != nil {
					t.Fatal(err)
				}
				if got := count(models.ActionTellStranger); got != tt.tells {
					t.Errorf("strangers told after a second audit: %d, want %d", got, tt.tells)
				}
				clock.Advance(time.Hour)
				if n, err := s.ExpireStrangers(ctx, "sweep"); err != nil || n != 0 {
					t.Fatalf("ExpireStrangers before the clock ran out = %d, %v", n, err)
				}
				clock.Advance(90 * time.Minute)
				if n, err := s.ExpireStrangers(ctx, "sweep"); err != nil || n != tt.expired {
					t.Fatalf("ExpireStrangers = %d, %v; want %d", n, err, tt.expired)
				}
				if n, _ := s.ExpireStrangers(ctx, "sweep"); n != 0 {
					t.Errorf("a second sweep queued %d", n)
				}
				// One leaves: no stranger any more.
				if _, err := s.RecordMembership(ctx, chatID, 9002, false, "telegram"); err != nil {
					t.Fatal(err)
				}
				if p, _ := s.ChatPeople(ctx, "club"); p.Strangers != 1 {
					t.Errorf("after one left: %d strangers", p.Strangers)
				}
			})
		})
	}
}
