package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/callback"
	"github.com/karmagate/karmagate/dashboard"
)

const breakerRules = `
groups: [members]
chats:
  club:
    title: The Club
    groups: [members]
    min_karma: 10
`

// breakerE2E is serve on the sandbox with a site admin, a website that
// receives callbacks, and a bound group of 100 linked members inside.
type breakerE2E struct {
	*e2e
	admin, owner int64
	chat         int64
	person       []int64
	bulk         []map[string]any
	rules        string

	mu     sync.Mutex
	opened []map[string]any
}

const (
	breakerPeople  = 100
	breakerDropped = 60
	breakerLimit   = 10
)

func newBreakerE2E(t *testing.T) *breakerE2E {
	t.Helper()
	const cbSecret = "7d1f0c3a9e5b4d2f8a6c0e1b3d5f7a9c2e4f6a8b"
	b := &breakerE2E{}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := callback.Verify([]byte(cbSecret), r.Header.Get(callback.HeaderTimestamp), r.Header.Get(callback.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev map[string]any
		if json.Unmarshal(body, &ev) == nil && ev["type"] == "breaker.opened" {
			b.mu.Lock()
			b.opened = append(b.opened, ev)
			b.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(site.Close)

	e := newUserbotE2E(t, breakerRules)
	b.e2e = e
	b.rules = filepath.Join(e.dir, "rules.yaml")
	b.admin = e.user("Sam")
	e.env = append(e.env, "KARMAGATE_MAX_REMOVALS=10%/24h", // the default, which the other stories turn off
		fmt.Sprintf("KARMAGATE_ADMINS=%d", b.admin), "KARMAGATE_CALLBACK_URL="+site.URL,
		"KARMAGATE_CALLBACK_SECRET="+cbSecret, "KARMAGATE_DASHBOARD_API_KEY=true")
	e.serve()
	e.say(b.admin, 0, "/start")

	// An empty group, bound at once: no dry run.
	b.owner = e.user("Owner")
	var chat struct {
		ID int64 `json:"id"`
	}
	e.sandbox("POST", "/sandbox/chats", map[string]any{"title": "The Club", "creator": b.owner}, &chat)
	b.chat = chat.ID
	e.sandbox("POST", fmt.Sprintf("/sandbox/chats/%d/admins", chat.ID), map[string]any{}, nil)
	e.say(b.owner, chat.ID, e.bindCommand("club"))
	e.eventually("the club bound", func() bool {
		var chats struct {
			Chats []struct {
				Key    string `json:"key"`
				ChatID *int64 `json:"telegram_chat_id"`
			} `json:"chats"`
		}
		e.api("GET", "/api/v1/chats", nil, &chats)
		for _, c := range chats.Chats {
			if c.Key == "club" && c.ChatID != nil {
				return true
			}
		}
		return false
	})
	var export struct {
		OK     bool   `json:"ok"`
		Result string `json:"result"`
	}
	if st := e.do("POST", e.control+"/bot"+e.vars["TELEGRAM_BOT_TOKEN"]+"/exportChatInviteLink", "", map[string]any{"chat_id": chat.ID}, &export); st != 200 || !export.OK {
		t.Fatalf("exportChatInviteLink: %d %+v", st, export)
	}

	// 100 members, linked by deep link, inside.
	b.person = make([]int64, breakerPeople)
	b.bulk = make([]map[string]any, breakerPeople)
	for i := range breakerPeople {
		b.bulk[i] = map[string]any{"id": fmt.Sprintf("m%03d", i), "karma": 100, "groups": []string{"members"}, "name": fmt.Sprintf("Person %03d", i)}
	}
	if st := e.api("POST", "/api/v1/members/bulk", b.bulk, nil); st != 200 {
		t.Fatalf("bulk: %d", st)
	}
	for i := range breakerPeople {
		b.person[i] = e.user(fmt.Sprintf("P%03d", i))
		var link struct {
			URL string `json:"url"`
		}
		if st := e.api("POST", fmt.Sprintf("/api/v1/members/m%03d/link", i), nil, &link); st != 200 && st != 201 {
			t.Fatalf("link m%03d: %d", i, st)
		}
		u, err := url.Parse(link.URL)
		if err != nil {
			t.Fatal(err)
		}
		e.say(b.person[i], 0, "/start "+u.Query().Get("start"))
	}
	e.eventually("all 100 linked", func() bool { return e.linked() == breakerPeople })
	for i := range breakerPeople {
		var res struct {
			Result string `json:"result"`
		}
		e.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/join", b.person[i]), map[string]any{"invite_link": export.Result}, &res)
		if res.Result != "joined" {
			t.Fatalf("person %d joins: %q", i, res.Result)
		}
	}
	e.eventually("the 100 recorded inside and the workers idle", func() bool {
		return e.metric(`karmagate_chat_members{chat="club",state="member"}`) == breakerPeople && e.idle()
	})
	return b
}

// checkTripped: of the 60 who fell below the bar, the cap (10) is
// removed and 50 are held with the reason "breaker"; the admin has a DM,
// the website breaker.opened, the dashboard a red banner.
func (b *breakerE2E) checkTripped(t *testing.T, dropped int) {
	t.Helper()
	held := dropped - breakerLimit
	var pending struct {
		Count    int `json:"count"`
		Removals []struct {
			Member     string `json:"member"`
			HoldReason string `json:"hold_reason"`
		} `json:"removals"`
		Breaker struct {
			Open  bool `json:"open"`
			Held  int  `json:"held"`
			Limit int  `json:"limit"`
		} `json:"breaker"`
	}
	b.eventually("the rest held by the breaker and the workers idle", func() bool {
		b.api("GET", "/api/v1/chats/club/pending", nil, &pending)
		return pending.Count == held && b.idle()
	})
	if n := b.botCalls("banChatMember"); n != breakerLimit {
		t.Fatalf("%d banChatMember calls, want the cap, %d", n, breakerLimit)
	}
	if !pending.Breaker.Open || pending.Breaker.Held != held || pending.Breaker.Limit != breakerLimit {
		t.Errorf("breaker = %+v", pending.Breaker)
	}
	for _, r := range pending.Removals {
		if r.HoldReason != "breaker" {
			t.Errorf("%s held for %q, want breaker", r.Member, r.HoldReason)
		}
	}
	b.eventually("the admin's DM", func() bool {
		for _, m := range b.received(b.admin) {
			if strings.Contains(m, "Removal breaker open in The Club") && strings.Contains(m, fmt.Sprintf("%d more are held", held)) {
				return true
			}
		}
		return false
	})
	b.eventually("the website's breaker.opened", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.opened) == 1 && b.opened[0]["chat"] == "club"
	})
	if v := b.metric(`karmagate_removal_breaker_open{chat="club"}`); v != 1 {
		t.Errorf("karmagate_removal_breaker_open = %v", v)
	}
	if body := b.dashboard("/admin/"); !strings.Contains(body, `data-breaker="club"`) || !strings.Contains(body, "Removal breaker open in The Club") {
		t.Error("no red banner on the dashboard's overview")
	}
}

// checkConfirmed confirms over REST: the 60 are out, the 40 who qualify
// and the owner stay.
func (b *breakerE2E) checkConfirmed(t *testing.T, dropped int) {
	t.Helper()
	var confirmed struct {
		Confirmed int `json:"confirmed"`
	}
	if st := b.api("POST", "/api/v1/chats/club/pending/confirm", nil, &confirmed); st != 200 || confirmed.Confirmed != dropped-breakerLimit {
		t.Fatalf("confirm: %d %+v", st, confirmed)
	}
	b.eventually("the dropped removed", func() bool {
		ms := b.members(b.chat)
		for i := range dropped {
			if ms[b.person[i]] == "member" {
				return false
			}
		}
		return true
	})
	ms := b.members(b.chat)
	for i := dropped; i < breakerPeople; i++ {
		if ms[b.person[i]] != "member" {
			t.Errorf("person %d (qualifies) is %q", i, ms[b.person[i]])
		}
	}
	if ms[b.owner] != "creator" {
		t.Errorf("the owner is %q", ms[b.owner])
	}
	if v := b.metric(`karmagate_removal_breaker_open{chat="club"}`); v != 0 {
		t.Errorf("karmagate_removal_breaker_open after confirm = %v", v)
	}
	if body := b.dashboard("/admin/"); strings.Contains(body, "data-breaker") {
		t.Error("the banner stays after the confirmation")
	}
}

// TestE2E_RemovalBreaker drives the real binary: 100 linked members in a
// bound group, then one bulk push sets 60 of them below the bar. Only the
// cap (10) is removed; the 50 others are held with the reason "breaker",
// the site admin gets a DM, the website a signed breaker.opened, the
// dashboard a red banner. A REST confirm removes the 50.
func TestE2E_RemovalBreaker(t *testing.T) {
	if testing.Short() {
		t.Skip("drives 100 people through the real binary")
	}
	b := newBreakerE2E(t)
	for i := range breakerDropped {
		b.bulk[i]["karma"] = 5
	}
	if st := b.api("POST", "/api/v1/members/bulk", b.bulk[:breakerDropped], nil); st != 200 {
		t.Fatalf("bad push: %d", st)
	}
	b.checkTripped(t, breakerDropped)
	b.checkConfirmed(t, breakerDropped)
}

// TestE2E_RemovalBreaker_RulesReload: the same when serve restarts with a
// rules file whose min_karma is over everyone: 10 go, 90 wait.
func TestE2E_RemovalBreaker_RulesReload(t *testing.T) {
	if testing.Short() {
		t.Skip("drives 100 people through the real binary")
	}
	b := newBreakerE2E(t)
	b.stop()
	if err := os.WriteFile(b.rules, []byte(strings.Replace(breakerRules, "min_karma: 10", "min_karma: 200", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	b.serve()
	b.checkTripped(t, breakerPeople)
	b.checkConfirmed(t, breakerPeople)
}

// linked counts the members with a Telegram link, over REST.
func (e *e2e) linked() int {
	var list struct {
		Members []struct {
			Telegram *struct{} `json:"telegram"`
		} `json:"members"`
	}
	e.api("GET", "/api/v1/members?limit=1000", nil, &list)
	n := 0
	for _, m := range list.Members {
		if m.Telegram != nil {
			n++
		}
	}
	return n
}

// idle reports whether serve's outbox has nothing pending or running.
func (e *e2e) idle() bool {
	return e.metric(`karmagate_outbox_actions{status="pending"}`) == 0 &&
		e.metric(`karmagate_outbox_actions{status="running"}`) == 0
}

// dashboard signs in with the API key (KARMAGATE_DASHBOARD_API_KEY=true)
// and returns a dashboard page.
func (e *e2e) dashboard(path string) string {
	e.t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "http://" + e.listen
	res, err := noRedirect.PostForm(base+"/admin/login", url.Values{"secret": {e.vars["KARMAGATE_API_KEY"]}})
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	req, _ := http.NewRequest("GET", base+path, nil)
	for _, c := range res.Cookies() {
		if c.Name == dashboard.LocalCookieName || c.Name == dashboard.CookieName {
			req.AddCookie(c)
		}
	}
	res, err = noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		e.t.Fatalf("dashboard %s: %d", path, res.StatusCode)
	}
	return string(body)
}
