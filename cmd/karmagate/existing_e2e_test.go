package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

const existingRules = `
groups: [members]
chats:
  club:
    title: The Club
    groups: [members]
    min_karma: 10
    dry_run: true
`

// TestE2E_ExistingGroup drives the real binary through what a site owner
// does on day one: a group with 12 people already inside is bound under
// dry_run: true; only then are the 12 put over REST and do they link
// their Telegram by deep link. As each links, the bot asks Telegram
// whether they are inside: exactly the 4 who do not qualify are listed
// pending, the 8 who do are recorded members and sent no join link, and
// after a REST confirm exactly the 4 are removed.
func TestE2E_ExistingGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the real binary")
	}
	e := newUserbotE2E(t, existingRules)
	e.serve()

	owner := e.user("Owner")
	var chat struct {
		ID int64 `json:"id"`
	}
	e.sandbox("POST", "/sandbox/chats", map[string]any{"title": "The Club", "creator": owner}, &chat)
	e.sandbox("POST", fmt.Sprintf("/sandbox/chats/%d/admins", chat.ID), map[string]any{}, nil)
	var export struct {
		OK     bool   `json:"ok"`
		Result string `json:"result"`
	}
	if st := e.do("POST", e.control+"/bot"+e.vars["TELEGRAM_BOT_TOKEN"]+"/exportChatInviteLink", "", map[string]any{"chat_id": chat.ID}, &export); st != 200 || !export.OK {
		t.Fatalf("exportChatInviteLink: %d %+v", st, export)
	}
	const people, unqualified = 12, 4
	person := make([]int64, people)
	for i := range people {
		person[i] = e.user(fmt.Sprintf("P%02d", i))
		var res struct {
			Result string `json:"result"`
		}
		e.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/join", person[i]), map[string]any{"invite_link": export.Result}, &res)
		if res.Result != "joined" {
			t.Fatalf("person %d joins: %q", i, res.Result)
		}
	}

	// Bound under dry_run: true, before karmagate knows anyone.
	e.say(owner, chat.ID, e.bindCommand("club"))
	e.eventually("the bind answered", func() bool { return len(e.botSaidIn(chat.ID)) > 0 })
	var chats struct {
		Chats []struct {
			Key        string `json:"key"`
			TelegramID *int64 `json:"telegram_chat_id"`
		} `json:"chats"`
	}
	e.eventually("club bound", func() bool {
		e.api("GET", "/api/v1/chats", nil, &chats)
		return len(chats.Chats) == 1 && chats.Chats[0].TelegramID != nil && *chats.Chats[0].TelegramID == chat.ID
	})

	// The website puts the 12 over REST; each links by deep link.
	for i := range people {
		karma := 100
		if i < unqualified {
			karma = 5 // below min_karma 10
		}
		if st := e.api("PUT", fmt.Sprintf("/api/v1/members/m%02d", i), map[string]any{"karma": karma, "groups": []string{"members"}}, nil); st != 200 && st != 201 {
			t.Fatalf("put m%02d: %d", i, st)
		}
	}
	for i := range people {
		var link struct {
			URL string `json:"url"`
		}
		if st := e.api("POST", fmt.Sprintf("/api/v1/members/m%02d/link", i), nil, &link); st != 200 && st != 201 {
			t.Fatalf("link m%02d: %d", i, st)
		}
		u, err := url.Parse(link.URL)
		if err != nil {
			t.Fatal(err)
		}
		e.say(person[i], 0, "/start "+u.Query().Get("start"))
	}

	var pending pendingList
	e.eventually("the 4 who do not qualify pending", func() bool {
		e.api("GET", "/api/v1/chats/club/pending", nil, &pending)
		return pending.Count == unqualified
	})
	e.eventually("the 8 recorded inside and the workers idle", func() bool {
		return e.metric(`karmagate_chat_members{chat="club",state="member"}`) == people-unqualified &&
			e.metric(`karmagate_outbox_actions{status="pending"}`) == 0 &&
			e.metric(`karmagate_outbox_actions{status="running"}`) == 0
	})
	e.api("GET", "/api/v1/chats/club/pending", nil, &pending)
	if pending.Count != unqualified || !pending.DryRun || len(pending.Removals) != unqualified {
		t.Fatalf("pending: %d, dry_run %v, %d listed", pending.Count, pending.DryRun, len(pending.Removals))
	}
	for _, r := range pending.Removals {
		var n int
		if _, err := fmt.Sscanf(r.Member, "m%02d", &n); err != nil || n >= unqualified {
			t.Errorf("a held removal of %q: not one of the 4", r.Member)
		}
	}
	// No join link went to anyone: the 8 are inside, the 4 do not qualify.
	for i := range people {
		for _, text := range e.received(person[i]) {
			if strings.Contains(text, "t.me/+") || strings.Contains(text, "Join here") {
				t.Errorf("person %d was sent a join link: %q", i, text)
			}
		}
	}
	if n := e.botCalls("getChatMember"); n < people {
		t.Errorf("%d getChatMember calls, want one per member linked at least", n)
	} else {
		t.Logf("getChatMember calls while 12 linked: %d", n)
	}
	if n := e.botCalls("banChatMember"); n != 0 {
		t.Fatalf("%d banChatMember calls under dry run", n)
	}

	// Who is inside: Telegram counts 12 besides the admins, all 12 known.
	e.checkPeople("club", 12, 12, 0, 0)
	e.say(owner, chat.ID, "/status")
	e.eventually("/status in the group", func() bool {
		for _, text := range e.botSaidIn(chat.ID) {
			if strings.Contains(text, "people inside besides the admins: 12 · known to karmagate: 12 · strangers: 0 · unknown: 0") {
				return true
			}
		}
		return false
	})
	// The welcome post, pinned.
	e.say(owner, chat.ID, "/welcome")
	e.eventually("the welcome post pinned", func() bool { return e.botCalls("pinChatMessage") == 1 })

	// The site owner confirms over REST: exactly the 4 go.
	var confirmed struct {
		Confirmed int `json:"confirmed"`
	}
	if st := e.api("POST", "/api/v1/chats/club/pending/confirm", nil, &confirmed); st != 200 || confirmed.Confirmed != unqualified {
		t.Fatalf("confirm: %d %+v", st, confirmed)
	}
	e.eventually("the 4 removed", func() bool {
		ms := e.members(chat.ID)
		for i := range unqualified {
			if ms[person[i]] == "member" {
				return false
			}
		}
		return true
	})
	e.eventually("the workers idle again", func() bool {
		return e.metric(`karmagate_outbox_actions{status="pending"}`) == 0 &&
			e.metric(`karmagate_outbox_actions{status="running"}`) == 0
	})
	ms := e.members(chat.ID)
	for i := unqualified; i < people; i++ {
		if ms[person[i]] != "member" {
			t.Errorf("person %d (qualifies) is %q", i, ms[person[i]])
		}
	}
	if ms[owner] != "creator" {
		t.Errorf("the owner is %q", ms[owner])
	}
	if n := e.botCalls("banChatMember"); n != unqualified {
		t.Errorf("%d banChatMember calls, want exactly %d", n, unqualified)
	}
	e.checkPeople("club", people-unqualified, people-unqualified, 0, 0)
}

// checkPeople checks GET /api/v1/chats/{key}'s people: Telegram's count
// besides the admins, the members known inside, strangers, unknown.
func (e *e2e) checkPeople(key string, inside, known, strangers, unknown int) {
	e.t.Helper()
	var got struct {
		Key    string `json:"key"`
		People struct {
			Inside    *int `json:"inside"`
			Known     int  `json:"known"`
			Strangers int  `json:"strangers"`
			Unknown   *int `json:"unknown"`
		} `json:"people"`
		Links map[string]struct {
			Href string `json:"href"`
		} `json:"_links"`
	}
	if st := e.api("GET", "/api/v1/chats/"+key, nil, &got); st != 200 {
		e.t.Fatalf("GET /api/v1/chats/%s: %d", key, st)
	}
	p := got.People
	if got.Key != key || p.Inside == nil || *p.Inside != inside || p.Known != known || p.Strangers != strangers || p.Unknown == nil || *p.Unknown != unknown {
		e.t.Errorf("GET /api/v1/chats/%s people = %+v (inside %v, unknown %v), want %d inside, %d known, %d strangers, %d unknown",
			key, p, deref(p.Inside), deref(p.Unknown), inside, known, strangers, unknown)
	}
	if got.Links["pending"].Href != "/api/v1/chats/"+key+"/pending" || got.Links["self"].Href == "" {
		e.t.Errorf("_links = %+v", got.Links)
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
