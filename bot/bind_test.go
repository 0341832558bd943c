package bot_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
)

// bindCode issues a bind code for key, as a site admin does on the
// dashboard, and returns it.
func (h *harness) bindCode(key string) string {
	h.t.Helper()
	c, err := h.store.IssueBindCode(h.ctx, key, "test")
	if err != nil {
		h.t.Fatalf("bind code for %s: %v", key, err)
	}
	return c.Code
}

// boundTo returns the Telegram chat key is bound to, or 0.
func (h *harness) boundTo(key string) int64 {
	h.t.Helper()
	row, err := h.store.ChatRow(h.ctx, key)
	if err != nil {
		h.t.Fatal(err)
	}
	if row.TgChatID == nil {
		return 0
	}
	return *row.TgChatID
}

// notContains fails when got has any of the words.
func notContains(t *testing.T, what, got string, words ...string) {
	t.Helper()
	for _, w := range words {
		if strings.Contains(got, w) {
			t.Errorf("%s: %q should not contain %q", what, got, w)
		}
	}
}

// TestBot_BindAttacks (issue 13, attacks 1 and 3): Mallory, a stranger with
// a group of her own and the bot as its admin, can neither take a bound
// chat nor bind an unbound one, with /bind or /setup; she learns no chat
// key; the real group's creator cannot unbind without a code either. With
// a code a site admin issued she binds once: the code is spent, and an
// expired one is refused. Every bind tells the site admins.
func TestBot_BindAttacks(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		sam := h.person("Sam", "site_admin")
		h.opts.admins = []int64{sam.ID}
		h = h.restart()
		h.reply(sam.ID, "/help") // the bot may message Sam from now on
		olga := h.person("Olga", "olga_owner")
		real := h.group(olga, "Webmasters Pro", "webmasters-pro")
		mallory := h.person("Mallory", "mallory")
		evil := sandboxtest.MustChat(t, h.sb, mallory.ID, "Totally Webmasters")

		refusal := []string{"site admin", "bind code", "karmagate bind-code"}
		keys := []string{"webmasters-pro", "customers-club"}
		for _, tc := range []struct {
			name string
			text string
			want []string
			not  []string
		}{
			{"a bound key", "/bind webmasters-pro", refusal, []string{"Bound", "customers-club"}},
			{"an unbound key", "/bind customers-club", refusal, []string{"Bound", "webmasters-pro"}},
			{"an unknown key", "/bind nosuch", refusal, keys},
			{"no key", "/bind", []string{"bind code"}, keys},
			{"a made-up code", "/bind webmasters-pro abcdefghijklmnopqrstuvwxyz", []string{"not valid", "site admin"}, []string{"Bound", "customers-club"}},
			{"unbind", "/unbind", refusal, keys},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got := h.sayInGroup(evil, mallory, tc.text)
				contains(t, tc.text, got, tc.want...)
				notContains(t, tc.text, got, tc.not...)
			})
		}
		if got := h.boundTo("webmasters-pro"); got != real.BotAPIID() {
			t.Fatalf("webmasters-pro bound to %d after Mallory's attempts, want the real group %d", got, real.BotAPIID())
		}
		if got := h.boundTo("customers-club"); got != 0 {
			t.Fatalf("customers-club bound to %d after Mallory's attempts, want unbound", got)
		}

		t.Run("setup", func(t *testing.T) {
			got := h.reply(mallory.ID, "/setup")
			contains(t, "/setup", got, refusal...)
			if kb := h.sb.World().ActiveKeyboard(h.bot.ID(), mallory.ID); kb != nil {
				t.Errorf("Mallory got the /setup keyboard: %+v", kb)
			}
		})
		t.Run("the creator without a code", func(t *testing.T) {
			got := h.sayInGroup(real, olga, "/unbind")
			contains(t, "/unbind", got, refusal...)
			if got := h.boundTo("webmasters-pro"); got != real.BotAPIID() {
				t.Fatalf("webmasters-pro bound to %d after the creator's /unbind without a code", got)
			}
		})

		t.Run("a code binds once", func(t *testing.T) {
			code := h.bindCode("customers-club")
			got := h.sayInGroup(evil, mallory, "/bind customers-club "+code)
			contains(t, "/bind with a code", got, "Bound to Customers Club")
			if h.boundTo("customers-club") != evil.BotAPIID() {
				t.Fatal("the code did not bind customers-club to Mallory's group")
			}
			other := sandboxtest.MustChat(t, h.sb, mallory.ID, "Another")
			got = h.sayInGroup(other, mallory, "/bind customers-club "+code)
			contains(t, "the code again", got, "not valid")
			if h.boundTo("customers-club") != evil.BotAPIID() {
				t.Fatal("a spent code moved customers-club")
			}
			h.eventually("Sam told of the binding", func() bool {
				for _, m := range h.received(sam.ID) {
					if strings.Contains(m, "customers-club") && strings.Contains(m, "Mallory") && strings.Contains(m, "bound") {
						return true
					}
				}
				return false
			})
			evs, err := h.store.Events(h.ctx, models.EventFilter{Chat: "customers-club", Kind: models.EventChatBound})
			if err != nil || len(evs) != 1 {
				t.Fatalf("chat.bound events for customers-club: %d (%v)", len(evs), err)
			}
		})
		t.Run("a code moves a bound chat", func(t *testing.T) {
			fourth := sandboxtest.MustChat(t, h.sb, mallory.ID, "Fourth")
			got := h.sayInGroup(fourth, mallory, "/bind customers-club "+h.bindCode("customers-club"))
			contains(t, "a rebind with a code", got, "Bound to Customers Club")
			if h.boundTo("customers-club") != fourth.BotAPIID() {
				t.Fatal("the code did not move customers-club")
			}
			h.eventually("Sam told of the move", func() bool {
				for _, m := range h.received(sam.ID) {
					if strings.Contains(m, "customers-club") && strings.Contains(m, "bound to Telegram group "+strconv.FormatInt(evil.BotAPIID(), 10)+" before") {
						return true
					}
				}
				return false
			})
		})
		t.Run("an expired code", func(t *testing.T) {
			code := h.bindCode("webmasters-pro")
			h.clock.Advance(16 * time.Minute)
			third := sandboxtest.MustChat(t, h.sb, mallory.ID, "Third")
			got := h.sayInGroup(third, mallory, "/bind webmasters-pro "+code)
			contains(t, "an expired code", got, "not valid")
			if h.boundTo("webmasters-pro") != real.BotAPIID() {
				t.Fatal("an expired code moved webmasters-pro")
			}
		})
		t.Run("a code unbinds once", func(t *testing.T) {
			code := h.bindCode("webmasters-pro")
			got := h.sayInGroup(real, olga, "/unbind "+code)
			contains(t, "/unbind with a code", got, "Unbound")
			if h.boundTo("webmasters-pro") != 0 {
				t.Fatal("/unbind with a code left the chat bound")
			}
			h.eventually("Sam told of the unbinding", func() bool {
				for _, m := range h.received(sam.ID) {
					if strings.Contains(m, "webmasters-pro") && strings.Contains(m, "unbound") {
						return true
					}
				}
				return false
			})
		})
		t.Run("a site admin sees the keys", func(t *testing.T) {
			own := sandboxtest.MustChat(t, h.sb, sam.ID, "Sam's")
			contains(t, "/bind from a site admin", h.sayInGroup(own, sam, "/bind"), keys...)
		})
	})
}

// TestBot_ReadAttacks (issue 13, attack 2): an admin of one bound chat
// learns nothing about a member of another (/who by id or @username says
// what it says of nobody), and no chat key through /status; /sync is the
// site admins'.
func TestBot_ReadAttacks(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		sam := h.person("Sam", "site_admin")
		h.opts.admins = []int64{sam.ID}
		h = h.restart()
		olga := h.person("Olga", "olga_owner")
		h.group(olga, "Webmasters Pro", "webmasters-pro")
		chris := h.person("Chris", "chris_owner")
		h.group(chris, "Customers Club", "customers-club")
		h.put("carol", 60, "customers")
		carol := h.person("Carol", "carol_tg")
		h.link("carol", carol)
		if _, err := h.sb.Join(carol.ID, h.joinLink("customers-club")); err != nil {
			t.Fatal(err)
		}
		h.eventually("carol in", func() bool { return h.state("carol", "customers-club").InChat })

		nobody := h.reply(olga.ID, "/who nosuch")
		for _, q := range []string{"carol", "@carol_tg"} {
			got := h.reply(olga.ID, "/who "+q)
			if want := strings.ReplaceAll(nobody, "nosuch", q); got != want {
				t.Errorf("/who %s from another chat's admin = %q, want what nobody gets: %q", q, got, want)
			}
			notContains(t, "/who "+q, got, "karma 60", "customers", "@carol_tg (")
		}
		contains(t, "/who carol from her chat's admin", h.reply(chris.ID, "/who carol"), "carol: karma 60", "customers-club: member")
		contains(t, "/who @carol_tg from a site admin", h.reply(sam.ID, "/who @carol_tg"), "carol: karma 60")

		unknown := h.reply(olga.ID, "/status nosuch")
		if got := h.reply(olga.ID, "/status customers-club"); got != strings.ReplaceAll(unknown, "nosuch", "customers-club") {
			t.Errorf("/status of another chat = %q, want what an unknown key gets: %q", got, unknown)
		}
		notContains(t, "/status nosuch", unknown, "webmasters-pro", "customers-club")

		got := h.reply(olga.ID, "/sync")
		contains(t, "/sync from a group admin", got, "site's admins")
		notContains(t, "/sync from a group admin", got, "Re-planned", "Reconciled")
	})
}

// TestBot_SyncOneAtATime (issue 13, attack 2): /sync runs one pass at a
// time; a second request while one runs is told when that one started.
func TestBot_SyncOneAtATime(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	passes := 0
	entered := make(chan struct{}, 10)
	h := newHarness(t, "sqlite:"+t.TempDir()+"/k.db", harnessOptions{sync: func(ctx context.Context, by string) (string, error) {
		mu.Lock()
		passes++
		n := passes
		mu.Unlock()
		entered <- struct{}{}
		if n == 1 {
			select {
			case <-release:
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		return "pass done", nil
	}})
	sam, sue := h.person("Sam", "site_admin"), h.person("Sue", "site_admin2")
	h.opts.admins = []int64{sam.ID, sue.ID}
	h = h.restart()
	before := len(h.received(sam.ID))
	if _, err := h.sb.SendMessage(sam.ID, 0, "/sync"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the first /sync did not start a pass")
	}
	got := h.reply(sue.ID, "/sync")
	contains(t, "a second /sync", got, "already running", "started at")
	close(release)
	h.eventually("Sam's report", func() bool { return len(h.received(sam.ID)) > before })
	contains(t, "the first /sync", h.received(sam.ID)[before], "Reconciled: pass done")
	mu.Lock()
	defer mu.Unlock()
	if passes != 1 {
		t.Errorf("%d passes ran, want 1", passes)
	}
}

// TestBot_RebindForgetsJoinLink (issue 13, attack 12): a chat moved to
// another group gets that group's join link; nobody is sent the old one.
func TestBot_RebindForgetsJoinLink(t *testing.T) {
	h := newHarness(t, "sqlite:"+t.TempDir()+"/k.db", harnessOptions{})
	sam := h.person("Sam", "site_admin")
	h.opts.admins = []int64{sam.ID}
	h = h.restart()
	olga := h.person("Olga", "olga_owner")
	h.group(olga, "Webmasters Pro", "webmasters-pro")
	old := h.joinLink("webmasters-pro")
	moved := sandboxtest.MustChat(t, h.sb, sam.ID, "Webmasters Pro (new)")
	got := h.sayInGroup(moved, sam, "/bind webmasters-pro")
	contains(t, "the rebind", got, "Bound to Webmasters Pro")
	h.eventually("a join link of the new group", func() bool {
		row, err := h.store.ChatRow(h.ctx, "webmasters-pro")
		return err == nil && row.TgChatID != nil && *row.TgChatID == moved.BotAPIID() && row.JoinLink != nil && *row.JoinLink != old
	})
	h.put("ann", 150, "webmasters")
	ann := h.person("Ann", "ann_tg")
	answer := h.link("ann", ann)
	notContains(t, "ann's link answer", answer, old)
	res, err := h.sb.Join(ann.ID, h.joinLink("webmasters-pro"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Result == "refused" {
		t.Fatalf("the new join link: %+v", res)
	}
}
