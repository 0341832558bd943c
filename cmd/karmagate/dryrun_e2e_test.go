package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

const dryRunRules = `
groups: [members]
chats:
  club:
    title: The Club
    groups: [members]
    min_karma: 10
`

// metric reads one sample of serve's /metrics, e.g.
// karmagate_outbox_actions{status="held"}; -1 when it is not there.
func (e *e2e) metric(sample string) float64 {
	e.t.Helper()
	res, err := http.Get("http://" + e.listen + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.t.Fatalf("metric %s: %q", sample, v)
			}
			return f
		}
	}
	return -1
}

// botCalls counts the Bot API calls of a method in the sandbox's call log.
func (e *e2e) botCalls(method string) int {
	e.t.Helper()
	var calls []struct {
		Error string `json:"error"`
	}
	e.sandbox("GET", "/sandbox/calls?api=bot&method="+method, nil, &calls)
	return len(calls)
}

// botSaidIn lists the texts the bot sent to a chat, from the sandbox's
// call log.
func (e *e2e) botSaidIn(chatID int64) []string {
	e.t.Helper()
	var calls []struct {
		Params struct {
			ChatID json.Number `json:"chat_id"`
			Text   string      `json:"text"`
		} `json:"params"`
		Error string `json:"error"`
	}
	e.sandbox("GET", "/sandbox/calls?api=bot&method=sendMessage", nil, &calls)
	var out []string
	for _, c := range calls {
		if c.Error == "" && c.Params.ChatID.String() == strconv.FormatInt(chatID, 10) {
			out = append(out, c.Params.Text)
		}
	}
	return out
}

type pendingList struct {
	Count    int  `json:"count"`
	DryRun   bool `json:"dry_run"`
	Removals []struct {
		Member    string    `json:"member"`
		Reason    string    `json:"reason"`
		PlannedAt time.Time `json:"planned_at"`
	} `json:"removals"`
}

// TestE2E_DryRun drives the real binary: an existing group of 200 people,
// 50 of whom do not qualify, all linked, is bound with the bot. It starts
// in dry run: nobody is removed while the workers run, and the pending
// list names the 50. After /confirm, sent by the group's creator in the
// group, exactly those 50 are removed and the 150 remain.
func TestE2E_DryRun(t *testing.T) {
	if testing.Short() {
		t.Skip("drives 200 people through the real binary")
	}
	e := newUserbotE2E(t, dryRunRules)
	e.serve()

	// The group exists before karmagate knows it: its creator adds the
	// bot as an admin and shares the group's invite link; 200 people join.
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
	const people, unqualified = 200, 50
	person := make([]int64, people)
	var bulk []map[string]any
	for i := range people {
		person[i] = e.user(fmt.Sprintf("P%03d", i))
		var res struct {
			Result string `json:"result"`
		}
		e.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/join", person[i]), map[string]any{"invite_link": export.Result}, &res)
		if res.Result != "joined" {
			t.Fatalf("person %d joins: %q", i, res.Result)
		}
		karma := 100
		if i < unqualified {
			karma = 5 // below min_karma 10
		}
		bulk = append(bulk, map[string]any{"id": fmt.Sprintf("m%03d", i), "karma": karma, "groups": []string{"members"}})
	}
	if st := e.api("POST", "/api/v1/members/bulk", bulk, nil); st != 200 {
		t.Fatalf("bulk: %d", st)
	}
	// Each links their Telegram through the deep link the website shows.
	for i := range people {
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
	e.eventually("all 200 linked", func() bool {
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
		return n == people
	})
	if got := len(e.members(chat.ID)); got != people+2 {
		t.Fatalf("the group has %d members, want %d people, its creator and the bot", got, people+2)
	}

	// Bound with the bot: it starts in dry run.
	e.say(owner, chat.ID, e.bindCommand("club"))
	var pending pendingList
	e.eventually("50 removals held", func() bool {
		e.api("GET", "/api/v1/chats/club/pending", nil, &pending)
		return pending.Count == unqualified
	})
	if !pending.DryRun || len(pending.Removals) != unqualified {
		t.Fatalf("pending: dry_run %v, %d listed", pending.DryRun, len(pending.Removals))
	}
	for _, r := range pending.Removals {
		n, err := strconv.Atoi(strings.TrimPrefix(r.Member, "m"))
		if err != nil || n >= unqualified || r.Reason == "" || r.PlannedAt.IsZero() {
			t.Errorf("a held removal of %q (%q, %s): not one of the 50", r.Member, r.Reason, r.PlannedAt)
		}
	}
	// The workers had time: the survey found the 150 inside, and nothing
	// is left for them to do but the held removals.
	e.eventually("the 150 recorded inside and the workers idle", func() bool {
		return e.metric(`karmagate_chat_members{chat="club",state="member"}`) == people-unqualified &&
			e.metric(`karmagate_outbox_actions{status="pending"}`) == 0 &&
			e.metric(`karmagate_outbox_actions{status="running"}`) == 0
	})
	if held := e.metric(`karmagate_outbox_actions{status="held"}`); held != unqualified {
		t.Errorf("held actions = %v", held)
	}
	if n := e.botCalls("banChatMember"); n != 0 {
		t.Fatalf("%d banChatMember calls under dry run", n)
	}
	if got := len(e.members(chat.ID)); got != people+2 {
		t.Fatalf("under dry run the group went down to %d members", got)
	}

	// Someone who is not an admin cannot confirm: the bot says so in the
	// group, and the 50 stay held.
	e.say(person[0], chat.ID, "/confirm")
	e.eventually("the refusal in the group", func() bool {
		for _, text := range e.botSaidIn(chat.ID) {
			if strings.Contains(text, "Only the group's admins") {
				return true
			}
		}
		return false
	})
	if e.api("GET", "/api/v1/chats/club/pending", nil, &pending); pending.Count != unqualified {
		t.Fatalf("after a refused /confirm %d held", pending.Count)
	}
	// The creator confirms in the group.
	e.say(owner, chat.ID, "/confirm")
	e.eventually("the 50 removed", func() bool {
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
	if got := len(e.members(chat.ID)); got != people-unqualified+2 {
		t.Errorf("the group has %d members after /confirm, want %d", got, people-unqualified+2)
	}
	if n := e.botCalls("banChatMember"); n != unqualified {
		t.Errorf("%d banChatMember calls, want exactly %d", n, unqualified)
	}
	e.api("GET", "/api/v1/chats/club/pending", nil, &pending)
	if pending.Count != 0 || pending.DryRun {
		t.Errorf("after /confirm: %d held, dry run %v", pending.Count, pending.DryRun)
	}
	// The confirmation is the creator's, in the audit trail.
	var evs struct {
		Events []struct {
			Actor  string `json:"actor"`
			Detail string `json:"detail"`
		} `json:"events"`
	}
	e.api("GET", "/api/v1/events?kind=removals.confirmed", nil, &evs)
	if len(evs.Events) != 1 || evs.Events[0].Actor != fmt.Sprintf("bot:%d", owner) || !strings.Contains(evs.Events[0].Detail, "50 held removal(s) confirmed") {
		t.Errorf("confirmations in the audit trail: %+v", evs.Events)
	}
}

func TestConfig_DryRun(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
		err  string
	}{
		{"", false, ""}, {"true", true, ""}, {"1", true, ""}, {"ON", true, ""},
		{"false", false, ""}, {"0", false, ""}, {"maybe", false, `KARMAGATE_DRY_RUN "maybe" is not true or false`},
	} {
		t.Run(tc.v, func(t *testing.T) {
			c, err := ConfigFromEnv(mapEnv("KARMAGATE_DRY_RUN", tc.v))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if c.DryRun != tc.want {
				t.Errorf("DryRun = %v, want %v", c.DryRun, tc.want)
			}
		})
	}
}

// TestMain_DashboardConfirmsDryRun: with KARMAGATE_DRY_RUN, serve's
// dashboard lists a held removal and its confirm button releases it
// through the store; a restart without KARMAGATE_DRY_RUN releases what is
// held.
func TestMain_DashboardConfirmsDryRun(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		cfg := testConfig(t, spec)
		cfg.DryRun = true
		cfg.DashboardAPIKey = true // the API key signs in to the dashboard
		m := MustRunMain(t, cfg)
		ctx := testContext(t)
		hold := func(m *Main, id string, tg int64) {
			t.Helper()
			if st, _ := call(t, m, "PUT", "/api/v1/members/"+id, `{"karma": 10, "groups": ["customers"]}`); st != 201 {
				t.Fatalf("put %s = %d", id, st)
			}
			if _, err := m.Store.LinkTelegram(ctx, id, tg, "", "test"); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Store.SetInChat(ctx, id, "customers-club", true, "test"); err != nil {
				t.Fatal(err)
			}
		}
		hold(m, "dave", 4401)
		if _, n, err := m.Store.HeldRemovals(ctx, "customers-club", 0); err != nil || n != 1 {
			t.Fatalf("held = %d, %v", n, err)
		}

		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		base := "http://" + m.Addr()
		res, err := noRedirect.PostForm(base+"/admin/login", url.Values{"secret": {cfg.APIKey}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		var session *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == dashboard.LocalCookieName {
				session = c
			}
		}
		if session == nil {
			t.Fatalf("sign in: %d", res.StatusCode)
		}
		req, err := http.NewRequest("GET", base+"/admin/removals", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.AddCookie(session)
		res, err = noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		body := string(raw)
		if err != nil || res.StatusCode != 200 || !strings.Contains(body, "data-held") || !strings.Contains(body, `data-confirm="customers-club"`) {
			t.Fatalf("removals page: %d %v; held badge and confirm button wanted", res.StatusCode, err)
		}
		csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
		if csrf == nil {
			t.Fatal("no CSRF token on the removals page")
		}
		req, err = http.NewRequest("POST", base+"/admin/removals/confirm", strings.NewReader(url.Values{"csrf": {csrf[1]}, "chat": {"customers-club"}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(session)
		res, err = noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("confirm: %d", res.StatusCode)
		}
		if _, n, err := m.Store.HeldRemovals(ctx, "customers-club", 0); err != nil || n != 0 {
			t.Fatalf("held after the dashboard's confirmation = %d, %v", n, err)
		}
		// KARMAGATE_DRY_RUN still holds the next one ...
		hold(m, "erin", 4402)
		if _, n, _ := m.Store.HeldRemovals(ctx, "customers-club", 0); n != 1 {
			t.Fatalf("held = %d, want erin's", n)
		}
		// ... until serve starts without it.
		m.Close()
		cfg.DryRun = false
		m = MustRunMain(t, cfg)
		if _, n, err := m.Store.HeldRemovals(ctx, "customers-club", 0); err != nil || n != 0 {
			t.Fatalf("held after a restart without dry run = %d, %v", n, err)
		}
		evs, err := m.Store.Events(ctx, models.EventFilter{Kind: models.EventRemovalsReleased})
		if err != nil || len(evs) != 1 {
			t.Errorf("release events: %+v, %v", evs, err)
		}
	})
}
