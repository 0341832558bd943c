package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

const day = 24 * time.Hour

func TestParseRetention(t *testing.T) {
	def := models.DefaultRetention()
	if def.Events != 90*day || def.Notifications != 14*day || def.Actions != 14*day || def.Updates != 14*day {
		t.Fatalf("default retention = %v, want events 90d and 14d for the rest", def)
	}
	tests := []struct {
		in   string
		want string // the retention as String writes it, or the error's text
		ok   bool
	}{
		{"", "events=90d,notifications=14d,actions=14d,updates=14d", true},
		{"events=365d", "events=365d,notifications=14d,actions=14d,updates=14d", true},
		{" events=30d , updates=36h ", "events=30d,notifications=14d,actions=14d,updates=36h", true},
		{"notifications=7d,actions=2d", "events=90d,notifications=7d,actions=2d,updates=14d", true},
		{"events", "has no =", false},
		{"mails=3d", `unknown kind "mails"`, false},
		{"events=3w", "not an age", false},
		{"events=-3d", "not an age", false},
		{"events=12h", "less than a day", false},
		{"events=3d,events=4d", "given twice", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := models.ParseRetention(tt.in)
			switch {
			case tt.ok && err != nil:
				t.Fatalf("ParseRetention(%q) = %v", tt.in, err)
			case tt.ok && r.String() != tt.want:
				t.Errorf("ParseRetention(%q) = %s, want %s", tt.in, r, tt.want)
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("ParseRetention(%q) = %v, want an error with %q", tt.in, err, tt.want)
			}
		})
	}
}

// TestStore_Prune: each table keeps what is younger than its retention;
// pending, running and held actions stay whatever their age; an existing
// member keeps their last 1,000 events, a deleted one does not.
func TestStore_Prune(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		ctx := context.Background()
		db := modelstest.MustOpen(t, spec)
		clock := modelstest.NewClock(t0)
		s := models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{Now: clock.Now})
		g := db.Gorm()
		for _, id := range []string{"alice", "bob"} {
			if _, err := s.PutMember(ctx, mustInput(t, id, 10), "api"); err != nil {
				t.Fatal(err)
			}
		}
		now := t0.Add(200 * day)
		old, young := now.Add(-100*day), now.Add(-10*day)
		ptr := func(s string) *string { return &s }

		// Events: alice (exists) has 1,200 old ones; bob (exists) 5 old;
		// gone (deleted) 5 old; 5 old chat-level events; 3 young ones.
		var evs []models.Event
		for i := range 1200 {
			evs = append(evs, models.Event{At: old.Add(time.Duration(i) * time.Second), Actor: "test", Kind: "test.old", MemberExt: ptr("alice")})
		}
		for i := range 5 {
			at := old.Add(time.Hour + time.Duration(i)*time.Second)
			evs = append(evs,
				models.Event{At: at, Actor: "test", Kind: "test.old", MemberExt: ptr("bob")},
				models.Event{At: at, Actor: "test", Kind: "test.old", MemberExt: ptr("gone")},
				models.Event{At: at, Actor: "test", Kind: "test.old", ChatKey: ptr("webmasters-pro")})
		}
		for i := range 3 {
			evs = append(evs, models.Event{At: young.Add(time.Duration(i) * time.Second), Actor: "test", Kind: "test.young", MemberExt: ptr("gone")})
		}
		if err := g.CreateInBatches(evs, 200).Error; err != nil {
			t.Fatal(err)
		}

		// Notifications: 700 old (more than one chunk), 2 young.
		var ns []models.Notice
		for i := range 700 {
			ns = append(ns, models.Notice{IdemKey: fmt.Sprintf("old/%d", i), TgUserID: 4100, Kind: "reply", Status: models.NoticeSent, CreatedAt: old})
		}
		ns = append(ns, models.Notice{IdemKey: "young/1", TgUserID: 4100, Kind: "reply", Status: models.NoticeSent, CreatedAt: young},
			models.Notice{IdemKey: "young/2", TgUserID: 4101, Kind: "reply", Status: models.NoticeSending, CreatedAt: young})
		if err := g.CreateInBatches(ns, 200).Error; err != nil {
			t.Fatal(err)
		}

		// Actions: one of each status, old and young.
		statuses := []string{models.ActionDone, models.ActionFailed, models.ActionCancelled, models.ActionPending, models.ActionRunning, models.ActionHeld}
		var as []models.Action
		for _, st := range statuses {
			for _, at := range []time.Time{old, young} {
				as = append(as, models.Action{IdemKey: fmt.Sprintf("%s/%s", st, at.Format("0102")), Kind: "invite", MemberExt: "alice",
					ChatKey: "webmasters-pro", Status: st, NotBefore: at, CreatedAt: at, UpdatedAt: at})
			}
		}
		if err := g.Create(&as).Error; err != nil {
			t.Fatal(err)
		}

		// Updates: old done and failed ones, a young done one, an old
		// pending one.
		ups := []models.Update{
			{UpdateID: 1, Kind: "message", Payload: "{}", Status: models.UpdateDone, NotBefore: old, ReceivedAt: old, DoneAt: &old},
			{UpdateID: 2, Kind: "message", Payload: "{}", Status: models.UpdateFailed, NotBefore: old, ReceivedAt: old, DoneAt: &old},
			{UpdateID: 3, Kind: "message", Payload: "{}", Status: models.UpdateDone, NotBefore: young, ReceivedAt: young, DoneAt: &young},
			{UpdateID: 4, Kind: "message", Payload: "{}", Status: models.UpdatePending, NotBefore: old, ReceivedAt: old},
			{UpdateID: 5, Kind: "message", Payload: "{}", Status: models.UpdateDone, NotBefore: old, ReceivedAt: old, DoneAt: &old},
		}
		if err := g.Create(&ups).Error; err != nil {
			t.Fatal(err)
		}

		var aliceEvents int64
		if err := g.Table("events").Where("member_ext = ?", "alice").Count(&aliceEvents).Error; err != nil {
			t.Fatal(err)
		}
		// Deep-link tokens: one expired long ago, one still valid.
		for i, exp := range []time.Time{old, now.Add(time.Hour)} {
			rec := linking.TokenRecord{Hash: []byte(fmt.Sprintf("%032d", i)), MemberID: "alice", CreatedAt: exp.Add(-15 * time.Minute), ExpiresAt: exp}
			if err := s.Tokens().SaveToken(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		clock.Set(now)
		got, err := s.Prune(ctx, models.DefaultRetention())
		if err != nil {
			t.Fatal(err)
		}
		// alice's beyond her last 1,000; none of bob's, who has fewer;
		// gone's 5 old ones; the 5 old chat events.
		want := models.Pruned{Events: aliceEvents - models.KeepMemberEvents + 5 + 5, Notifications: 700, Actions: 3, Updates: 3, Tokens: 1}
		if got != want {
			t.Errorf("Prune = %+v, want %+v", got, want)
		}

		count := func(table, where string, args ...any) int64 {
			t.Helper()
			var n int64
			if err := g.Table(table).Where(where, args...).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count("events", "member_ext = ?", "alice"); n != models.KeepMemberEvents {
			t.Errorf("alice keeps %d events, want her last %d", n, models.KeepMemberEvents)
		}
		var oldest models.Event
		if err := g.Where("member_ext = ?", "alice").Order("id").Take(&oldest).Error; err != nil {
			t.Fatal(err)
		}
		if want := old.Add(200 * time.Second); !oldest.At.Equal(want) {
			t.Errorf("alice's oldest kept event is from %s, want %s (her newest are kept)", oldest.At, want)
		}
		for _, c := range []struct {
			what, table, where string
			args               []any
			want               int64
		}{
			{"bob's old events (he has fewer than 1,000)", "events", "member_ext = ? AND kind = ?", []any{"bob", "test.old"}, 5},
			{"a deleted member's old events", "events", "member_ext = ? AND kind = ?", []any{"gone", "test.old"}, 0},
			{"a deleted member's young events", "events", "member_ext = ? AND kind = ?", []any{"gone", "test.young"}, 3},
			{"old chat events", "events", "chat_key = ?", []any{"webmasters-pro"}, 0},
			{"young notifications", "notifications", "idem_key LIKE ?", []any{"young/%"}, 2},
			{"old notifications", "notifications", "idem_key LIKE ?", []any{"old/%"}, 0},
			{"young settled actions", "actions", "status IN ? AND updated_at = ?", []any{statuses[:3], young}, 3},
			{"unsettled actions, old and young", "actions", "status IN ?", []any{statuses[3:]}, 6},
			{"old processed updates", "updates", "update_id IN ?", []any{[]int{1, 2, 5}}, 0},
			{"the young update and the pending one", "updates", "update_id IN ?", []any{[]int{3, 4}}, 2},
			{"the valid deep-link token", "link_tokens", "1 = 1", nil, 1},
		} {
			if n := count(c.table, c.where, c.args...); n != c.want {
				t.Errorf("%s: %d rows, want %d", c.what, n, c.want)
			}
		}

		again, err := s.Prune(ctx, models.DefaultRetention())
		if err != nil {
			t.Fatal(err)
		}
		if again.Total() != 0 {
			t.Errorf("a second prune deleted %+v, want nothing", again)
		}
	})
}
