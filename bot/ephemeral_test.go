package bot_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/world"
)

// graceRules gate webmasters-pro with hysteresis and grace, so that
// /karma has a bar to stay, a grace and what is missing to tell.
const graceRules = `
groups: [webmasters, customers, staff]
chats:
  webmasters-pro:
    title: Webmasters Pro
    groups: [webmasters]
    min_karma: 100
    leave_below: 90
    grace: 24h
  customers-club:
    title: Customers Club
    groups: [customers]
    min_karma: 50
    on_violation: flag
`

// botSeenInGroup is what the bot said in group c as viewer sees it (0:
// what every member sees), oldest first: the sandbox's group view.
func (h *harness) botSeenInGroup(c world.Chat, viewer int64) []string {
	h.t.Helper()
	ms, err := h.sb.World().ChatMessages(c.BotAPIID(), viewer)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.FromID == h.bot.ID() {
			out = append(out, m.Text)
		}
	}
	return out
}

// askInGroup sends text in group c as user and waits for the bot's next
// message there that user sees.
func (h *harness) askInGroup(c world.Chat, user world.User, text string) string {
	h.t.Helper()
	before := len(h.botSeenInGroup(c, user.ID))
	if _, err := h.sb.SendMessage(user.ID, c.BotAPIID(), text); err != nil {
		h.t.Fatalf("%s says %q: %v", user.FirstName, text, err)
	}
	var got string
	h.eventually(user.FirstName+"'s answer to "+text+" in the group", func() bool {
		seen := h.botSeenInGroup(c, user.ID)
		if len(seen) > before {
			got = seen[before]
			return true
		}
		return false
	})
	return got
}

// joined links member to a new person and lets them into the chat key.
func (h *harness) joined(member, first, username, key string) world.User {
	h.t.Helper()
	p := h.person(first, username)
	h.link(member, p)
	if _, err := h.sb.Join(p.ID, h.joinLink(key)); err != nil {
		h.t.Fatal(err)
	}
	h.eventually(member+" in", func() bool { return h.state(member, key).InChat })
	return p
}

// notSeenBy fails when text reached any of the others: in the group as
// they see it, or in what they received.
func (h *harness) notSeenBy(c world.Chat, text string, others ...world.User) {
	h.t.Helper()
	if slices.Contains(h.botSeenInGroup(c, 0), text) {
		h.t.Errorf("the whole group sees %q", text)
	}
	for _, o := range others {
		if slices.Contains(h.botSeenInGroup(c, o.ID), text) {
			h.t.Errorf("%s sees %q in the group", o.FirstName, text)
		}
		if slices.Contains(h.received(o.ID), text) {
			h.t.Errorf("%s received %q", o.FirstName, text)
		}
	}
}

// TestBot_KarmaOnlyTheAskerSees (issue 18, part 3): /karma in a gated
// group is answered with an ephemeral message: the asker's per-user view
// (GET /sandbox/users/{id}/messages) and their view of the group show it,
// the other members' and the group's do not. The answer tells karma
// against the bar, groups, grace and what is missing.
func TestBot_KarmaOnlyTheAskerSees(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		// The sandbox's clock: /karma is answered once a minute per
		// person, by the minute its message was sent.
		tg := &clock{}
		h := newHarness(t, spec, harnessOptions{rules: graceRules, sandbox: sandbox.Config{Now: tg.Now}})
		owner := h.person("Owner", "owner_tg")
		chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
		h.put("ann", 150, "webmasters", "customers")
		h.put("cat", 120, "webmasters")
		ann := h.joined("ann", "Ann", "ann_tg", "webmasters-pro")
		cat := h.joined("cat", "Cat", "cat_tg", "webmasters-pro")

		got := h.askInGroup(chat, ann, "/karma")
		contains(t, "ann's /karma", got, "Webmasters Pro: your karma is 150, the bar is 100 (members stay until below 90)",
			"Your groups on the website: customers, webmasters", "asks for one of: webmasters", "You qualify, and you are in.")
		if strings.Contains(got, "Missing") {
			t.Errorf("ann misses nothing: %q", got)
		}
		h.notSeenBy(chat, got, owner, cat)
		var inbox []world.Message
		for _, m := range h.sb.Received(ann.ID) {
			if m.Text == got {
				inbox = append(inbox, m)
			}
		}
		if len(inbox) != 1 || inbox[0].ReceiverID != ann.ID || inbox[0].ChatIDFor(ann.ID) != chat.BotAPIID() {
			t.Errorf("ann's per-user view: %+v; want the answer once, ephemeral in the group", inbox)
		}
		ns, err := h.store.Notices(h.ctx, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(ns, func(n models.Notice) bool { return n.Kind == "ephemeral" && n.Status == models.NoticeSent }) {
			t.Errorf("no sent ephemeral notice among %+v", ns)
		}

		t.Run("wiring: sendMessage carries ephemeral_message_parameters", func(t *testing.T) {
			var found bool
			for _, c := range h.sb.Calls() {
				if c.Method != "sendMessage" || c.Error != "" {
					continue
				}
				raw, _ := json.Marshal(c.Params)
				var p struct {
					ChatID    json.Number `json:"chat_id"`
					Text      string      `json:"text"`
					Ephemeral any         `json:"ephemeral_message_parameters"`
				}
				if err := json.Unmarshal(raw, &p); err != nil || p.Text != got {
					continue
				}
				found = true
				// The call log keeps JSON parameters as the text sent.
				e, ok := p.Ephemeral.(string)
				if !ok {
					b, _ := json.Marshal(p.Ephemeral)
					e = string(b)
				}
				var eph struct {
					ReceiverUserID int64 `json:"receiver_user_id"`
				}
				_ = json.Unmarshal([]byte(e), &eph)
				if p.ChatID.String() != strconv.FormatInt(chat.BotAPIID(), 10) || eph.ReceiverUserID != ann.ID {
					t.Errorf("the answer went as %s: want to the group with receiver_user_id %d", raw, ann.ID)
				}
			}
			if !found {
				t.Error("no sendMessage call carried the answer")
			}
		})

		t.Run("once a minute", func(t *testing.T) {
			// At 5 s into a minute, so that two questions fall in it.
			now := tg.Now()
			tg.Advance(now.Truncate(time.Minute).Add(time.Minute + 5*time.Second).Sub(now))
			first := h.askInGroup(chat, ann, "/karma")
			if _, err := h.sb.SendMessage(ann.ID, chat.BotAPIID(), "/karma"); err != nil {
				t.Fatal(err)
			}
			h.idle()
			seen := h.botSeenInGroup(chat, ann.ID)
			if n := strings.Count(strings.Join(seen, "\x00"), first); n != 2 { // the first /karma's answer, and this minute's
				t.Errorf("ann sees %d answers like %q, want 2: the second question of the minute is not answered", n, first)
			}
			tg.Advance(time.Minute)
		})

		t.Run("grace and what is missing", func(t *testing.T) {
			h.put("ann", 85, "webmasters")
			h.eventually("ann in grace", func() bool { return h.state("ann", "webmasters-pro").State == "grace" })
			got := h.askInGroup(chat, ann, "/karma")
			contains(t, "ann's /karma in grace", got, "your karma is 85", "unless your karma is back to 90 by", "Missing: 5 karma.")
			h.notSeenBy(chat, got, owner, cat)
		})

		t.Run("another member asks", func(t *testing.T) {
			got := h.askInGroup(chat, cat, "/karma@"+sandbox.DefaultBotUsername)
			contains(t, "cat's /karma", got, "your karma is 120", "You qualify, and you are in.")
			h.notSeenBy(chat, got, owner, ann)
		})
	})
}

// TestBot_EphemeralFallsBackToDM: in a chat that does not allow
// ephemeral messages the answer goes by DM, naming the group; to someone
// the bot cannot message either it goes nowhere — never to the group.
func TestBot_EphemeralFallsBackToDM(t *testing.T) {
	h := newHarness(t, "sqlite:"+t.TempDir()+"/k.db", harnessOptions{rules: graceRules})
	owner := h.person("Owner", "owner_tg")
	chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
	h.put("ann", 150, "webmasters")
	ann := h.joined("ann", "Ann", "ann_tg", "webmasters-pro")
	// Eve is linked by the website (never started the bot) and let in by
	// a link of the owner's: the bot cannot write to her.
	h.put("eve", 130, "webmasters")
	eve := h.person("Eve", "eve_tg")
	if _, err := h.store.LinkTelegram(h.ctx, "eve", eve.ID, eve.Username, "test"); err != nil {
		t.Fatal(err)
	}
	primary, ok := h.sb.World().PrimaryInvite(chat.ID)
	if !ok {
		t.Fatal("no primary link")
	}
	if res, err := h.sb.Join(eve.ID, primary.Link); err != nil || res.Result != "joined" {
		t.Fatalf("eve joins: %+v, %v", res, err)
	}
	h.eventually("eve in", func() bool { return h.state("eve", "webmasters-pro").InChat })
	if err := h.sb.World().SetEphemeralAllowed(chat.BotAPIID(), false); err != nil {
		t.Fatal(err)
	}

	before := len(h.received(ann.ID))
	dm := h.reply0(ann, chat, "/karma", before)
	contains(t, "ann's DM", dm, "About Webmasters Pro", "your karma is 150", "You qualify, and you are in.")
	for _, m := range h.sb.Received(ann.ID) {
		if m.Text == dm && (m.ReceiverID != 0 || m.ChatIDFor(ann.ID) != h.bot.ID()) {
			t.Errorf("the fallback is not a DM: %+v", m)
		}
	}
	h.notSeenBy(chat, dm, owner, eve)
	if said := h.botSeenInGroup(chat, ann.ID); len(said) != 1 { // "Bound to …" only
		t.Errorf("the bot said in the group, as ann sees it: %q", said)
	}

	// Eve: no ephemeral, no DM: nothing at all, and nothing in the group.
	if _, err := h.sb.SendMessage(eve.ID, chat.BotAPIID(), "/karma"); err != nil {
		t.Fatal(err)
	}
	h.eventually("eve recorded as unreachable", func() bool {
		u, err := h.store.UnreachableFor(h.ctx, eve.ID)
		return err == nil && u != nil
	})
	h.idle()
	if got := h.received(eve.ID); len(got) != 0 {
		t.Errorf("eve received %q", got)
	}
	if said := h.botSeenInGroup(chat, eve.ID); len(said) != 1 {
		t.Errorf("the bot said in the group, as eve sees it: %q", said)
	}
	var tries int
	for _, c := range h.sb.Calls() {
		if c.Method == "sendMessage" && strings.Contains(c.Error, "ephemeral messages are not allowed") {
			tries++
		}
	}
	if tries != 1 {
		t.Errorf("%d ephemeral sends refused; want 1 (the chat is then answered by DM for a while)", tries)
	}
}

// reply0 sends text in group c as user and waits for the DM after the
// first before messages user had received.
func (h *harness) reply0(user world.User, c world.Chat, text string, before int) string {
	h.t.Helper()
	if _, err := h.sb.SendMessage(user.ID, c.BotAPIID(), text); err != nil {
		h.t.Fatal(err)
	}
	var got string
	h.eventually(user.FirstName+"'s DM answer to "+text, func() bool {
		r := h.received(user.ID)
		if len(r) > before {
			got = r[before]
			return true
		}
		return false
	})
	return got
}

// TestBot_StatusAndWhoInTheGroup: an admin's /status and /who in the
// group are answered to them alone, about that group; a member who is no
// admin is told, as privately, that they are for admins.
func TestBot_StatusAndWhoInTheGroup(t *testing.T) {
	h := newHarness(t, "sqlite:"+t.TempDir()+"/k.db", harnessOptions{})
	owner := h.person("Owner", "owner_tg")
	chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
	h.put("ann", 150, "webmasters")
	ann := h.joined("ann", "Ann", "ann_tg", "webmasters-pro")

	for _, tc := range []struct {
		who  world.User
		cmd  string
		want []string
		not  []world.User
	}{
		{owner, "/status", []string{"Webmasters Pro (webmasters-pro)", "in: 1", "should be in: 1"}, []world.User{ann}},
		{owner, "/who @ann_tg", []string{"ann: karma 150", "webmasters-pro: member"}, []world.User{ann}},
		{owner, "/who nosuch", []string{"No member nosuch"}, []world.User{ann}},
		{ann, "/status", []string{"Only the group's admins and the site's admins may use /status."}, []world.User{owner}},
		{ann, "/who @owner_tg", []string{"may use /who"}, []world.User{owner}},
	} {
		got := h.askInGroup(chat, tc.who, tc.cmd)
		contains(t, tc.who.FirstName+" "+tc.cmd, got, tc.want...)
		h.notSeenBy(chat, got, tc.not...)
	}
}

// TestBot_NotQualifiedNotice: someone who speaks in a gated group
// without qualifying (here a stranger a flagging chat keeps) is told so,
// privately, once a day; admins never are; /karma tells a stranger how
// to link.
func TestBot_NotQualifiedNotice(t *testing.T) {
	h := newHarness(t, "sqlite:"+t.TempDir()+"/k.db", harnessOptions{})
	owner := h.person("Owner", "owner_tg")
	chat := h.group(owner, "Customers Club", "customers-club")
	zed := h.person("Zed", "zed_tg")
	primary, ok := h.sb.World().PrimaryInvite(chat.ID)
	if !ok {
		t.Fatal("no primary link")
	}
	if res, err := h.sb.Join(zed.ID, primary.Link); err != nil || res.Result != "joined" {
		t.Fatalf("zed joins: %+v, %v", res, err)
	}
	h.idle()

	got := h.askInGroup(chat, zed, "hello everyone")
	contains(t, "the notice", got, "Customers Club is for members of the website who qualify", "not linked", "Connect Telegram")
	h.notSeenBy(chat, got, owner)
	if _, err := h.sb.SendMessage(zed.ID, chat.BotAPIID(), "anyone?"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sb.SendMessage(owner.ID, chat.BotAPIID(), "welcome"); err != nil {
		t.Fatal(err)
	}
	h.idle()
	if n := len(h.botSeenInGroup(chat, zed.ID)); n != 2 { // "Bound to …" and the notice
		t.Errorf("zed sees %d messages of the bot's in the group, want 2: told once a day", n)
	}
	if n := len(h.botSeenInGroup(chat, owner.ID)); n != 1 {
		t.Errorf("the owner sees %d messages of the bot's, want only \"Bound to …\"", n)
	}
	got = h.askInGroup(chat, zed, "/karma")
	contains(t, "a stranger's /karma", got, "not linked to a website account", "in Customers Club", "Connect Telegram")
	h.notSeenBy(chat, got, owner)
}

// TestBot_KarmaInPrivate: /karma in a private chat tells a linked member
// their standing in every gated chat, and someone not linked how to link.
func TestBot_KarmaInPrivate(t *testing.T) {
	h := newHarness(t, "sqlite:"+t.TempDir()+"/k.db", harnessOptions{rules: graceRules})
	h.put("ann", 95, "webmasters")
	ann := h.person("Ann", "ann_tg")
	h.link("ann", ann)
	nobody := h.person("Nobody", "")
	for _, tc := range []struct {
		who  world.User
		want []string
	}{
		{ann, []string{"Webmasters Pro: your karma is 95, the bar is 100 (members stay until below 90)", "You do not qualify", "Missing: 5 karma.",
			"Customers Club: your karma is 95, the bar is 50", "Missing: one of the groups customers on the website."}},
		{nobody, []string{"not linked to a website account", "Connect Telegram"}},
	} {
		contains(t, tc.who.FirstName+"'s /karma", h.reply(tc.who.ID, "/karma"), tc.want...)
	}
}
