package models_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// dashboardStory plays six hours: alice and bob join Webmasters Pro in the
// second and third hour, carol joins Customers Club in the third, bob
// leaves in the fifth; Erin's and frank's invites are carried out in the
// fourth hour, one of them failing for good.
func dashboardStory(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	at := func(d time.Duration) { f.clock.Set(t0.Add(d)) }
	at(10 * time.Minute)
	f.put(t, "alice", 150, "webmasters")
	f.put(t, "bob", 200, "webmasters")
	f.put(t, "carol", 60, "customers")
	f.put(t, "dave", 10, "customers")
	f.put(t, "Erin_Q", 120, "webmasters")
	f.put(t, "frank", 300, "webmasters")
	at(30 * time.Minute)
	f.link(t, "alice", 4101)
	f.link(t, "bob", 4102)
	f.link(t, "carol", 4103)
	at(90 * time.Minute)
	f.link(t, "Erin_Q", 4105)
	f.link(t, "frank", 4106)
	if _, err := f.store.SetInChat(ctx, "alice", "webmasters-pro", true, "bot"); err != nil {
		t.Fatal(err)
	}
	at(150 * time.Minute)
	for _, j := range [][2]string{{"bob", "webmasters-pro"}, {"carol", "customers-club"}} {
		if _, err := f.store.SetInChat(ctx, j[0], j[1], true, "bot"); err != nil {
			t.Fatal(err)
		}
	}
	at(210 * time.Minute)
	claimed, err := f.store.ClaimActions(ctx, "w1", 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) < 2 {
		t.Fatalf("claimed %d actions; want at least 2", len(claimed))
	}
	for i, a := range claimed {
		if i == 0 {
			if err := f.store.FailAction(ctx, a.ID, "w1", "worker", errors.New("USER_PRIVACY_RESTRICTED"), nil); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := f.store.CompleteAction(ctx, a.ID, "w1", "worker"); err != nil {
			t.Fatal(err)
		}
	}
	at(270 * time.Minute)
	if _, err := f.store.SetInChat(ctx, "bob", "webmasters-pro", false, "bot"); err != nil {
		t.Fatal(err)
	}
	at(6 * time.Hour)
}

func TestStore_Overview(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		dashboardStory(t, f)
		ov, err := f.store.Overview(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ov.Members != 6 || ov.Linked != 5 {
			t.Errorf("members %d, linked %d; want 6, 5", ov.Members, ov.Linked)
		}
		if len(ov.Chats) != 2 {
			t.Fatalf("%d chats; want 2", len(ov.Chats))
		}
		all, err := f.store.Actions(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		wantOutbox := map[string]int64{}
		for _, a := range all {
			wantOutbox[a.Status]++
		}
		for st, n := range wantOutbox {
			if ov.Outbox[st] != n {
				t.Errorf("outbox %s = %d; want %d", st, ov.Outbox[st], n)
			}
		}
		for _, c := range ov.Chats {
			// Recount from each member's state, as the API shows it.
			var in, should int64
			states := map[gate.State]int64{}
			for _, id := range []string{"alice", "bob", "carol", "dave", "Erin_Q", "frank"} {
				st := f.state(t, id, c.Chat.Key)
				if st.InChat {
					in++
				}
				if slices.Contains(models.ShouldBeIn, gate.State(st.State)) {
					should++
				}
				states[gate.State(st.State)]++
			}
			if c.InChat != in || c.ShouldBeIn != should {
				t.Errorf("%s: in %d, should be in %d; want %d, %d", c.Chat.Key, c.InChat, c.ShouldBeIn, in, should)
			}
			for st, n := range states {
				if c.States[st] != n {
					t.Errorf("%s: %s = %d; want %d", c.Chat.Key, st, c.States[st], n)
				}
			}
			var pending int64
			for _, a := range all {
				if a.ChatKey == c.Chat.Key && (a.Status == models.ActionPending || a.Status == models.ActionRunning) {
					pending++
				}
			}
			if c.PendingTotal() != pending {
				t.Errorf("%s: %d pending; want %d", c.Chat.Key, c.PendingTotal(), pending)
			}
		}
		if got := ov.Chats[0]; got.Chat.Key != "webmasters-pro" || got.InChat != 1 {
			t.Errorf("first chat %s with %d in; want webmasters-pro with 1 (alice)", got.Chat.Key, got.InChat)
		}
	})
}

func TestStore_SearchMembers(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		dashboardStory(t, f)
		ctx := context.Background()
		ids := func(p models.MemberPage) []string {
			var out []string
			for _, v := range p.Members {
				out = append(out, v.Member.ExternalID)
			}
			return out
		}
		tests := []struct {
			name  string
			f     models.MemberSearch
			want  []string
			total int64
		}{
			{"all", models.MemberSearch{}, []string{"Erin_Q", "alice", "bob", "carol", "dave", "frank"}, 6},
			{"page two", models.MemberSearch{Offset: 2, Limit: 2}, []string{"bob", "carol"}, 6},
			{"case-insensitive", models.MemberSearch{Query: "ERIN"}, []string{"Erin_Q"}, 1},
			{"wildcards are literal", models.MemberSearch{Query: "n_q"}, []string{"Erin_Q"}, 1},
			{"percent matches nothing", models.MemberSearch{Query: "%"}, nil, 0},
			{"in the chat", models.MemberSearch{Chat: "webmasters-pro", InChat: true}, []string{"alice"}, 1},
			{"not eligible", models.MemberSearch{Chat: "webmasters-pro", States: []gate.State{gate.StateNotEligible}}, []string{"carol", "dave"}, 2},
			{"member", models.MemberSearch{Chat: "customers-club", States: []gate.State{gate.StateMember}}, []string{"carol"}, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p, err := f.store.SearchMembers(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(p), tt.want) || p.Total != tt.total {
					t.Errorf("got %v (total %d); want %v (total %d)", ids(p), p.Total, tt.want, tt.total)
				}
			})
		}
		t.Run("states match FindMember", func(t *testing.T) {
			p, err := f.store.SearchMembers(ctx, models.MemberSearch{})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range p.Members {
				for _, c := range v.Chats {
					want := f.state(t, v.Member.ExternalID, c.ChatKey)
					if c.State != want.State || c.Reason != want.Reason || c.InChat != want.InChat {
						t.Errorf("%s in %s: %s (%s); FindMember says %s (%s)", v.Member.ExternalID, c.ChatKey, c.State, c.Reason, want.State, want.Reason)
					}
				}
			}
		})
		t.Run("unknown chat", func(t *testing.T) {
			_, err := f.store.SearchMembers(ctx, models.MemberSearch{Chat: "nope", InChat: true})
			if !errors.Is(err, models.ErrNotFound) {
				t.Errorf("err %v; want ErrNotFound", err)
			}
		})
	})
}

func TestStore_PlannedRemovals(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		dashboardStory(t, f)
		ctx := context.Background()
		// carol's karma drops: Customers Club has no grace, so she is removed.
		if _, err := f.store.AddKarma(ctx, "carol", -50, "site"); err != nil {
			t.Fatal(err)
		}
		got, total, err := f.store.PlannedRemovals(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if total != 1 || len(got) != 1 || got[0].MemberExt != "carol" || got[0].ChatKey != "customers-club" {
			t.Fatalf("got %d of %d: %+v; want carol's removal from customers-club", len(got), total, got)
		}
		if _, total, err := f.store.PlannedRemovals(ctx, "webmasters-pro", 10); err != nil || total != 0 {
			t.Errorf("webmasters-pro: %d, %v; want none", total, err)
		}
		ovs, err := f.store.Overrides(ctx, "carol")
		if err != nil || len(ovs) != 0 {
			t.Fatalf("overrides %v, %v; want none", ovs, err)
		}
		if _, err := f.store.SetOverride(ctx, "carol", "customers-club", gate.OverrideAlways, "admin"); err != nil {
			t.Fatal(err)
		}
		if _, total, err := f.store.PlannedRemovals(ctx, "", 10); err != nil || total != 0 {
			t.Errorf("after exempting carol: %d planned, %v; want none", total, err)
		}
		if ovs, err := f.store.Overrides(ctx, "carol"); err != nil || ovs["customers-club"] != gate.OverrideAlways {
			t.Errorf("overrides %v, %v; want customers-club: always", ovs, err)
		}
	})
}

func TestStore_OverTime(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		dashboardStory(t, f)
		ctx := context.Background()
		tl := models.Timeline{From: t0, Step: time.Hour, N: 6}

		t.Run("members per chat", func(t *testing.T) {
			got, err := f.store.MembersOverTime(ctx, tl)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]int64{
				"webmasters-pro": {0, 1, 2, 2, 1, 1},
				"customers-club": {0, 0, 1, 1, 1, 1},
			}
			for k, w := range want {
				if !slices.Equal(got[k], w) {
					t.Errorf("%s: %v; want %v", k, got[k], w)
				}
			}
		})

		all, err := f.store.Actions(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Run("actions per hour", func(t *testing.T) {
			got, err := f.store.ActionsOverTime(ctx, tl)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]int64{}
			for _, a := range all {
				k := a.Kind
				switch a.Status {
				case models.ActionFailed:
					k = "failed"
				case models.ActionDone:
				default:
					continue
				}
				if want[k] == nil {
					want[k] = make([]int64, tl.N)
				}
				want[k][int(a.UpdatedAt.Sub(t0)/time.Hour)]++
			}
			if len(want) < 2 || want["failed"][3] != 1 {
				t.Fatalf("the story should have done and failed actions in the fourth hour: %v", want)
			}
			for k, w := range want {
				if !slices.Equal(got[k], w) {
					t.Errorf("%s: %v; want %v", k, got[k], w)
				}
			}
			if len(got) != len(want) {
				t.Errorf("series %v; want %v", got, want)
			}
		})
		t.Run("outbox depth", func(t *testing.T) {
			got, err := f.store.OutboxOverTime(ctx, tl)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]int64, tl.N)
			for i := range want {
				end := t0.Add(time.Duration(i+1) * time.Hour)
				for _, a := range all {
					settled := a.Status == models.ActionDone || a.Status == models.ActionFailed || a.Status == models.ActionCancelled
					if a.CreatedAt.Before(end) && (!settled || !a.UpdatedAt.Before(end)) {
						want[i]++
					}
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("depth %v; want %v", got, want)
			}
			if slices.Max(want) == 0 {
				t.Errorf("the story queued nothing: %v", want)
			}
		})
	})
}
