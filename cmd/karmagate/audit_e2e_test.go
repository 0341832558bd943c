package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

const auditRules = `
groups: [members]
chats:
  club:
    title: The Club
    groups: [members]
    min_karma: 10
    strangers:
      remove_after: 1m
`

// TestE2E_AuditExistingGroup drives the real binary and the sandbox's
// MTProto: a group made by hand with 40 people inside (25 of them members
// who link, 15 strangers) and a moderator, bound with the bot; a userbot
// account logged in over REST. /audit on from the owner: the bot makes a
// one-use link, the account joins with it (messages.importChatInvite) and
// the bot promotes it to an admin that can only see the members; the audit
// then counts the 15 strangers. Under strangers: {remove_after: 1m} their
// clock runs out, they are listed pending (the group started in dry run),
// and a REST confirm removes exactly them: no admin is touched.
func TestE2E_AuditExistingGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the real binary for minutes")
	}
	e := newUserbotE2E(t, auditRules)
	e.serve()

	owner := e.user("Owner")
	var chat struct {
		ID int64 `json:"id"`
	}
	e.sandbox("POST", "/sandbox/chats", map[string]any{"title": "The Club", "creator": owner}, &chat)
	// The bot with the rights /audit on needs: add new admins.
	e.sandbox("POST", fmt.Sprintf("/sandbox/chats/%d/admins", chat.ID), map[string]any{"rights": map[string]bool{
		"can_manage_chat": true, "can_invite_users": true, "can_restrict_members": true, "can_pin_messages": true, "can_promote_members": true,
	}}, nil)
	mod := e.user("Mod")
	var export struct {
		OK     bool   `json:"ok"`
		Result string `json:"result"`
	}
	if st := e.do("POST", e.control+"/bot"+e.vars["TELEGRAM_BOT_TOKEN"]+"/exportChatInviteLink", "", map[string]any{"chat_id": chat.ID}, &export); st != 200 || !export.OK {
		t.Fatalf("exportChatInviteLink: %d %+v", st, export)
	}
	join := func(id int64) {
		var res struct {
			Result string `json:"result"`
		}
		e.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/join", id), map[string]any{"invite_link": export.Result}, &res)
		if res.Result != "joined" {
			t.Fatalf("user %d joins: %q", id, res.Result)
		}
	}
	join(mod)
	e.sandbox("POST", fmt.Sprintf("/sandbox/chats/%d/admins", chat.ID), map[string]any{"user_id": mod}, nil)
	const people, members = 40, 25
	person := make([]int64, people)
	for i := range people {
		person[i] = e.user(fmt.Sprintf("P%02d", i))
		join(person[i])
	}

	e.say(owner, chat.ID, e.bindCommand("club"))
	e.eventually("club bound", func() bool {
		for _, c := range e.chats() {
			if c.Key == "club" && c.ChatID != nil {
				return true
			}
		}
		return false
	})
	for i := range members {
		if st := e.api("PUT", fmt.Sprintf("/api/v1/members/m%02d", i), map[string]any{"karma": 100, "groups": []string{"members"}}, nil); st != 201 {
			t.Fatalf("put m%02d: %d", i, st)
		}
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
	e.eventually("the 25 recorded inside", func() bool {
		return e.metric(`karmagate_chat_members{chat="club",state="member"}`) == members
	})

	// A userbot account, logged in over REST.
	const phone = "+31611119001"
	account := e.person("Auditor", phone, "")
	var step struct {
		ID    int64  `json:"id"`
		State string `json:"state"`
	}
	if st := e.admin("POST", "/api/v1/userbots", map[string]any{"phone": phone}, &step); st != 201 {
		t.Fatalf("POST /api/v1/userbots: %d %+v", st, step)
	}
	if st := e.admin("POST", fmt.Sprintf("/api/v1/userbots/%d/code", step.ID), map[string]any{"code": e.code(phone, "")}, &step); st != 200 || step.State != "ready" {
		t.Fatalf("the code: %d %+v", st, step)
	}
	e.eventually("the account held by serve", func() bool {
		us := e.userbots()
		return len(us) == 1 && us[0].HeldBy != ""
	})

	// /audit on: the account joins, is promoted, and the audit counts 15.
	e.say(owner, chat.ID, "/audit on")
	e.eventually("the audit account an admin", func() bool { return e.members(chat.ID)[account] == "administrator" })
	if n := e.mtCalls("messages.importChatInvite"); n != 1 {
		t.Errorf("%d messages.importChatInvite calls, want 1", n)
	}
	e.eventually("the audit's 15 strangers", func() bool {
		var got struct {
			People struct {
				Strangers int `json:"strangers"`
			} `json:"people"`
		}
		e.api("GET", "/api/v1/chats/club?count=false", nil, &got)
		return got.People.Strangers == people-members
	})
	var audits struct {
		Events []struct {
			Detail string `json:"detail"`
		} `json:"events"`
	}
	e.api("GET", "/api/v1/events?kind=chat.audited", nil, &audits)
	if len(audits.Events) == 0 || !strings.Contains(audits.Events[0].Detail, "15 strangers") {
		t.Errorf("the audit in the audit trail: %+v", audits.Events)
	}

	// Their clock (1m) runs out: the sweep (every minute) lists them.
	var pending pendingList
	deadline := time.Now().Add(3 * time.Minute)
	for {
		e.api("GET", "/api/v1/chats/club/pending", nil, &pending)
		if pending.Count == people-members {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 minutes %d strangers' removals pending, want %d\n%s", pending.Count, people-members, e.logs.String())
		}
		time.Sleep(time.Second)
	}
	if n := e.botCalls("banChatMember"); n != 0 {
		t.Fatalf("%d banChatMember calls before the confirmation", n)
	}
	var confirmed struct {
		Confirmed int `json:"confirmed"`
	}
	if st := e.api("POST", "/api/v1/chats/club/pending/confirm", nil, &confirmed); st != 200 || confirmed.Confirmed != people-members {
		t.Fatalf("confirm: %d %+v", st, confirmed)
	}
	e.eventually("the 15 strangers removed", func() bool {
		ms := e.members(chat.ID)
		for i := members; i < people; i++ {
			if ms[person[i]] == "member" {
				return false
			}
		}
		return true
	})
	e.eventually("the workers idle", func() bool {
		return e.metric(`karmagate_outbox_actions{status="pending"}`) == 0 && e.metric(`karmagate_outbox_actions{status="running"}`) == 0
	})
	ms := e.members(chat.ID)
	for i := range members {
		if ms[person[i]] != "member" {
			t.Errorf("member %d is %q", i, ms[person[i]])
		}
	}
	if ms[owner] != "creator" || ms[mod] != "administrator" || ms[account] != "administrator" || ms[e.botID()] != "administrator" {
		t.Errorf("an admin touched: owner %q, mod %q, account %q, bot %q", ms[owner], ms[mod], ms[account], ms[e.botID()])
	}
	if n := e.botCalls("banChatMember"); n != people-members {
		t.Errorf("%d banChatMember calls, want exactly %d", n, people-members)
	}
}
