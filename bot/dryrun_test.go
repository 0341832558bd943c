package bot_test

import (
	"strings"
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// groupSaid returns what the bot said in a group, oldest first.
func (h *harness) groupSaid(c world.Chat) []string {
	var out []string
	for _, m := range h.sb.World().AllMessages() {
		if m.ChannelID == c.ID && m.FromID == h.bot.ID() && m.ReceiverID == 0 { // not the ephemeral ones
			out = append(out, m.Text)
		}
	}
	return out
}

// say sends text in a group as user and waits for the bot's next message
// there.
func (h *harness) sayInGroup(c world.Chat, user world.User, text string) string {
	h.t.Helper()
	before := len(h.groupSaid(c))
	if _, err := h.sb.SendMessage(user.ID, c.BotAPIID(), text); err != nil {
		h.t.Fatalf("%s says %q: %v", user.FirstName, text, err)
	}
	var got string
	h.eventually("the bot's answer to "+text+" in the group", func() bool {
		said := h.groupSaid(c)
		if len(said) > before {
			got = said[before]
			return true
		}
		return false
	})
	return got
}

// TestBot_DryRunOnBind: a group that already has people when it is bound
// starts in dry run: the bot finds the linked members inside, holds the
// removal of the one who does not qualify, lists it with /pending in the
// group, refuses /confirm from someone who is not an admin, and carries it
// out on the owner's /confirm.
func TestBot_DryRunOnBind(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		c, err := h.sb.CreateChat(owner.ID, "Webmasters Pro", "")
		if err != nil {
			t.Fatal(err)
		}
		primary, ok := h.sb.World().PrimaryInvite(c.ID)
		if !ok {
			t.Fatal("no primary link")
		}
		h.put("ann", 150, "webmasters")
		h.put("ben", 20, "webmasters")
		ann, ben := h.person("Ann", "ann_tg"), h.person("Ben", "ben_tg")
		for _, p := range []world.User{ann, ben} {
			if res, err := h.sb.Join(p.ID, primary.Link); err != nil || res.Result != "joined" {
				t.Fatalf("%s joins: %+v, %v", p.FirstName, res, err)
			}
		}
		h.link("ann", ann)
		h.link("ben", ben)
		if err := h.sb.MakeAdmin(c.BotAPIID(), 0, nil); err != nil {
			t.Fatal(err)
		}
		bound := h.sayInGroup(c, owner, "/bind webmasters-pro "+h.bindCode("webmasters-pro"))
		if !strings.Contains(bound, "starts in dry run") || !strings.Contains(bound, "2 member(s) besides its admins") {
			t.Errorf("/bind answered %q", bound)
		}
		h.eventually("ben's removal held", func() bool {
			_, n, err := h.store.HeldRemovals(h.ctx, "webmasters-pro", 0)
			return err == nil && n == 1
		})
		h.eventually("ann found inside", func() bool { return h.state("ann", "webmasters-pro").InChat })
		h.idle()
		if in := h.inChat(c.BotAPIID()); !in[ben.ID] || !in[ann.ID] {
			t.Fatalf("removed under dry run: %v", in)
		}

		pending := h.sayInGroup(c, owner, "/pending")
		for _, want := range []string{"1 removal(s) held", "dry run is on", "• ben: ", "/confirm"} {
			if !strings.Contains(pending, want) {
				t.Errorf("/pending = %q, want %q", pending, want)
			}
		}
		refused := h.sayInGroup(c, ann, "/confirm")
		if !strings.Contains(refused, "Only the group's admins") {
			t.Errorf("/confirm by ann = %q", refused)
		}
		if _, n, _ := h.store.HeldRemovals(h.ctx, "webmasters-pro", 0); n != 1 {
			t.Fatalf("held after a refused /confirm = %d", n)
		}

		confirmed := h.sayInGroup(c, owner, "/confirm")
		if !strings.Contains(confirmed, "1 removal(s) confirmed") || !strings.Contains(confirmed, "Dry run is over") {
			t.Errorf("/confirm = %q", confirmed)
		}
		h.eventually("ben out", func() bool { return !h.inChat(c.BotAPIID())[ben.ID] })
		h.idle()
		if !h.inChat(c.BotAPIID())[ann.ID] {
			t.Error("ann removed too")
		}
		if st, err := h.store.ChatDryRun(h.ctx, "webmasters-pro"); err != nil || st.On {
			t.Errorf("dry run after /confirm: %+v, %v", st, err)
		}
		evs, err := h.store.Events(h.ctx, models.EventFilter{Kind: models.EventRemovalsConfirmed})
		if err != nil || len(evs) != 1 || evs[0].Actor == "" {
			t.Errorf("confirmation in the audit trail: %+v, %v", evs, err)
		}
	})
}

// TestBot_BindEmptyGroup: a group with nobody but its admins is gated at
// once: no dry run.
func TestBot_BindEmptyGroup(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		h.group(owner, "Webmasters Pro", "webmasters-pro")
		if st, err := h.store.ChatDryRun(h.ctx, "webmasters-pro"); err != nil || st.On {
			t.Errorf("dry run on an empty group: %+v, %v", st, err)
		}
	})
}
