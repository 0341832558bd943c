package models_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// callbacks returns the callbacks queued so far, oldest first.
func (f *fixture) callbacks(t *testing.T) []models.Callback {
	t.Helper()
	all, err := f.store.Actions(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var out []models.Callback
	for _, a := range all {
		if a.Kind != models.ActionCallback {
			continue
		}
		if a.MemberID != 0 || a.Payload == nil || a.IdemKey == "" {
			t.Fatalf("callback action %+v: want member_id 0 and a payload", a)
		}
		var cb models.Callback
		if err := json.Unmarshal([]byte(*a.Payload), &cb); err != nil {
			t.Fatalf("callback payload %q: %v", *a.Payload, err)
		}
		if a.IdemKey != "cb/"+cb.ID || a.MemberExt != cb.Member || a.ChatKey != cb.Chat || a.Reason != cb.Type {
			t.Fatalf("callback action %+v does not match its payload %+v", a, cb)
		}
		out = append(out, cb)
	}
	return out
}

// types lists the callbacks' types and chats, for comparisons.
func types(cbs []models.Callback) []string {
	var out []string
	for _, cb := range cbs {
		s := cb.Type
		if cb.Member != "" {
			s = cb.Member + " " + s
		}
		if cb.Chat != "" {
			s += "@" + cb.Chat
		}
		out = append(out, s)
	}
	return out
}

// completeKind claims due actions and completes the one of kind in chat.
func (f *fixture) completeKind(t *testing.T, kind gate.ActionKind, chat string) models.Action {
	t.Helper()
	for _, a := range f.claim(t, "w1") {
		if a.Kind == string(kind) && a.ChatKey == chat {
			if err := f.store.CompleteAction(context.Background(), a.ID, "w1", "worker"); err != nil {
				t.Fatalf("complete %s: %v", kind, err)
			}
			return a
		}
	}
	t.Fatalf("no %s action in %s to claim", kind, chat)
	return models.Action{}
}

func TestStore_Callbacks(t *testing.T) {
	const chatID = -1001800000001
	setup := func(t *testing.T, spec string, on bool) *fixture {
		t.Helper()
		db := modelstest.MustOpen(t, spec)
		clock := modelstest.NewClock(t0)
		f := &fixture{db: db, clock: clock, store: models.NewStore(db, modelstest.MustRules(t, modelstest.Rules),
			models.Options{Now: clock.Now, Callbacks: on})}
		if err := f.store.BindChat(context.Background(), "webmasters-pro", chatID, "admin"); err != nil {
			t.Fatal(err)
		}
		return f
	}
	// story links alice, lets her in, takes her through grace to removal,
	// and unlinks her.
	story := func(t *testing.T, f *fixture) {
		t.Helper()
		ctx := context.Background()
		f.put(t, "alice", 150, "webmasters")
		if _, err := f.store.RelinkTelegram(ctx, "alice", models.TelegramUser{ID: 4101, Username: "alice_tg"}, "bot"); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second report changes nothing
			if _, err := f.store.RecordMembership(ctx, chatID, 4101, true, "telegram"); err != nil {
				t.Fatal(err)
			}
		}
		f.put(t, "alice", 85, "webmasters")
		f.completeKind(t, gate.ActionWarn, "webmasters-pro")
		f.clock.Advance(25 * time.Hour)
		if _, err := f.store.ExpireGrace(ctx, "grace"); err != nil {
			t.Fatal(err)
		}
		f.completeKind(t, gate.ActionRemove, "webmasters-pro")
		// Telegram confirms the removal: no news.
		if _, err := f.store.RecordMembership(ctx, chatID, 4101, false, "telegram"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.UnlinkTelegram(ctx, "alice", "bot"); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("off: nothing is queued", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := setup(t, spec, false)
			story(t, f)
			if got := f.callbacks(t); len(got) != 0 {
				t.Fatalf("callbacks = %v, want none", types(got))
			}
		})
	})
	t.Run("link, join, warn, remove and unlink each queue one", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := setup(t, spec, true)
			story(t, f)
			got := f.callbacks(t)
			want := []string{"chat.bound@webmasters-pro", "alice member.linked", "alice member.joined@webmasters-pro", "alice member.warned@webmasters-pro",
				"alice member.removed@webmasters-pro", "alice member.unlinked"}
			if !slices.Equal(types(got), want) {
				t.Fatalf("callbacks = %q, want %q", types(got), want)
			}
			got = got[1:] // the chat's binding, before the story: about no member
			ids := map[string]bool{}
			for _, cb := range got {
				if len(cb.ID) != 32 || ids[cb.ID] {
					t.Errorf("event id %q: want 32 hex digits, unique", cb.ID)
				}
				ids[cb.ID] = true
				if cb.Telegram == nil || cb.Telegram.UserID != 4101 {
					t.Errorf("%s: telegram = %+v, want user 4101", cb.Type, cb.Telegram)
				}
				if cb.Seq != 0 {
					t.Errorf("%s: seq = %d stored; the sender fills it in", cb.Type, cb.Seq)
				}
			}
			if u := got[0].Telegram.Username; u == nil || *u != "alice_tg" {
				t.Errorf("linked: username = %v, want alice_tg", u)
			}
			if got[1].ChatTitle != "Webmasters Pro" || !got[1].At.Equal(t0) {
				t.Errorf("joined = %+v, want the chat's title and the time of the report", got[1])
			}
			if w := got[2]; w.Until == nil || !w.Until.Equal(t0.Add(24*time.Hour)) || w.Reason == "" {
				t.Errorf("warned = %+v, want until %s and a reason", w, t0.Add(24*time.Hour))
			}
			if r := got[3]; r.Reason == "" || !r.At.Equal(t0.Add(25*time.Hour)) {
				t.Errorf("removed = %+v, want a reason, at the completion", r)
			}
		})
	})
	t.Run("joined and left as Telegram reports them", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := setup(t, spec, true)
			ctx := context.Background()
			f.put(t, "bob", 150, "webmasters")
			f.link(t, "bob", 4102)
			for _, in := range []bool{true, false, false, true} {
				if _, err := f.store.RecordMembership(ctx, chatID, 4102, in, "telegram"); err != nil {
					t.Fatal(err)
				}
			}
			want := []string{"chat.bound@webmasters-pro", "bob member.linked", "bob member.joined@webmasters-pro", "bob member.left@webmasters-pro", "bob member.joined@webmasters-pro"}
			if got := types(f.callbacks(t)); !slices.Equal(got, want) {
				t.Fatalf("callbacks = %q, want %q", got, want)
			}
		})
	})
	t.Run("a Telegram account linked to another member moves with its chats", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := setup(t, spec, true)
			ctx := context.Background()
			f.put(t, "carol", 150, "webmasters")
			f.put(t, "dave", 150, "webmasters")
			if _, err := f.store.RelinkTelegram(ctx, "carol", models.TelegramUser{ID: 4103}, "bot"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.RecordMembership(ctx, chatID, 4103, true, "telegram"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.RelinkTelegram(ctx, "dave", models.TelegramUser{ID: 4103}, "bot"); err != nil {
				t.Fatal(err)
			}
			want := []string{"chat.bound@webmasters-pro", "carol member.linked", "carol member.joined@webmasters-pro",
				"carol member.left@webmasters-pro", "carol member.unlinked", "dave member.linked", "dave member.joined@webmasters-pro"}
			if got := types(f.callbacks(t)); !slices.Equal(got, want) {
				t.Fatalf("callbacks = %q, want %q", got, want)
			}
		})
	})
	t.Run("the member's later decisions cancel no callback", func(t *testing.T) {
		modelstest.Each(t, func(t *testing.T, spec string) {
			f := setup(t, spec, true)
			ctx := context.Background()
			f.put(t, "erin", 150, "webmasters")
			f.link(t, "erin", 4104)
			if _, err := f.store.DeleteMember(ctx, "erin", "api"); err != nil {
				t.Fatal(err)
			}
			all, err := f.store.Actions(ctx, "erin")
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, a := range all {
				if a.Kind == models.ActionCallback {
					n++
					if a.Status != models.ActionPending {
						t.Errorf("callback %s is %s, want pending", a.IdemKey, a.Status)
					}
				}
			}
			if n != 1 {
				t.Fatalf("%d callbacks, want the linked one", n)
			}
		})
	})
}
