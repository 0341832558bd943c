package bot_test

import (
	"strings"
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestBot_ProbeOnLink: a group bound over people already inside, none of
// them linked yet (the bind's survey finds nobody). As each links, the bot
// asks Telegram whether they are inside: ann (qualifies, inside) is
// recorded a member and never sent the join link; ben (does not qualify,
// inside) is recorded inside and his removal held under dry run; cal
// (qualifies, outside), linking once both are known, is not probed (the
// group holds nobody unknown) and gets the join link with the answer.
// Removing the probes from the linking (or their executor) fails it.
func TestBot_ProbeOnLink(t *testing.T) {
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
		ann, ben, cal := h.person("Ann", "ann_tg"), h.person("Ben", "ben_tg"), h.person("Cal", "cal_tg")
		for _, p := range []world.User{ann, ben} {
			if res, err := h.sb.Join(p.ID, primary.Link); err != nil || res.Result != "joined" {
				t.Fatalf("%s joins: %+v, %v", p.FirstName, res, err)
			}
		}
		if err := h.sb.MakeAdmin(c.BotAPIID(), 0, nil); err != nil {
			t.Fatal(err)
		}
		bound := h.sayInGroup(c, owner, "/bind webmasters-pro "+h.bindCode("webmasters-pro"))
		if !strings.Contains(bound, "starts in dry run") {
			t.Fatalf("/bind answered %q", bound)
		}
		h.idle()
		link := h.joinLink("webmasters-pro")

		h.put("ann", 150, "webmasters")
		h.put("ben", 20, "webmasters")
		h.put("cal", 150, "webmasters")
		for _, m := range []struct {
			id string
			p  world.User
		}{{"ann", ann}, {"ben", ben}} {
			if got := h.link(m.id, m.p); strings.Contains(got, link) {
				t.Errorf("%s's linking answer carries the join link before the probe: %q", m.id, got)
			}
		}
		h.eventually("ann recorded inside", func() bool { return h.state("ann", "webmasters-pro").InChat })
		h.eventually("ben's removal held", func() bool {
			held, n, err := h.store.HeldRemovals(h.ctx, "webmasters-pro", 0)
			return err == nil && n == 1 && held[0].MemberExt == "ben"
		})
		// The two inside at the bind are known now: cal, linking after,
		// cannot be one of them (everyone who joins since comes through an
		// update karmagate records), so no probe: the link comes with the
		// answer.
		if got := h.link("cal", cal); !strings.Contains(got, link) {
			t.Errorf("cal's linking answer, nobody unknown inside: %q, want the join link", got)
		}
		h.idle()
		for _, text := range h.received(ann.ID) {
			if strings.Contains(text, link) {
				t.Errorf("ann, inside, was sent the join link: %q", text)
			}
		}
		if st := h.state("ann", "webmasters-pro"); st.State != "member" {
			t.Errorf("ann is %q, want member", st.State)
		}
		if st := h.state("cal", "webmasters-pro"); st.InChat || st.State != "invited" {
			t.Errorf("cal: %+v, want invited and outside", st)
		}
		if in := h.inChat(c.BotAPIID()); !in[ben.ID] {
			t.Fatal("ben removed under dry run")
		}
		var probes int
		as, err := h.store.Actions(h.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.Kind == models.ActionProbe {
				probes++
				if a.Status != models.ActionDone {
					t.Errorf("probe of %s: %s (%s)", a.MemberExt, a.Status, a.LastError)
				}
			}
		}
		if probes != 2 {
			t.Errorf("%d probes, want one for each of the two who linked while people inside were unknown", probes)
		}

		// Someone seen speaking in the group is recorded inside.
		if _, err := h.store.SetInChat(h.ctx, "ann", "webmasters-pro", false, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.sb.SendMessage(ann.ID, c.BotAPIID(), "hello all"); err != nil {
			t.Fatal(err)
		}
		h.eventually("ann seen speaking, recorded inside", func() bool { return h.state("ann", "webmasters-pro").InChat })
	})
}
