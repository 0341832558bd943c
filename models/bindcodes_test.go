package models_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_BindCodes: a bind code is for one chat, spent once, dead after
// 15 minutes, and concurrent uses of one code succeed once.
func TestStore_BindCodes(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		if _, err := f.store.IssueBindCode(ctx, "nosuch", "admin"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("code for an unknown chat: %v", err)
		}
		issue := func() models.BindCode {
			t.Helper()
			c, err := f.store.IssueBindCode(ctx, "webmasters-pro", "dashboard:root")
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		c := issue()
		if len(c.Code) < 20 || c.Command() != "/bind webmasters-pro "+c.Code || !c.ExpiresAt.Equal(t0.Add(15*time.Minute)) {
			t.Fatalf("code = %+v, command %q", c, c.Command())
		}
		for _, tc := range []struct {
			name, chat, code string
		}{
			{"empty", "webmasters-pro", ""},
			{"wrong code", "webmasters-pro", strings.Repeat("a", len(c.Code))},
			{"another chat", "customers-club", c.Code},
		} {
			if err := f.store.TakeBindCode(ctx, tc.chat, tc.code, 42); !errors.Is(err, models.ErrBindCode) {
				t.Errorf("%s: %v, want ErrBindCode", tc.name, err)
			}
		}
		if err := f.store.TakeBindCode(ctx, "webmasters-pro", c.Code, 42); err != nil {
			t.Fatalf("first use: %v", err)
		}
		if err := f.store.TakeBindCode(ctx, "webmasters-pro", c.Code, 42); !errors.Is(err, models.ErrBindCode) {
			t.Fatalf("second use: %v", err)
		}
		if key, by, err := f.store.BindCodeSpent(ctx, c.Code); err != nil || key != "webmasters-pro" || by != 42 {
			t.Fatalf("who spent it: %q %d %v", key, by, err)
		}
		if _, _, err := f.store.BindCodeSpent(ctx, strings.Repeat("b", 26)); !errors.Is(err, models.ErrBindCode) {
			t.Fatalf("who spent an unknown code: %v", err)
		}

		expired := issue()
		f.clock.Advance(15*time.Minute + time.Second)
		if err := f.store.TakeBindCode(ctx, "webmasters-pro", expired.Code, 42); !errors.Is(err, models.ErrBindCode) {
			t.Fatalf("expired code: %v", err)
		}

		racy := issue()
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, lost := 0, 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := f.store.TakeBindCode(ctx, "webmasters-pro", racy.Code, int64(100+i))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, models.ErrBindCode):
					lost++
				default:
					t.Errorf("concurrent use: %v", err)
				}
			}()
		}
		wg.Wait()
		if won != 1 || lost != 7 {
			t.Fatalf("8 concurrent uses: %d succeeded, %d refused; want 1 and 7", won, lost)
		}
		evs, err := f.store.Events(ctx, models.EventFilter{Chat: "webmasters-pro", Kind: models.EventBindCodeUsed})
		if err != nil || len(evs) != 2 {
			t.Fatalf("bindcode.used events = %d (%v), want 2", len(evs), err)
		}
		if n, err := f.store.PruneBindCodes(ctx, f.clock.Now().Add(time.Hour)); err != nil || n != 3 {
			t.Fatalf("pruned %d (%v), want 3", n, err)
		}
	})
}

// TestStore_RebindForgetsLinks (issue 13, attack 12): a chat moved to
// another Telegram group forgets the old group's join link and the
// personal links made for it; a callback tells the website.
func TestStore_RebindForgetsLinks(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		db := modelstest.MustOpen(t, spec)
		clock := modelstest.NewClock(t0)
		f := &fixture{db: db, clock: clock, store: models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{Now: clock.Now, Callbacks: true})}
		ctx := context.Background()
		f.put(t, "alice", 150, "webmasters")
		if err := f.store.BindChat(ctx, "webmasters-pro", -1001, "bot:1"); err != nil {
			t.Fatal(err)
		}
		if err := f.store.SetJoinLink(ctx, "webmasters-pro", "https://t.me/+old"); err != nil {
			t.Fatal(err)
		}
		v, err := f.store.FindMember(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.SaveMemberLink(ctx, models.MemberLink{MemberID: v.Member.ID, ChatKey: "webmasters-pro", Link: "https://t.me/+alice", ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}

		t.Run("rebind", func(t *testing.T) {
			if err := f.store.BindChat(ctx, "webmasters-pro", -1002, "bot:2"); err != nil {
				t.Fatal(err)
			}
			row, err := f.store.ChatRow(ctx, "webmasters-pro")
			if err != nil {
				t.Fatal(err)
			}
			if row.TgChatID == nil || *row.TgChatID != -1002 || row.JoinLink != nil || row.BotStatus != "" || row.CanInvite {
				t.Errorf("after the rebind: chat %v, join link %v, bot %q invite %v; want -1002 and no link", row.TgChatID, row.JoinLink, row.BotStatus, row.CanInvite)
			}
			if _, err := f.store.MemberLinkFor(ctx, v.Member.ID, "webmasters-pro"); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("alice's personal link after the rebind: %v, want not found", err)
			}
		})
		t.Run("unbind then bind elsewhere", func(t *testing.T) {
			if err := f.store.SetJoinLink(ctx, "webmasters-pro", "https://t.me/+second"); err != nil {
				t.Fatal(err)
			}
			if err := f.store.SaveMemberLink(ctx, models.MemberLink{MemberID: v.Member.ID, ChatKey: "webmasters-pro", Link: "https://t.me/+alice2", ExpiresAt: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if err := f.store.UnbindChat(ctx, "webmasters-pro", "bot:2"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.MemberLinkFor(ctx, v.Member.ID, "webmasters-pro"); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("alice's personal link after the unbind: %v, want not found", err)
			}
			if err := f.store.BindChat(ctx, "webmasters-pro", -1003, "bot:3"); err != nil {
				t.Fatal(err)
			}
			row, err := f.store.ChatRow(ctx, "webmasters-pro")
			if err != nil || row.JoinLink != nil {
				t.Errorf("join link after unbind and bind elsewhere: %v (%v)", row.JoinLink, err)
			}
		})
		t.Run("callbacks", func(t *testing.T) {
			var got []string
			for _, cb := range f.callbacks(t) {
				if cb.Type != models.CallbackBound && cb.Type != models.CallbackUnbound {
					continue
				}
				if cb.Member != "" || cb.TelegramChatID == nil || cb.ChatTitle != "Webmasters Pro" || cb.Actor == "" {
					t.Errorf("chat callback %+v", cb)
				}
				s := cb.Type + " " + cb.Actor
				if cb.Previous != nil {
					s += " moved"
				}
				got = append(got, s)
			}
			want := []string{"chat.bound bot:1", "chat.bound bot:2 moved", "chat.unbound bot:2", "chat.bound bot:3"}
			if strings.Join(got, ", ") != strings.Join(want, ", ") {
				t.Errorf("chat callbacks = %q, want %q", got, want)
			}
		})
	})
}
