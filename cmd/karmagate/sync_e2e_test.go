package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
)

const oneChatRules = `
groups: [webmasters]
chats:
  webmasters-pro:
    title: Webmasters Pro
    groups: [webmasters]
    min_karma: 100
`

// TestE2E_SyncReconciles: karmagate sync, as a process of its own while
// serve is down (a cron job), re-plans everyone and audits the group
// through the userbot account: it finds the stranger who got in through a
// link made by hand and the member whose karma dropped behind karmagate's
// back, queues both removals, prints the report and exits 0. serve, back,
// carries the removals out.
func TestE2E_SyncReconciles(t *testing.T) {
	e := newUserbotE2E(t, oneChatRules)
	e.person("Dana", "+31611110009", "")
	e.cliLogin("+31611110009", "")
	e.serve()
	var chat int64
	e.eventually("the group created", func() bool {
		for _, c := range e.chats() {
			if c.ChatID != nil {
				chat = *c.ChatID
				return true
			}
		}
		return false
	})
	ann := e.linkAndJoin("ann")
	e.linkAndJoin("ben")
	e.stop()

	// While serve is down: someone joins through a link an admin made by
	// hand, and Ann's karma drops without karmagate hearing of it.
	var made struct {
		Result struct {
			InviteLink string `json:"invite_link"`
		} `json:"result"`
	}
	if st := e.do("POST", e.control+"/bot"+e.vars["TELEGRAM_BOT_TOKEN"]+"/createChatInviteLink", "", map[string]any{"chat_id": chat}, &made); st != 200 {
		t.Fatalf("createChatInviteLink: %d", st)
	}
	stranger := e.user("Stranger")
	var res struct {
		Result string `json:"result"`
	}
	e.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/join", stranger), map[string]any{"invite_link": made.Result.InviteLink}, &res)
	if res.Result != "joined" {
		t.Fatalf("the stranger's join: %q", res.Result)
	}
	e.sql("UPDATE members SET karma = 10 WHERE external_id = 'ann'")

	before := e.mtCalls("channels.getParticipants")
	out := e.cli("sync")
	t.Logf("karmagate sync:\n%s", out)
	for _, want := range []string{
		"2 members planned (1 changed)", "queued 0 invites, 2 removals, 0 warnings",
		"1 of 1 chats audited: 1 strangers, 0 found inside, 0 gone",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("karmagate sync printed no %q:\n%s", want, out)
		}
	}
	if e.mtCalls("channels.getParticipants") <= before {
		t.Error("karmagate sync listed no participants")
	}
	// Queued, not executed: both removals wait in the outbox.
	for _, who := range []int64{ann, stranger} {
		if n := e.count("SELECT COUNT(*) FROM actions WHERE kind = 'remove' AND status = 'pending' AND tg_user_id = ?", who); n != 1 {
			t.Errorf("pending removals of %d: %d, want 1", who, n)
		}
	}
	if n := e.count("SELECT COUNT(*) FROM events WHERE kind = ?", models.EventReconciled); n < 1 {
		t.Error("no reconcile event in the audit trail")
	}
	if m := e.members(chat); m[stranger] != "member" || m[ann] != "member" {
		t.Fatalf("sync removed someone itself: %v", m)
	}

	e.serve()
	e.eventually("the stranger and Ann removed", func() bool {
		m := e.members(chat)
		return m[stranger] != "member" && m[ann] != "member"
	})

	// With serve running, it holds the account: sync queues the audit for
	// it, waits, and reports what serve's audit found (Ben inside, though
	// the database lost that).
	e.sql("UPDATE chat_states SET in_chat = ? WHERE member_id = (SELECT id FROM members WHERE external_id = 'ben')", false)
	out = e.cli("sync", "--wait", "90s")
	t.Logf("karmagate sync, serve running:\n%s", out)
	if want := "1 of 1 chats audited: 0 strangers, 1 found inside, 0 gone"; !strings.Contains(out, want) {
		t.Errorf("karmagate sync printed no %q:\n%s", want, out)
	}
	if n := e.count("SELECT COUNT(*) FROM chat_states WHERE in_chat = ? AND member_id = (SELECT id FROM members WHERE external_id = 'ben')", true); n != 1 {
		t.Errorf("ben not recorded inside again")
	}
}

// TestE2E_SyncWithoutUserbots: without userbot accounts sync re-plans only
// and says so.
func TestE2E_SyncWithoutUserbots(t *testing.T) {
	e := newUserbotE2E(t, oneChatRules)
	cmd := exec.Command(os.Args[0], "migrate")
	cmd.Dir, cmd.Env = e.dir, e.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	out := e.cli("sync")
	for _, want := range []string{"re-planning only, the chats are not audited", "0 members planned (0 changed)", "0 of 0 chats audited"} {
		if !strings.Contains(out, want) {
			t.Errorf("karmagate sync printed no %q:\n%s", want, out)
		}
	}
}

// linkAndJoin creates a member with karma 150 in webmasters, links a new
// sandbox person to it through the deep link and lets them join through
// the join_url the API shows; it returns the person.
func (e *e2e) linkAndJoin(member string) int64 {
	e.t.Helper()
	if st := e.api("PUT", "/api/v1/members/"+member, map[string]any{"karma": 150, "groups": []string{"webmasters"}}, nil); st != 201 && st != 200 {
		e.t.Fatalf("put member: %d", st)
	}
	var link struct {
		URL string `json:"url"`
	}
	if st := e.api("POST", "/api/v1/members/"+member+"/link", nil, &link); st != 200 && st != 201 {
		e.t.Fatalf("link: %d", st)
	}
	u, err := url.Parse(link.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	person := e.user("Person" + member)
	e.say(person, 0, "/start "+u.Query().Get("start"))
	var joinURL string
	var chat int64
	e.eventually("a join_url for "+member, func() bool {
		var m struct {
			Telegram *struct{} `json:"telegram"`
			Chats    []struct {
				JoinURL string `json:"join_url"`
			} `json:"chats"`
		}
		e.api("GET", "/api/v1/members/"+member, nil, &m)
		if m.Telegram != nil && len(m.Chats) > 0 && m.Chats[0].JoinURL != "" {
			joinURL = m.Chats[0].JoinURL
			return true
		}
		return false
	})
	for _, c := range e.chats() {
		chat = *c.ChatID
	}
	e.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/join", person), map[string]any{"invite_link": joinURL}, nil)
	e.eventually(member+" in the group, and karmagate knowing it", func() bool {
		var m struct {
			Chats []struct {
				State string `json:"state"`
			} `json:"chats"`
		}
		e.api("GET", "/api/v1/members/"+member, nil, &m)
		return e.members(chat)[person] == "member" && len(m.Chats) > 0 && m.Chats[0].State == "member"
	})
	return person
}

// stop ends serve with SIGTERM, as systemd stops it: it lets go of its
// userbot accounts.
func (e *e2e) stop() {
	e.t.Helper()
	if e.proc == nil {
		return
	}
	_ = e.proc.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-e.exited:
		if err != nil {
			e.t.Fatalf("serve on SIGTERM: %v\n%s", err, e.logs.String())
		}
	case <-time.After(60 * time.Second):
		e.t.Fatalf("serve did not stop on SIGTERM\n%s", e.logs.String())
	}
	e.proc = nil
}

// sql runs a statement on the database behind karmagate's back.
func (e *e2e) sql(stmt string, args ...any) {
	e.t.Helper()
	db, err := models.Open(context.Background(), e.vars["KARMAGATE_DB"], models.OpenOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	if err := db.Gorm().Exec(stmt, args...).Error; err != nil {
		e.t.Fatalf("%s: %v", stmt, err)
	}
}

// count runs a COUNT query on the database.
func (e *e2e) count(query string, args ...any) int64 {
	e.t.Helper()
	db, err := models.Open(context.Background(), e.vars["KARMAGATE_DB"], models.OpenOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.Gorm().Raw(query, args...).Scan(&n).Error; err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}
