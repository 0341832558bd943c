package bot_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/world"
)

// Tests that a protection is wired where it is used, not only in the
// store: each fails when the bot's side of the protection is taken out.

// TestBot_NeverRemovesAdmins: a linked member whom the bot itself made an
// admin (so Telegram would let the bot ban them) drops below the bar: the
// removal runs and leaves them in, because the bot asks first.
func TestBot_NeverRemovesAdmins(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
		rights := sandbox.DefaultBotRights()
		rights.CanPromoteMembers = true
		if err := h.sb.MakeAdmin(chat.BotAPIID(), 0, &rights); err != nil {
			t.Fatal(err)
		}
		h.put("mod", 150, "webmasters")
		mod := h.person("Mod", "")
		h.link("mod", mod)
		if _, err := h.sb.Join(mod.ID, h.joinLink("webmasters-pro")); err != nil {
			t.Fatal(err)
		}
		h.eventually("mod in", func() bool { return h.state("mod", "webmasters-pro").InChat })
		h.idle()
		// Promoted by the bot: Telegram would let the bot ban them.
		if err := h.sb.World().PromoteAdmin(chat.ID, h.sb.Bot().ID, mod.ID, world.AdminRights{CanDeleteMessages: true}, ""); err != nil {
			t.Fatal(err)
		}
		h.idle()
		if _, err := h.store.AddKarma(h.ctx, "mod", -100, "test"); err != nil {
			t.Fatal(err)
		}
		h.pool.Wake()
		h.eventually("the removal settled", func() bool { return doneAfter(h, "mod", gate.ActionRemove) > 0 })
		h.idle()
		if !h.inChat(chat.BotAPIID())[mod.ID] {
			t.Error("the bot removed a chat admin")
		}
		if bans, _ := callsFor(h.sb.Calls(), "banChatMember", mod.ID); bans != 0 {
			t.Errorf("banChatMember called %d times for an admin", bans)
		}
	})
}

// TestBot_ChatMemberAppliedOnce: a chat_member join handled again after
// its effect committed (its processor killed before marking it done, its
// lease run out) records nothing, even after the member was removed in
// between: no second removal, no message.
func TestBot_ChatMemberAppliedOnce(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
		h.put("alice", 150, "webmasters")
		alice := h.person("Alice", "alice_tg")
		h.link("alice", alice)
		if _, err := h.sb.Join(alice.ID, h.joinLink("webmasters-pro")); err != nil {
			t.Fatal(err)
		}
		h.eventually("alice in", func() bool { return h.state("alice", "webmasters-pro").InChat })
		h.idle()
		// The update that reported her join.
		var join models.Update
		err := h.store.DB().Gorm().Where("kind = ? AND payload LIKE ? AND payload LIKE ?", "chat_member",
			"%\"new_chat_member\":{%\"status\":\"member\"%", "%\"id\":"+strconv.FormatInt(alice.ID, 10)+"%").
			Order("seq DESC").Take(&join).Error
		if err != nil {
			t.Fatalf("find alice's join update: %v", err)
		}
		if _, err := h.store.AddKarma(h.ctx, "alice", -100, "test"); err != nil {
			t.Fatal(err)
		}
		h.pool.Wake()
		h.eventually("alice removed", func() bool { return !h.inChat(chat.BotAPIID())[alice.ID] })
		h.idle()
		received := len(h.received(alice.ID))
		// Handed out again, as after a crash between its commit and done.
		if err := h.store.DB().Gorm().Model(&models.Update{}).Where("update_id = ?", join.UpdateID).
			Updates(map[string]any{"status": models.UpdatePending, "done_at": nil}).Error; err != nil {
			t.Fatal(err)
		}
		h.bot.Wake()
		h.eventually("the join handled again", func() bool {
			u, err := h.store.FindUpdate(h.ctx, join.UpdateID)
			return err == nil && u.Status == models.UpdateDone
		})
		h.idle()
		if st := h.state("alice", "webmasters-pro"); st.InChat {
			t.Error("the join handled again put alice back on record as inside")
		}
		if n := doneAfterCount(h, "alice", gate.ActionRemove); n != 1 {
			t.Errorf("%d removals done for alice, want 1", n)
		}
		if got := len(h.received(alice.ID)); got != received {
			t.Errorf("alice received %d more messages after the join was handled again", got-received)
		}
	})
}

// doneAfterCount counts a member's done actions of kind.
func doneAfterCount(h *harness, member string, kind gate.ActionKind) int {
	as, err := h.store.Actions(h.ctx, member)
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, a := range as {
		if a.Kind == string(kind) && a.Status == models.ActionDone {
			n++
		}
	}
	return n
}

// TestBot_PollerStepsDown: a poller whose lease another instance took
// stops calling getUpdates within the lease (it looks four times per
// lease), so two pollers never fight.
func TestBot_PollerStepsDown(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		b, err := bot.New(ctx, bot.Options{Token: h.sb.BotToken(), ServerURL: h.sb.BotAPIURL(), Store: h.store, Tokens: h.tokens,
			Secret: secret, Now: h.clock.Now, PollTimeout: time.Second, PollLease: 2 * time.Second, Owner: "lead", Logger: testLogger(t)})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		h.stop() // the harness's own bot hands its lease back
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); _ = b.Run(ctx) }()
		t.Cleanup(func() { cancel(); wg.Wait() })
		h.eventually("lead polls", func() bool {
			l, err := h.store.Leases().Holder(context.Background(), bot.PollerLease)
			return err == nil && l.Owner == "lead"
		})
		// Another instance takes the lease (its holder looked dead to it).
		if _, err := h.store.Leases().TakeFrom(context.Background(), bot.PollerLease, "lead", "thief", time.Hour); err != nil {
			t.Fatalf("take the lease: %v", err)
		}
		stolen := time.Now()
		time.Sleep(4 * time.Second) // two whole leases: eight renewals
		last := time.Time{}
		for _, c := range h.sb.Calls() {
			if c.Method == "getUpdates" && c.At.After(last) {
				last = c.At
			}
		}
		// Within the lease (2 s): a renewal a quarter of it later, and the
		// long poll in flight cut short.
		if late := last.Sub(stolen); late > 2*time.Second {
			t.Errorf("lead still called getUpdates %v after losing its lease", late.Round(time.Millisecond))
		}
		for _, c := range h.sb.Calls() {
			if c.Method == "getUpdates" && strings.Contains(c.Error, "Conflict") && c.At.After(stolen.Add(time.Second)) {
				t.Errorf("getUpdates conflict after the lease moved: %s", c.Error)
			}
		}
	})
}

// TestBot_SyncOneAtATimeAcrossInstances: while another instance runs a
// /sync pass (it holds the sync lease), a site admin's /sync here is
// refused with when that pass started, and runs no pass.
func TestBot_SyncOneAtATimeAcrossInstances(t *testing.T) {
	passes := 0
	h := newHarness(t, "sqlite:"+t.TempDir()+"/k.db", harnessOptions{sync: func(context.Context, string) (string, error) {
		passes++
		return "pass done", nil
	}})
	sam := h.person("Sam", "site_admin")
	h.opts.admins = []int64{sam.ID}
	h = h.restart()
	other, err := h.store.Leases().Acquire(h.ctx, bot.SyncLease, "another-instance", time.Hour)
	if err != nil {
		t.Fatalf("the other instance's pass: %v", err)
	}
	got := h.reply(sam.ID, "/sync")
	if !strings.Contains(got, "already running on another instance") || !strings.Contains(got, "started at") {
		t.Errorf("/sync while another instance runs a pass = %q", got)
	}
	if err := h.store.Leases().Release(h.ctx, other); err != nil {
		t.Fatal(err)
	}
	if got := h.reply(sam.ID, "/sync"); !strings.Contains(got, "Reconciled: pass done") {
		t.Errorf("/sync once the other pass ended = %q", got)
	}
	if passes != 1 {
		t.Errorf("%d passes ran, want 1", passes)
	}
}
