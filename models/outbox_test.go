package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// claim leases due actions to owner, failing the test on an error.
func (f *fixture) claim(t *testing.T, owner string) []models.Action {
	t.Helper()
	got, err := f.store.ClaimActions(context.Background(), owner, 10, time.Minute)
	if err != nil {
		t.Fatalf("claim for %s: %v", owner, err)
	}
	return got
}

// kinds lists the actions' kinds, for messages and comparisons.
func kinds(as []models.Action) string {
	var ks []string
	for _, a := range as {
		ks = append(ks, a.Kind+"@"+a.ChatKey)
	}
	return strings.Join(ks, ",")
}

func TestStore_ClaimActions(t *testing.T) {
	// hal is exempt in webmasters-pro and a worker holds the invite; lifting
	// the override queues an uninvite behind it.
	setup := func(t *testing.T, spec string) (*fixture, models.Action) {
		t.Helper()
		f := newFixture(t, spec)
		ctx := context.Background()
		f.put(t, "hal", -20, "customers")
		f.link(t, "hal", 4105)
		if _, err := f.store.SetOverride(ctx, "hal", "webmasters-pro", gate.OverrideAlways, "admin"); err != nil {
			t.Fatal(err)
		}
		got := f.claim(t, "w1")
		if kinds(got) != "invite@webmasters-pro" {
			t.Fatalf("claim = %s", kinds(got))
		}
		if _, err := f.store.SetOverride(ctx, "hal", "webmasters-pro", gate.OverrideNone, "admin"); err != nil {
			t.Fatal(err)
		}
		if p := f.pending(t, "hal"); kinds(p) != "uninvite@webmasters-pro" {
			t.Fatalf("pending after lifting = %s", kinds(p))
		}
		return f, got[0]
	}
	t.Run("a later action waits while an earlier one runs", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f, invite := setup(t, spec)
			if got := f.claim(t, "w2"); len(got) != 0 {
				t.Fatalf("claimed %s while the invite runs", kinds(got))
			}
			if err := f.store.CompleteAction(context.Background(), invite.ID, "w1", "worker"); err != nil {
				t.Fatal(err)
			}
			if got := f.claim(t, "w2"); kinds(got) != "uninvite@webmasters-pro" {
				t.Fatalf("claim after the invite settled = %s", kinds(got))
			}
		})
	})
	t.Run("an expired lease hands out the earlier action alone", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f, invite := setup(t, spec)
			f.clock.Advance(2 * time.Minute)
			got := f.claim(t, "w2")
			if len(got) != 1 || got[0].ID != invite.ID || got[0].Attempts != 2 {
				t.Fatalf("claim after the lease ran out = %+v", got)
			}
		})
	})
	t.Run("failing for good releases the next", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f, invite := setup(t, spec)
			if err := f.store.FailAction(context.Background(), invite.ID, "w1", "worker", errors.New("USER_PRIVACY_RESTRICTED"), nil); err != nil {
				t.Fatal(err)
			}
			if got := f.claim(t, "w2"); kinds(got) != "uninvite@webmasters-pro" {
				t.Fatalf("claim after the invite failed = %s", kinds(got))
			}
		})
	})
}

func TestStore_DeleteMemberInviteInFlight(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		f.put(t, "ann", 150, "webmasters")
		f.link(t, "ann", 4201)
		invite := f.claim(t, "w1")
		if kinds(invite) != "invite@webmasters-pro" {
			t.Fatalf("claim = %s", kinds(invite))
		}
		n, err := f.store.DeleteMember(ctx, "ann", "api")
		if err != nil || n != 1 {
			t.Fatalf("delete = %d, %v", n, err)
		}
		p := f.pending(t, "ann")
		if kinds(p) != "uninvite@webmasters-pro" || p[0].TgUserID == nil || *p[0].TgUserID != 4201 {
			t.Fatalf("pending after delete = %+v", p)
		}
		if got := f.claim(t, "w2"); len(got) != 0 {
			t.Fatalf("claimed %s while the invite runs", kinds(got))
		}
		if err := f.store.CompleteAction(ctx, invite[0].ID, "w1", "worker"); err != nil {
			t.Fatal(err)
		}
		if got := f.claim(t, "w2"); kinds(got) != "uninvite@webmasters-pro" {
			t.Fatalf("claim after the invite settled = %s", kinds(got))
		}
	})
}

func TestStore_CompleteAction(t *testing.T) {
	t.Run("an old action leaves a member re-created under the same id alone", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := newFixture(t, spec)
			ctx := context.Background()
			f.put(t, "ann", 150, "webmasters")
			f.link(t, "ann", 4201)
			old := f.claim(t, "w1")
			if kinds(old) != "invite@webmasters-pro" {
				t.Fatalf("claim = %s", kinds(old))
			}
			if _, err := f.store.DeleteMember(ctx, "ann", "api"); err != nil {
				t.Fatal(err)
			}
			// The same id again, at the same state version as the old
			// invite's.
			f.put(t, "ann", 150, "webmasters")
			f.link(t, "ann", 4201)
			st := f.state(t, "ann", "webmasters-pro")
			if st.State != "eligible" || st.Version != old[0].StateVersion {
				t.Fatalf("re-created state = %+v, old invite at version %d", st, old[0].StateVersion)
			}
			// The new member's decisions do not cancel the old one's
			// compensation.
			p := f.pending(t, "ann")
			if kinds(p) != "uninvite@webmasters-pro,invite@webmasters-pro" || p[0].MemberID != old[0].MemberID || p[1].MemberID == old[0].MemberID {
				t.Fatalf("pending = %+v", p)
			}
			if err := f.store.CompleteAction(ctx, old[0].ID, "w1", "worker"); err != nil {
				t.Fatal(err)
			}
			if got := f.state(t, "ann", "webmasters-pro"); got.State != "eligible" || got.Version != st.Version {
				t.Fatalf("the old invite moved the new member: %+v", got)
			}
			// Two member rows: their actions do not wait for each other.
			if got := f.claim(t, "w2"); len(got) != 2 {
				t.Fatalf("claim = %s", kinds(got))
			}
		})
	})
}

func TestStore_FailAction(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		f.put(t, "ivy", 150, "webmasters")
		f.link(t, "ivy", 4106)
		got := f.claim(t, "w1")
		if len(got) != 1 {
			t.Fatalf("claim = %s", kinds(got))
		}
		// 2,000 characters of three and four bytes each: a cut by bytes
		// splits one.
		cause := strings.Repeat("€", 1000) + strings.Repeat("😀", 1000)
		if err := f.store.FailAction(ctx, got[0].ID, "w1", "worker", errors.New(cause), nil); err != nil {
			t.Fatalf("fail with a long multibyte cause: %v", err)
		}
		acts, err := f.store.Actions(ctx, "ivy")
		if err != nil {
			t.Fatal(err)
		}
		le := acts[0].LastError
		if acts[0].Status != models.ActionFailed || !utf8.ValidString(le) || utf8.RuneCountInString(le) > 1000 ||
			!strings.HasSuffix(le, "…") || !strings.HasPrefix(cause, strings.TrimSuffix(le, "…")) {
			t.Fatalf("status %s, last_error %d runes, valid %v: %.40q…", acts[0].Status, utf8.RuneCountInString(le), utf8.ValidString(le), le)
		}
		ev, err := f.store.Events(ctx, models.EventFilter{Member: "ivy", Kind: models.EventActionFailed})
		if err != nil {
			t.Fatal(err)
		}
		if len(ev) != 1 || !utf8.ValidString(ev[0].Detail) || utf8.RuneCountInString(ev[0].Detail) > 1000 {
			t.Fatalf("failure events = %d, detail valid %v", len(ev), len(ev) > 0 && utf8.ValidString(ev[0].Detail))
		}
	})
}
