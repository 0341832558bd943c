package bot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
)

const strangerRules = `
groups: [webmasters]
chats:
  webmasters-pro:
    title: Webmasters Pro
    groups: [webmasters]
    min_karma: 100
    strangers:
      remove_after: 1m
`

// existingGroup makes a group with the given people inside before the bot
// is its admin, then binds it (it starts in dry run).
func (h *harness) existingGroup(owner world.User, people ...world.User) world.Chat {
	h.t.Helper()
	c, err := h.sb.CreateChat(owner.ID, "Webmasters Pro", "")
	if err != nil {
		h.t.Fatal(err)
	}
	primary, ok := h.sb.World().PrimaryInvite(c.ID)
	if !ok {
		h.t.Fatal("no primary link")
	}
	for _, p := range people {
		if res, err := h.sb.Join(p.ID, primary.Link); err != nil || res.Result != "joined" {
			h.t.Fatalf("%s joins: %+v, %v", p.FirstName, res, err)
		}
	}
	if err := h.sb.MakeAdmin(c.BotAPIID(), 0, nil); err != nil {
		h.t.Fatal(err)
	}
	if got := h.sayInGroup(c, owner, "/bind webmasters-pro "+h.bindCode("webmasters-pro")); !strings.Contains(got, "dry run") {
		h.t.Fatalf("/bind answered %q", got)
	}
	h.idle()
	return c
}

// TestBot_Welcome: /welcome (the group's admins only) posts and pins a
// message whose button opens the bot with ?start=g<chat>, where the
// person is sent to their profile on the website; someone linked to no
// member who speaks in the group is a stranger, kept by default; /status
// in the group (to the admin alone) says who is inside: counted, known,
// strangers, unknown.
func TestBot_Welcome(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		const profile = "https://example.org/profile"
		h := newHarness(t, spec, harnessOptions{profileURL: profile})
		owner := h.person("Owner", "owner_tg")
		ann, stray, quiet := h.person("Ann", "ann_tg"), h.person("Stray", "stray_tg"), h.person("Quiet", "quiet_tg")
		c := h.existingGroup(owner, ann, stray, quiet)
		h.put("ann", 150, "webmasters")
		h.link("ann", ann)
		h.eventually("ann found inside", func() bool { return h.state("ann", "webmasters-pro").InChat })

		if got := h.sayInGroup(c, stray, "/welcome"); !strings.Contains(got, "Only the group's admins") {
			t.Errorf("/welcome by a stranger = %q", got)
		}
		if got := h.sayInGroup(c, owner, "/welcome"); !strings.Contains(got, "Welcome to Webmasters Pro") {
			t.Fatalf("/welcome = %q", got)
		}
		var post world.Message
		h.eventually("the welcome post pinned", func() bool {
			for _, m := range h.sb.World().AllMessages() {
				if m.ChannelID == c.ID && m.FromID == h.bot.ID() && strings.Contains(m.Text, "Welcome to") {
					post = m
				}
			}
			return post.Pinned
		})
		url := fmt.Sprintf("https://t.me/%s?start=g%d", h.bot.Username(), c.BotAPIID())
		if !post.Pinned || !strings.Contains(post.ReplyMarkup, url) {
			t.Fatalf("the welcome post: pinned %v, markup %s; want pinned with %s", post.Pinned, post.ReplyMarkup, url)
		}
		// The button: the bot sends them to their profile.
		h.clock.Advance(time.Minute)
		if got := h.reply(stray.ID, fmt.Sprintf("/start g%d", c.BotAPIID())); !strings.Contains(got, "Webmasters Pro is for the website's members") || !strings.Contains(got, profile) {
			t.Errorf("the button's answer = %q", got)
		}

		// stray speaks: a stranger, kept (a group bound by hand).
		if _, err := h.sb.SendMessage(stray.ID, c.BotAPIID(), "hi"); err != nil {
			t.Fatal(err)
		}
		h.eventually("stray noted a stranger", func() bool {
			p, err := h.store.ChatPeople(h.ctx, "webmasters-pro")
			return err == nil && p.Strangers == 1
		})
		status := h.askInGroup(c, owner, "/status") // answered to the owner alone
		if want := "people inside besides the admins: 3 · known to karmagate: 1 · strangers: 1 · unknown: 1"; !strings.Contains(status, want) {
			t.Errorf("/status = %q, want %q", status, want)
		}
		h.idle()
		if _, n, _ := h.store.HeldRemovals(h.ctx, "webmasters-pro", 0); n != 0 {
			t.Errorf("%d removals held: strangers are kept by default", n)
		}
		if in := h.inChat(c.BotAPIID()); !in[stray.ID] || !in[quiet.ID] {
			t.Errorf("a stranger removed: %v", in)
		}
	})
}

// TestBot_StrangersRemoveAfter: under strangers: {remove_after: 1m} a
// stranger seen speaking is told once when their clock starts, listed
// pending (dry run: the group had people) once it has run out, and removed
// on /confirm; the group's creator, who spoke too, is never touched, and
// a stranger who links meanwhile is no stranger any more.
func TestBot_StrangersRemoveAfter(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{rules: strangerRules, profileURL: "https://example.org/me"})
		owner := h.person("Owner", "owner_tg")
		stray, late := h.person("Stray", "stray_tg"), h.person("Late", "late_tg")
		c := h.existingGroup(owner, stray, late)
		// stray has started the bot (the welcome button): it can write to them.
		h.reply(stray.ID, fmt.Sprintf("/start g%d", c.BotAPIID()))
		for _, p := range []world.User{owner, stray, late} {
			if _, err := h.sb.SendMessage(p.ID, c.BotAPIID(), "hello"); err != nil {
				t.Fatal(err)
			}
		}
		h.eventually("stray told of the clock", func() bool {
			for _, m := range h.received(stray.ID) {
				if strings.Contains(m, "before") && strings.Contains(m, "https://example.org/me") {
					return true
				}
			}
			return false
		})
		h.eventually("two strangers", func() bool {
			p, err := h.store.ChatPeople(h.ctx, "webmasters-pro")
			return err == nil && p.Strangers == 2
		})
		// late links before the clock runs out.
		h.put("late", 150, "webmasters")
		h.link("late", late)
		h.idle()
		h.clock.Advance(2 * time.Minute)
		n, err := h.store.ExpireStrangers(h.ctx, "strangers")
		if err != nil || n != 1 {
			t.Fatalf("ExpireStrangers = %d, %v; want stray's removal", n, err)
		}
		if again, _ := h.store.ExpireStrangers(h.ctx, "strangers"); again != 0 {
			t.Errorf("a second sweep queued %d more", again)
		}
		held, total, err := h.store.HeldRemovals(h.ctx, "webmasters-pro", 0)
		if err != nil || total != 1 || held[0].TgUserID == nil || *held[0].TgUserID != stray.ID {
			t.Fatalf("held: %+v (%d), %v; want stray's", held, total, err)
		}
		confirmed := h.sayInGroup(c, owner, "/confirm")
		if !strings.Contains(confirmed, "1 removal(s) confirmed") {
			t.Errorf("/confirm = %q", confirmed)
		}
		h.eventually("stray out", func() bool { return !h.inChat(c.BotAPIID())[stray.ID] })
		h.idle()
		if in := h.inChat(c.BotAPIID()); !in[owner.ID] || !in[late.ID] {
			t.Errorf("the owner or late removed: %v", in)
		}
		evs, err := h.store.Events(h.ctx, models.EventFilter{Kind: models.EventStrangerClock})
		if err != nil || len(evs) != 2 {
			t.Errorf("clock events: %d, %v; want stray's and late's", len(evs), err)
		}
	})
}
