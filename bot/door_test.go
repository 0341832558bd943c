package bot_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/door"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
)

const doorRules = `
groups: [webmasters, customers]
chats:
  webmasters-pro:
    title: Webmasters Pro
    groups: [webmasters]
    min_karma: 100
    door: app
  customers-club:
    title: Customers Club
    groups: [customers]
    min_karma: 50
    review: true
`

const doorApp = "https://gate.example/app/join"

// doorVisit posts a person's initData to the Mini App's session endpoint
// and returns the status and the page's text.
func doorVisit(t *testing.T, srv *httptest.Server, initData, chat string) (int, string) {
	t.Helper()
	res, err := http.PostForm(srv.URL+door.Prefix+"/session", url.Values{"init_data": {initData}, "chat": {chat}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

// answers counts the bot's answerChatJoinRequestQuery results.
func answers(t *testing.T, h *harness) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, c := range h.sb.Calls() {
		if c.Method != "answerChatJoinRequestQuery" || c.Error != "" {
			continue
		}
		raw, _ := json.Marshal(c.Params)
		var p struct{ Result string }
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		out[p.Result]++
	}
	return out
}

// TestBot_Door: at a door: app chat the guard bot shows someone who does
// not qualify the Mini App instead of declining; they see their standing,
// link, qualify and are approved in the same visit. Forged initData is
// refused; a borderline request (review: true) goes to the admins; a
// request nobody settles in time is decided as it would have been at once.
func TestBot_Door(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{rules: doorRules, doorURL: doorApp, doorWait: 10 * time.Minute, sharedClock: true})
		owner := h.person("Owner", "owner_tg")
		h.reply(owner.ID, "/start") // so that the bot may write to them
		pro := h.group(owner, "Webmasters Pro", "webmasters-pro")
		club := h.group(owner, "Customers Club", "customers-club")
		for _, c := range []world.Chat{pro, club} {
			if err := h.sb.SetGuardBot(c.BotAPIID(), h.bot.ID()); err != nil {
				t.Fatal(err)
			}
		}
		dh, err := door.New(door.Options{BotToken: h.sb.BotToken(), Doors: h.bot, ProfileURL: "https://site.example/profile", Now: h.clock.Now, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(dh)
		t.Cleanup(srv.Close)
		ask := func(u world.User, key string) string {
			t.Helper()
			app := doorApp + "?chat=" + key
			buttons := func() int {
				n := 0
				for _, m := range h.sb.Received(u.ID) {
					if strings.Contains(m.ReplyMarkup, `"web_app":{"url":"`+app+`"}`) {
						n++
					}
				}
				return n
			}
			before := buttons()
			start := time.Now()
			if res, err := h.sb.Join(u.ID, h.joinLink(key)); err != nil || res.Result != "requested" {
				t.Fatalf("join %s: %+v, %v", key, res, err)
			}
			h.eventually("the web_app button", func() bool { return buttons() > before })
			t.Logf("join request → web_app button: %s (Telegram allows 10 s)", time.Since(start).Round(time.Millisecond))
			l, err := h.sb.World().OpenWebApp(u.ID, app)
			if err != nil {
				t.Fatal(err)
			}
			return l.InitData
		}

		t.Run("links, qualifies and is let in in one visit", func(t *testing.T) {
			ann := h.person("Ann", "ann_tg")
			initData := ask(ann, "webmasters-pro")
			if a := answers(t, h); a["decline"] != 0 {
				t.Fatalf("answers %v: the request was declined instead of shown the Mini App", a)
			}
			code, page := doorVisit(t, srv, initData, "webmasters-pro")
			if code != 200 || !strings.Contains(page, "not linked to a website account yet") || !strings.Contains(page, "Link your account on the website") || !strings.Contains(page, `href="https://site.example/profile"`) {
				t.Fatalf("first look %d:\n%s", code, page)
			}
			h.put("ann", 40, "webmasters")
			h.link("ann", ann)
			code, page = doorVisit(t, srv, initData, "webmasters-pro")
			if code != 200 || !strings.Contains(page, "<strong>40</strong> / 100 needed") || !strings.Contains(page, "60 more karma.") || strings.Contains(page, `data-decision="approved"`) {
				t.Fatalf("after linking %d:\n%s", code, page)
			}
			if h.inChat(pro.BotAPIID())[ann.ID] {
				t.Fatal("in the chat before qualifying")
			}
			h.put("ann", 150, "webmasters")
			code, page = doorVisit(t, srv, initData, "webmasters-pro")
			if code != 200 || !strings.Contains(page, `data-decision="approved"`) {
				t.Fatalf("after qualifying %d:\n%s", code, page)
			}
			if !h.inChat(pro.BotAPIID())[ann.ID] {
				t.Error("approved but not in the chat")
			}
			d, err := h.store.DoorFor(h.ctx, "webmasters-pro", ann.ID)
			if err != nil || d.Status != models.ActionDone || !strings.HasPrefix(d.Outcome, "approve") {
				t.Errorf("the door in the store: %+v, %v", d, err)
			}

			// Out and asking again a minute later: the old visit's initData
			// cannot act on the new request; a new opening can. (The invite
			// the gate queued when she qualified settles first.)
			h.idle()
			h.put("ann", 40, "webmasters")
			if err := h.sb.Leave(ann.ID, pro.BotAPIID()); err != nil {
				t.Fatal(err)
			}
			h.eventually("ann out, as the store knows", func() bool { return !h.state("ann", "webmasters-pro").InChat })
			h.clock.Advance(time.Minute)
			fresh := ask(ann, "webmasters-pro")
			if code, page := doorVisit(t, srv, initData, "webmasters-pro"); code != 403 || !strings.Contains(page, `data-problem="replayed"`) {
				t.Errorf("the old initData on the new request: %d\n%s", code, page)
			}
			if code, page := doorVisit(t, srv, fresh, "webmasters-pro"); code != 200 || !strings.Contains(page, "60 more karma.") {
				t.Errorf("a new opening: %d\n%s", code, page)
			}
			h.put("ann", 150, "webmasters")
			if code, page := doorVisit(t, srv, fresh, "webmasters-pro"); code != 200 || !strings.Contains(page, `data-decision="approved"`) {
				t.Errorf("qualifying again: %d\n%s", code, page)
			}
		})

		t.Run("forged initData is refused", func(t *testing.T) {
			bob := h.person("Bob", "")
			initData := ask(bob, "webmasters-pro")
			other, otherToken, err := h.sb.World().CreateBot("other_bot", "")
			if err != nil {
				t.Fatal(err)
			}
			_ = other
			q, _ := url.ParseQuery(initData)
			fields := map[string]string{}
			for k := range q {
				fields[k] = q.Get(k)
			}
			resign := func(token string, edit func(map[string]string)) string {
				f := map[string]string{}
				for k, v := range fields {
					f[k] = v
				}
				edit(f)
				f["hash"] = world.SignWebAppData(token, f)
				v := url.Values{}
				for k, x := range f {
					v.Set(k, x)
				}
				return v.Encode()
			}
			ownerID := `{"id":` + jsonInt(owner.ID) + `,"first_name":"Owner"}`
			for _, tc := range []struct {
				name, initData string
				code           int
			}{
				{"someone else's id, hash kept", strings.Replace(initData, url.QueryEscape(fields["user"]), url.QueryEscape(ownerID), 1), 403},
				{"signed with another bot's token", resign(otherToken, func(f map[string]string) {}), 403},
				{"no hash", resign(h.sb.BotToken(), func(map[string]string) {})[0:10], 400},
				{"empty", "", 400},
			} {
				code, page := doorVisit(t, srv, tc.initData, "webmasters-pro")
				if code != tc.code || strings.Contains(page, "Karma") {
					t.Errorf("%s: %d, want %d:\n%s", tc.name, code, tc.code, page)
				}
			}
			if code, _ := doorVisit(t, srv, initData, "webmasters-pro"); code != 200 {
				t.Errorf("the real initData: %d", code)
			}
			if code, _ := doorVisit(t, srv, initData, "no-such-chat"); code != 404 {
				t.Errorf("an unknown chat: %d", code)
			}
		})

		t.Run("borderline goes to the admins", func(t *testing.T) {
			dee := h.person("Dee", "")
			h.put("dee", 40, "customers")
			h.link("dee", dee)
			if res, err := h.sb.Join(dee.ID, h.joinLink("customers-club")); err != nil || res.Result != "requested" {
				t.Fatalf("join: %+v %v", res, err)
			}
			h.eventually("the request queued", func() bool { return answers(t, h)["queue"] == 1 })
			reqs := h.sb.World().JoinRequests(club.ID)
			if len(reqs) != 1 || reqs[0].UserID != dee.ID {
				t.Errorf("pending requests %+v, want dee's, for the admins", reqs)
			}
			h.eventually("the one who bound the chat told why", func() bool {
				for _, m := range h.sb.Received(owner.ID) {
					if strings.Contains(m.Text, "Dee (id ") && strings.Contains(m.Text, "asks to join Customers Club, and the request waits for you: review: karma 40 < 50") {
						return true
					}
				}
				return false
			})
		})

		t.Run("nobody settles it in time: decided as today", func(t *testing.T) {
			cid := h.person("Cid", "")
			h.put("cid", 10, "webmasters")
			h.link("cid", cid)
			initData := ask(cid, "webmasters-pro")
			before := answers(t, h)["decline"]
			h.clock.Advance(10*time.Minute + time.Second)
			h.pool.Wake()
			// Cid's and Bob's (left open above): declined through their queries.
			h.eventually("the requests declined", func() bool { return answers(t, h)["decline"] == before+2 })
			if h.inChat(pro.BotAPIID())[cid.ID] {
				t.Error("in the chat")
			}
			for _, r := range h.sb.World().JoinRequests(pro.ID) {
				if r.UserID == cid.ID {
					t.Error("the request is still pending")
				}
			}
			h.eventually("the door closed", func() bool {
				d, err := h.store.DoorFor(h.ctx, "webmasters-pro", cid.ID)
				return err == nil && d.Status == models.ActionDone
			})
			d, err := h.store.DoorFor(h.ctx, "webmasters-pro", cid.ID)
			if err != nil || !strings.HasPrefix(d.Outcome, "decline") {
				t.Errorf("the door: %+v, %v", d, err)
			}
			// The Mini App says so, now an hour's old initData aside.
			code, page := doorVisit(t, srv, initData, "webmasters-pro")
			if code != 200 || !strings.Contains(page, `data-decision="declined"`) {
				t.Errorf("the visit after: %d\n%s", code, page)
			}
		})
	})
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
