package bot_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestBot_BotOnlyMode is the story of a site owner without a userbot: a
// group made by hand, the bot made admin, /bind; then 40 members link and
// open the join link, a stranger tries a leaked one: exactly the eligible
// get in. A karma drop removes a member and tells them once.
func TestBot_BotOnlyMode(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
		link := h.joinLink("webmasters-pro")

		type who struct {
			id     string
			person world.User
			want   bool
		}
		var people []who
		for i := range 40 {
			id := fmt.Sprintf("m%02d", i)
			switch {
			case i < 20:
				h.put(id, 150, "webmasters") // eligible
				people = append(people, who{id: id, want: true})
			case i < 30:
				h.put(id, 50, "webmasters") // below the bar
				people = append(people, who{id: id})
			default:
				h.put(id, 500, "customers") // wrong group
				people = append(people, who{id: id})
			}
			people[i].person = h.person("P"+id, "")
		}
		for _, p := range people {
			h.link(p.id, p.person)
		}
		for _, p := range people {
			res, err := h.sb.Join(p.person.ID, link)
			if err != nil {
				t.Fatalf("%s opens the join link: %v", p.id, err)
			}
			if res.Result != "requested" {
				t.Fatalf("%s: join result %q, want requested (a join-request link)", p.id, res.Result)
			}
		}
		stranger := h.person("Leak", "leaked_link_user")
		if _, err := h.sb.Join(stranger.ID, link); err != nil {
			t.Fatal(err)
		}
		h.eventually("every join request decided", func() bool {
			return len(h.sb.World().JoinRequests(chat.ID)) == 0
		})
		h.idle()
		in := h.inChat(chat.BotAPIID())
		for _, p := range people {
			if in[p.person.ID] != p.want {
				t.Errorf("%s in chat = %v, want %v (%s)", p.id, in[p.person.ID], p.want, h.state(p.id, "webmasters-pro").Reason)
			}
		}
		if in[stranger.ID] {
			t.Error("the leaked link let a stranger in")
		}
		if got := len(in); got != 22 { // owner, bot, 20 eligible
			t.Errorf("%d in the chat, want 22", got)
		}
		for _, p := range people[:20] {
			if st := h.state(p.id, "webmasters-pro"); st.State != string(gate.StateMember) || !st.InChat {
				t.Errorf("%s: state %s in_chat %v, want member", p.id, st.State, st.InChat)
			}
		}
		// Declined requesters are told why.
		h.eventually("the stranger told why", func() bool { return len(h.received(stranger.ID)) == 1 })
		contains(t, "decline", h.received(stranger.ID)[0], "Webmasters Pro", "linked to no member")
		h.eventually("a low-karma member told", func() bool {
			r := h.received(people[25].person.ID)
			return len(r) > 1 && strings.Contains(r[len(r)-1], "100")
		})

		// A karma drop removes the member, who is told once.
		drop := people[0]
		if _, err := h.store.AddKarma(h.ctx, drop.id, -100, "test"); err != nil {
			t.Fatal(err)
		}
		h.pool.Wake()
		h.eventually("the member removed", func() bool { return !h.inChat(chat.BotAPIID())[drop.person.ID] })
		h.idle()
		if st := h.state(drop.id, "webmasters-pro"); st.State != string(gate.StateRemoved) {
			t.Errorf("after the drop: %s, want removed", st.State)
		}
		n := 0
		for _, m := range h.received(drop.person.ID) {
			if strings.Contains(m, "removed from Webmasters Pro") {
				n++
				contains(t, "removal", m, "karma 50 < 100", "100 or more")
			}
		}
		if n != 1 {
			t.Errorf("removal DMs: %d, want 1", n)
		}
		// Removed, not banned: once they qualify again they can come back.
		if _, err := h.store.AddKarma(h.ctx, drop.id, 100, "test"); err != nil {
			t.Fatal(err)
		}
		h.pool.Wake()
		h.idle()
		if res, err := h.sb.Join(drop.person.ID, link); err != nil || res.Result != "requested" {
			t.Fatalf("rejoin: %+v, %v", res, err)
		}
		h.eventually("back in", func() bool { return h.inChat(chat.BotAPIID())[drop.person.ID] })
	})
}

// TestBot_RemovalEdges: a chat's admin is never removed, even once they
// stop qualifying; a member who blocked the bot is removed all the same,
// recorded as unreachable and not messaged again; /unbind stops the
// gating.
func TestBot_RemovalEdges(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
		link := h.joinLink("webmasters-pro")
		join := func(id string, karma int64) world.User {
			t.Helper()
			h.put(id, karma, "webmasters")
			p := h.person(id, "")
			h.link(id, p)
			if _, err := h.sb.Join(p.ID, link); err != nil {
				t.Fatal(err)
			}
			h.eventually(id+" in", func() bool { return h.inChat(chat.BotAPIID())[p.ID] })
			return p
		}
		adm, blk := join("adm", 150), join("blk", 150)
		// The invite action may approve a join request before the request's
		// own update is handled: let that update be handled while both
		// still qualify, or it is declined (and the blocker's decline
		// notice fails) once their karma drops below.
		h.idle()
		if err := h.sb.MakeAdmin(chat.BotAPIID(), adm.ID, &world.AdminRights{CanDeleteMessages: true}); err != nil {
			t.Fatal(err)
		}
		if err := h.sb.BlockBot(blk.ID, true); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"adm", "blk"} {
			if _, err := h.store.AddKarma(h.ctx, id, -100, "test"); err != nil {
				t.Fatal(err)
			}
		}
		h.pool.Wake()
		h.eventually("blk removed", func() bool { return !h.inChat(chat.BotAPIID())[blk.ID] })
		h.idle()
		if !h.inChat(chat.BotAPIID())[adm.ID] {
			t.Error("a chat admin was removed")
		}
		if v := h.member("blk"); v.Member.UnreachableAt == nil {
			t.Error("a member who blocked the bot is not recorded as unreachable")
		}
		ns, err := h.store.Notices(h.ctx, blk.ID)
		if err != nil {
			t.Fatal(err)
		}
		failed := 0
		for _, n := range ns {
			if n.Status == models.NoticeFailed {
				failed++
			}
		}
		if failed != 1 {
			t.Errorf("notices to the blocker: %+v, want one failed, not retried", ns)
		}
		// /unbind with a bind code: the chat is no longer gated.
		h.reply(owner.ID, "/help")
		if _, err := h.sb.SendMessage(owner.ID, chat.BotAPIID(), "/unbind "+h.bindCode("webmasters-pro")); err != nil {
			t.Fatal(err)
		}
		h.eventually("unbound", func() bool {
			row, err := h.store.ChatRow(h.ctx, "webmasters-pro")
			return err == nil && row.TgChatID == nil
		})
	})
}
