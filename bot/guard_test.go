package bot_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"

	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestBot_GuardBot: where the bot is the chat's guard bot, join requests
// carry a query it answers within Telegram's 10 seconds: approve for a
// member who qualifies, decline for anyone else, queue (left to the admins)
// for an unqualified request to a chat that flags rather than removes.
func TestBot_GuardBot(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		pro := h.group(owner, "Webmasters Pro", "webmasters-pro")
		club := h.group(owner, "Customers Club", "customers-club")
		for _, c := range []world.Chat{pro, club} {
			if err := h.sb.SetGuardBot(c.BotAPIID(), h.bot.ID()); err != nil {
				t.Fatalf("guard bot: %v", err)
			}
		}
		h.put("ok", 150, "webmasters")
		h.put("low", 10, "webmasters", "customers")
		okP, lowP, stranger := h.person("Ok", ""), h.person("Low", ""), h.person("Stranger", "")
		h.link("ok", okP)
		h.link("low", lowP)
		join := func(u world.User, key string) {
			t.Helper()
			if res, err := h.sb.Join(u.ID, h.joinLink(key)); err != nil || res.Result != "requested" {
				t.Fatalf("join %s: %+v, %v", key, res, err)
			}
		}
		join(okP, "webmasters-pro")
		join(lowP, "webmasters-pro")
		join(stranger, "webmasters-pro")
		join(lowP, "customers-club")
		h.eventually("the member in", func() bool { return h.inChat(pro.BotAPIID())[okP.ID] })
		h.idle()
		answers := map[string]int{}
		for _, c := range h.sb.Calls() {
			if c.Method != "answerChatJoinRequestQuery" {
				continue
			}
			var p struct {
				Result string `json:"result"`
			}
			raw, err := json.Marshal(c.Params)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatalf("params %v: %v", c.Params, err)
			}
			answers[p.Result]++
			if c.Error != "" {
				t.Errorf("answerChatJoinRequestQuery failed: %s", c.Error)
			}
		}
		if answers["approve"] != 1 || answers["decline"] != 2 || answers["queue"] != 1 {
			t.Errorf("query answers %v, want approve 1, decline 2, queue 1", answers)
		}
		in := h.inChat(pro.BotAPIID())
		if in[lowP.ID] || in[stranger.ID] {
			t.Error("an unqualified requester got into the guarded chat")
		}
		// The flagging chat's request waits for its admins.
		reqs := h.sb.World().JoinRequests(club.ID)
		if len(reqs) != 1 || reqs[0].UserID != lowP.ID {
			t.Errorf("pending requests in the flagging chat: %+v, want low's, queued for the admins", reqs)
		}
	})
}

// TestBot_Setup: the one-tap way to bind: /setup shows a request_chat
// button, the owner picks their group, Telegram adds the bot with the
// rights it asked for, and the owner picks the rule's chat from a button.
func TestBot_Setup(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		h.opts.admins = []int64{owner.ID} // /setup is the site admins'
		h = h.restart()
		c, err := h.sb.CreateChat(owner.ID, "My webmasters", "")
		if err != nil {
			t.Fatal(err)
		}
		h.reply(owner.ID, "/setup")
		kb := h.sb.World().ActiveKeyboard(h.bot.ID(), owner.ID)
		if kb == nil {
			t.Fatal("no request_chat keyboard after /setup")
		}
		before := len(h.received(owner.ID))
		if _, err := h.sb.ShareChat(owner.ID, 1, c.BotAPIID()); err != nil {
			t.Fatalf("share the chat: %v", err)
		}
		var choice world.Message
		h.eventually("the choice of rules", func() bool {
			for _, m := range h.sb.Received(owner.ID)[before:] {
				if strings.Contains(m.ReplyMarkup, "bind:") {
					choice = m
					return true
				}
			}
			return false
		})
		var markup struct {
			InlineKeyboard [][]struct {
				Text         string `json:"text"`
				CallbackData string `json:"callback_data"`
			} `json:"inline_keyboard"`
		}
		if err := json.Unmarshal([]byte(choice.ReplyMarkup), &markup); err != nil {
			t.Fatal(err)
		}
		data := ""
		for _, row := range markup.InlineKeyboard {
			for _, b := range row {
				if b.Text == "Webmasters Pro" {
					data = b.CallbackData
				}
			}
		}
		if data == "" {
			t.Fatalf("no button for Webmasters Pro in %s", choice.ReplyMarkup)
		}
		if _, err := h.sb.Press(owner.ID, 0, choice.ID, data); err != nil {
			t.Fatalf("press: %v", err)
		}
		h.eventually("the chat bound with a join link", func() bool {
			row, err := h.store.ChatRow(h.ctx, "webmasters-pro")
			return err == nil && row.TgChatID != nil && *row.TgChatID == c.BotAPIID() && row.JoinLink != nil
		})
		row, err := h.store.ChatRow(h.ctx, "webmasters-pro")
		if err != nil {
			t.Fatal(err)
		}
		if row.BotStatus != "administrator" || !row.CanInvite || !row.CanRestrict || !row.CanManageTags {
			t.Errorf("bot's standing after /setup: %+v", row)
		}
		h.eventually("the choice message edited", func() bool {
			for _, m := range h.sb.Received(owner.ID) {
				if m.ID == choice.ID && strings.Contains(m.Text, "Bound to Webmasters Pro") {
					return true
				}
			}
			return false
		})
		// A member now gets in as with /bind.
		h.put("ana", 150, "webmasters")
		ana := h.person("Ana", "")
		h.link("ana", ana)
		if _, err := h.sb.Join(ana.ID, h.joinLink("webmasters-pro")); err != nil {
			t.Fatal(err)
		}
		h.eventually("ana in", func() bool { return h.inChat(c.BotAPIID())[ana.ID] })
	})
}

// TestBot_Tags: a chat's tag template gives each member a tag the bot
// keeps current as karma moves.
func TestBot_Tags(t *testing.T) {
	rules := strings.Replace(testRules, "    min_karma: 100\n", "    min_karma: 100\n    tag: \"{{group}} {{karma}}\"\n", 1)
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{rules: rules, tagEvery: 50 * time.Millisecond})
		owner := h.person("Owner", "owner_tg")
		chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
		h.put("tess", 150, "webmasters")
		tess := h.person("Tess", "")
		h.link("tess", tess)
		if _, err := h.sb.Join(tess.ID, h.joinLink("webmasters-pro")); err != nil {
			t.Fatal(err)
		}
		tag := func() string {
			ms, err := h.sb.Members(chat.BotAPIID())
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.User.ID == tess.ID {
					return m.Tag
				}
			}
			return ""
		}
		h.eventually("tess tagged", func() bool { return tag() == "webmasters 150" })
		if _, err := h.store.AddKarma(h.ctx, "tess", 5, "test"); err != nil {
			t.Fatal(err)
		}
		h.eventually("the tag follows her karma", func() bool { return tag() == "webmasters 155" })
		n := 0
		for _, c := range h.sb.Calls() {
			if c.Method == "setChatMemberTag" {
				n++
			}
		}
		time.Sleep(200 * time.Millisecond) // several passes
		m := 0
		for _, c := range h.sb.Calls() {
			if c.Method == "setChatMemberTag" {
				m++
			}
		}
		if n != 2 || m != 2 {
			t.Errorf("setChatMemberTag calls: %d, then %d after more passes; want 2 (only changes)", n, m)
		}
	})
}

// TestBot_ResolvePhone: the Bot API way of finding who has a phone number
// (a contact sent into the log chat) says who when Telegram does, and
// "unresolved" when it does not; the lookup message is deleted.
func TestBot_ResolvePhone(t *testing.T) {
	h := newHarness(t, "sqlite:"+t.TempDir()+"/k.db", harnessOptions{})
	owner := h.person("Owner", "owner_tg")
	logChat := sandboxtest.MustChat(t, h.sb, owner.ID, "karmagate log")
	open := sandboxtest.MustUser(t, h.sb, world.UserSpec{FirstName: "Open", Phone: "+15550101", Privacy: world.PrivacyEverybody})
	sandboxtest.MustUser(t, h.sb, world.UserSpec{FirstName: "Shy", Phone: "+15550102", Privacy: world.PrivacyNobody})
	if _, err := h.bot.ResolvePhone(h.ctx, "+15550101"); !errors.Is(err, bot.ErrNoLogChat) {
		t.Errorf("without a log chat: %v, want ErrNoLogChat", err)
	}
	h.opts.logChat = logChat.BotAPIID()
	h = h.restart()
	for _, tc := range []struct {
		phone  string
		status linking.ResolveStatus
		user   int64
	}{
		{"+1 555 0101", linking.Resolved, open.ID},
		{"+15550102", linking.Unresolved, 0},
		{"+15550199", linking.Unresolved, 0},
	} {
		res, err := h.bot.ResolvePhone(h.ctx, tc.phone)
		for err == nil && res.Status == linking.Limited {
			// The log chat is a group: 20 messages a minute.
			time.Sleep(res.RetryAfter)
			res, err = h.bot.ResolvePhone(h.ctx, tc.phone)
		}
		if err != nil || res.Status != tc.status || res.UserID != tc.user {
			t.Errorf("%s: %+v, %v; want %s %d", tc.phone, res, err, tc.status, tc.user)
		}
	}
	for _, m := range h.sb.World().AllMessages() {
		if m.ChannelID == logChat.ID && m.Contact != nil && !m.Deleted {
			t.Errorf("a lookup was left in the log chat: %+v", m)
		}
	}
}

// TestBot_PersonalLinks: a chat with personal_links gives each member a
// link of their own (member_limit 1), revoked once used; a stranger who
// gets hold of one is let in by Telegram and removed by the bot.
func TestBot_PersonalLinks(t *testing.T) {
	rules := strings.Replace(testRules, "    min_karma: 100\n", "    min_karma: 100\n    personal_links: true\n", 1)
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{rules: rules})
		owner := h.person("Owner", "owner_tg")
		chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
		h.put("pia", 150, "webmasters")
		h.put("pete", 150, "webmasters")
		pia, pete, thief := h.person("Pia", ""), h.person("Pete", ""), h.person("Thief", "")
		h.link("pia", pia)
		h.link("pete", pete)
		linkOf := func(id string) string {
			t.Helper()
			ls, err := h.store.MemberLinks(h.ctx, h.member(id).Member.ID)
			if err != nil {
				t.Fatal(err)
			}
			return ls["webmasters-pro"].Link
		}
		// New links are paced (about 20 a minute per chat): a few seconds.
		h.eventually("both personal links", func() bool { return linkOf("pia") != "" && linkOf("pete") != "" })
		h.idle()
		piaLink, peteLink := linkOf("pia"), linkOf("pete")
		if piaLink == "" || peteLink == "" || piaLink == peteLink || piaLink == h.joinLink("webmasters-pro") {
			t.Fatalf("personal links: pia %q, pete %q", piaLink, peteLink)
		}
		got := h.received(pia.ID)
		if !strings.Contains(got[len(got)-1], piaLink) {
			t.Errorf("pia was not sent her own link: %q", got)
		}
		if res, err := h.sb.Join(pia.ID, piaLink); err != nil || res.Result != "joined" {
			t.Fatalf("pia joins: %+v, %v", res, err)
		}
		h.eventually("pia's link revoked and forgotten", func() bool { return linkOf("pia") == "" })
		if res, err := h.sb.Join(thief.ID, piaLink); err == nil && res.Result == "joined" {
			t.Error("a used personal link admitted someone else")
		}
		// Pete's link leaks before he uses it: the thief gets in through it,
		// and the bot takes them out.
		if res, err := h.sb.Join(thief.ID, peteLink); err != nil || res.Result != "joined" {
			t.Fatalf("thief with pete's link: %+v, %v", res, err)
		}
		h.eventually("the thief removed", func() bool { return !h.inChat(chat.BotAPIID())[thief.ID] })
		h.eventually("pete's spent link forgotten", func() bool { return linkOf("pete") == "" })
		if !h.inChat(chat.BotAPIID())[pia.ID] {
			t.Error("pia is not in")
		}
	})
}
