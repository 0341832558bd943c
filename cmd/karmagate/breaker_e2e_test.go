package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// TestE2E_RemovalBreaker drives the real binary: 100 linked members in a
// bound group, then one bulk push sets 60 of them below the bar. Only the
// cap (10) is removed; the 50 others are held with the reason "breaker",
// the site admin gets a DM, the website a signed breaker.opened, the
// dashboard a red banner. A REST confirm removes the 50.
func TestE2E_RemovalBreaker(t *testing.T) {
	if testing.Short() {
		t.Skip("drives 100 people through the real binary")
	}
	const cbSecret = "7d1f0c3a9e5b4d2f8a6c0e1b3d5f7a9c2e4f6a8b"
	var (
		mu     sync.Mutex
		opened []map[string]any
	)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := callback.Verify([]byte(cbSecret), r.Header.Get(callback.HeaderTimestamp), r.Header.Get(callback.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev map[string]any
		if json.Unmarshal(body, &ev) == nil && ev["type"] == "breaker.opened" {
			mu.Lock()
			opened = append(opened, ev)
			mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(site.Close)

	e := newUserbotE2E(t, breakerRules)
	admin := e.user("Sam")
	e.env = append(e.env, fmt.Sprintf("KARMAGATE_ADMINS=%d", admin), "KARMAGATE_CALLBACK_URL="+site.URL,
		"KARMAGATE_CALLBACK_SECRET="+cbSecret, "KARMAGATE_DASHBOARD_API_KEY=true")
	e.serve()
	e.say(admin, 0, "/start")

	// An empty group, bound at once: no dry run.
	owner := e.user("Owner")
	var chat struct {
		ID int64 `json:"id"`
	}
	e.sandbox("POST", "/sandbox/chats", map[string]any{"title": "The Club", "creator": owner}, &chat)
	e.sandbox("POST", fmt.Sprintf("/sandbox/chats/%d/admins", chat.ID), map[string]any{}, nil)
	e.say(owner, chat.ID, "/bind club")
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
	const people, dropped, limit = 100, 60, 10
	person := make([]int64, people)
	bulk := make([]map[string]any, people)
	for i := range people {
		bulk[i] = map[string]any{"id": fmt.Sprintf("m%03d", i), "karma": 100, "groups": []string{"members"}, "name": fmt.Sprintf("Person %03d", i)}
	}
	if st := e.api("POST", "/api/v1/members/bulk", bulk, nil); st != 200 {
		t.Fatalf("bulk: %d", st)
	}
	for i := range people {
		person[i] = e.user(fmt.Sprintf("P%03d", i))
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
		e.say(person[i], 0, "/start "+u.Query().Get("start"))
	}
	e.eventually("all 100 linked", func() bool {
		return e.metric(`karmagate_members_linked`) == people || e.linked() == people
	})
	for i := range people {
		var res struct {
			Result string `json:"result"`
		}
		e.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/join", person[i]), map[string]any{"invite_link": export.Result}, &res)
		if res.Result != "joined" {
			t.Fatalf("person %d joins: %q", i, res.Result)
		}
	}
	e.eventually("the 100 recorded inside and the workers idle", func() bool {
		return e.metric(`karmagate_chat_members{chat="club",state="member"}`) == people && e.idle()
	})

	// One bad push: 60 below the bar.
	for i := range dropped {
		bulk[i]["karma"] = 5
	}
	if st := e.api("POST", "/api/v1/members/bulk", bulk[:dropped], nil); st != 200 {
		t.Fatalf("bad push: %d", st)
	}
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
	e.eventually("50 held by the breaker and the workers idle", func() bool {
		e.api("GET", "/api/v1/chats/club/pending", nil, &pending)
		return pending.Count == dropped-limit && e.idle()
	})
	if n := e.botCalls("banChatMember"); n != limit {
		t.Fatalf("%d banChatMember calls, want the cap, %d", n, limit)
	}
	if !pending.Breaker.Open || pending.Breaker.Held != dropped-limit || pending.Breaker.Limit != limit {
		t.Errorf("breaker = %+v", pending.Breaker)
	}
	for _, r := range pending.Removals {
		if r.HoldReason != "breaker" {
			t.Errorf("%s held for %q, want breaker", r.Member, r.HoldReason)
		}
	}
	e.eventually("the admin's DM", func() bool {
		for _, m := range e.received(admin) {
			if strings.Contains(m, "Removal breaker open in The Club") && strings.Contains(m, "50 more are held") {
				return true
			}
		}
		return false
	})
	e.eventually("the website's breaker.opened", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(opened) == 1 && opened[0]["chat"] == "club"
	})
	if body := e.dashboard("/admin/"); !strings.Contains(body, `data-breaker="club"`) || !strings.Contains(body, "Removal breaker open in The Club") {
		t.Error("no red banner on the dashboard's overview")
	}

	// Confirmed over REST: the 50 go, the 40 who qualify stay.
	var confirmed struct {
		Confirmed int `json:"confirmed"`
	}
	if st := e.api("POST", "/api/v1/chats/club/pending/confirm", nil, &confirmed); st != 200 || confirmed.Confirmed != dropped-limit {
		t.Fatalf("confirm: %d %+v", st, confirmed)
	}
	e.eventually("the 60 removed", func() bool {
		ms := e.members(chat.ID)
		for i := range dropped {
			if ms[person[i]] == "member" {
				return false
			}
		}
		return true
	})
	ms := e.members(chat.ID)
	for i := dropped; i < people; i++ {
		if ms[person[i]] != "member" {
			t.Errorf("person %d (qualifies) is %q", i, ms[person[i]])
		}
	}
	if ms[owner] != "creator" {
		t.Errorf("the owner is %q", ms[owner])
	}
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
