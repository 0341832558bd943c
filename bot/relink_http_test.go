package bot_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/api"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
)

const relinkAPIKey = "relink-test-key-0123456789"

// apiServer serves karmagate's REST API with the harness's bot as its
// linker and Login Widget.
func (h *harness) apiServer() *httptest.Server {
	h.t.Helper()
	srv := httptest.NewServer(api.New(api.Options{Store: h.store, APIKey: relinkAPIKey, Linker: h.bot, Widget: h.bot, WakeWorkers: h.pool.Wake}))
	h.t.Cleanup(srv.Close)
	return srv
}

type httpAnswer struct {
	Status int
	Body   map[string]any
	Raw    string
}

// call makes one API call with the key.
func call(t *testing.T, srv *httptest.Server, method, path, ctype, body string) httpAnswer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+relinkAPIKey)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := httpAnswer{Status: res.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// startParam is the token of a deep link.
func startParam(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("start")
}

// TestBot_LinkReplace is POST /api/v1/members/{id}/link {"replace": true}:
// the website forcing a move when the old account cannot confirm. The
// link it gives moves the member without asking the old account, which is
// told; without the body the call is as before (and its use asks).
func TestBot_LinkReplace(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		srv := h.apiServer()
		owner := h.person("Owner", "owner_tg")
		chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
		h.put("alice", 150, "webmasters")
		alice := h.person("Alice", "alice_tg")
		contains(t, "alice links", h.link("alice", alice), "Linked")
		if _, err := h.sb.Join(alice.ID, h.joinLink("webmasters-pro")); err != nil {
			t.Fatal(err)
		}
		h.eventually("alice in", func() bool { return h.inChat(chat.BotAPIID())[alice.ID] })
		h.idle()
		const form = "application/x-www-form-urlencoded"

		t.Run("bodies refused", func(t *testing.T) {
			for _, tc := range []struct {
				name, ctype, body string
				status            int
				detail            string
			}{
				{"replace a string", "application/json", `{"replace": "yes"}`, 422, "true or false"},
				{"replace a number", "application/json", `{"replace": 1}`, 422, "true or false"},
				{"replace null", "application/json", `{"replace": null}`, 422, "true or false"},
				{"unknown field beside it", "application/json", `{"replace": true, "ttl": 60}`, 422, `unknown field "ttl"`},
				{"given twice", "application/json", `{"replace": true, "replace": false}`, 422, "given twice"},
				{"malformed", "application/json", `{"replace": tru}`, 400, ""},
				{"not an object", "application/json", `[true]`, 400, "JSON object"},
				{"form not a boolean", form, "replace=maybe", 422, "true or false"},
				{"form twice", form, "replace=true&replace=false", 422, "once"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := call(t, srv, "POST", "/api/v1/members/alice/link", tc.ctype, tc.body)
					if detail, _ := r.Body["detail"].(string); r.Status != tc.status || !strings.Contains(detail, tc.detail) {
						t.Errorf("%d %s, want %d saying %q", r.Status, r.Raw, tc.status, tc.detail)
					}
				})
			}
		})
		t.Run("without replace a new account must wait", func(t *testing.T) {
			for _, tc := range []struct{ ctype, body string }{{"", ""}, {"application/json", `{"replace": false}`}, {form, "replace=false"}} {
				r := call(t, srv, "POST", "/api/v1/members/alice/link", tc.ctype, tc.body)
				if r.Status != 200 || r.Body["url"] == nil || r.Body["replace"] == true {
					t.Fatalf("%q: %d %s", tc.body, r.Status, r.Raw)
				}
			}
			other := h.person("Other", "other_tg")
			r := call(t, srv, "POST", "/api/v1/members/alice/link", "", "")
			got := h.reply(other.ID, "/start "+startParam(t, r.Body["url"].(string)))
			contains(t, "other waits", got, "confirm")
			h.idle()
			h.linkedTo("alice", alice.ID)
		})
		t.Run("replace moves without the old account and tells it", func(t *testing.T) {
			r := call(t, srv, "POST", "/api/v1/members/alice/link", "application/json", `{"replace": true}`)
			if r.Status != 200 || r.Body["url"] == nil || r.Body["replace"] != true || r.Body["expires_at"] == nil {
				t.Fatalf("replace link: %d %s", r.Status, r.Raw)
			}
			alice2 := h.person("Alice", "alice_new")
			before := len(h.received(alice.ID))
			got := h.reply(alice2.ID, "/start "+startParam(t, r.Body["url"].(string)))
			contains(t, "alice2 linked", got, "Linked", h.joinLink("webmasters-pro"))
			h.linkedTo("alice", alice2.ID)
			h.eventually("the old account told", func() bool {
				return strings.Contains(strings.Join(h.received(alice.ID)[before:], "\n"), "another Telegram account")
			})
			h.eventually("the old account out of the chat", func() bool { return !h.inChat(chat.BotAPIID())[alice.ID] })
			// The request the other account made earlier is void now.
			m, bs := h.buttons(alice.ID)
			if bs != nil {
				if _, err := h.sb.Press(alice.ID, 0, m.ID, bs["Confirm"]); err == nil {
					h.idle()
				}
			}
			h.linkedTo("alice", alice2.ID)
		})
		t.Run("replace when the old account blocked the bot", func(t *testing.T) {
			cur := *h.member("alice").Member.TgUserID
			if err := h.sb.BlockBot(cur, true); err != nil {
				t.Fatal(err)
			}
			r := call(t, srv, "POST", "/api/v1/members/alice/link", "", "")
			alice3 := h.person("Alice", "alice_third")
			got := h.reply(alice3.ID, "/start "+startParam(t, r.Body["url"].(string)))
			contains(t, "asked an account that blocked the bot", got, "confirm")
			// The ask fails on the block: the next request says so.
			h.idle()
			r = call(t, srv, "POST", "/api/v1/members/alice/link", "", "")
			alice4 := h.person("Alice", "alice_fourth")
			got = h.reply(alice4.ID, "/start "+startParam(t, r.Body["url"].(string)))
			contains(t, "the old account unreachable", got, "unreachable", "ask the website")
			h.idle()
			h.linkedTo("alice", cur)
			r = call(t, srv, "POST", "/api/v1/members/alice/link", "application/json", `{"replace": true}`)
			got = h.reply(alice3.ID, "/start "+startParam(t, r.Body["url"].(string)))
			contains(t, "alice3 linked", got, "Linked")
			h.idle()
			h.linkedTo("alice", alice3.ID)
		})
		t.Run("a form replace works too", func(t *testing.T) {
			r := call(t, srv, "POST", "/api/v1/members/alice/link", form, "replace=true")
			if r.Status != 200 || r.Body["replace"] != true {
				t.Fatalf("form replace: %d %s", r.Status, r.Raw)
			}
		})
	})
}

// TestBot_LoginWidgetRelink: the Login Widget route moves a linked member
// to another account only once the old account confirms, and checks the
// member's username as deep links do.
func TestBot_LoginWidgetRelink(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		srv := h.apiServer()
		h.put("wendy", 150, "webmasters")
		h.putMember(models.MemberInput{ID: "uma", Karma: 150, Groups: []string{"webmasters"}, Username: ptr("uma_tg")})
		wendy := h.person("Wendy", "wendy_tg")
		mallory := h.person("Mallory", "mallory_tg")
		uma := h.person("Uma", "uma_tg")
		seq := 0
		widget := func(member string, u world.User) httpAnswer {
			t.Helper()
			seq++ // each payload its own auth_date: a payload is good once
			f := signWidget(h.sb.BotToken(), map[string]string{
				"id": fmt.Sprint(u.ID), "first_name": u.FirstName, "username": u.Username,
				"auth_date": fmt.Sprint(h.clock.Now().Add(-time.Minute - time.Duration(seq)*time.Second).Unix()),
			})
			v := url.Values{}
			for k, x := range f {
				v.Set(k, x)
			}
			return call(t, srv, "POST", "/api/v1/members/"+member+"/telegram-login", "application/x-www-form-urlencoded", v.Encode())
		}
		contains(t, "wendy links", h.reply(wendy.ID, "/start "+h.token("wendy")), "Linked")

		t.Run("the username check", func(t *testing.T) {
			r := widget("uma", mallory)
			if r.Status != 403 || !strings.Contains(r.Raw, "another Telegram account") {
				t.Fatalf("mallory for uma: %d %s, want 403", r.Status, r.Raw)
			}
			if v := h.member("uma"); v.Member.TgUserID != nil {
				t.Fatalf("uma linked to %d", *v.Member.TgUserID)
			}
			if r := widget("uma", uma); r.Status != 200 {
				t.Fatalf("uma's own: %d %s", r.Status, r.Raw)
			}
			h.linkedTo("uma", uma.ID)
		})
		t.Run("the same account again", func(t *testing.T) {
			if r := widget("wendy", wendy); r.Status != 200 {
				t.Fatalf("wendy again: %d %s", r.Status, r.Raw)
			}
			h.linkedTo("wendy", wendy.ID)
		})
		var ask world.Message
		var bs map[string]string
		t.Run("another account waits for the old one", func(t *testing.T) {
			last, _ := h.buttons(wendy.ID)
			r := widget("wendy", mallory)
			if r.Status != 202 || r.Body["status"] != "confirmation_pending" || r.Body["expires_at"] == nil {
				t.Fatalf("mallory for wendy: %d %s, want 202 confirmation_pending", r.Status, r.Raw)
			}
			h.idle()
			h.linkedTo("wendy", wendy.ID)
			ask, bs = h.waitButtons(wendy.ID, last.ID)
			contains(t, "wendy asked", ask.Text, "Mallory")
		})
		t.Run("mallory's press is refused", func(t *testing.T) {
			h.forgePress(mallory.ID, wendy.ID, ask.ID, bs["Confirm"])
			h.linkedTo("wendy", wendy.ID)
		})
		t.Run("refuse keeps it", func(t *testing.T) {
			h.press(wendy.ID, ask.ID, bs["Refuse"])
			h.idle()
			h.linkedTo("wendy", wendy.ID)
		})
		t.Run("confirm moves it", func(t *testing.T) {
			wendy2 := h.person("Wendy", "wendy_new")
			last, _ := h.buttons(wendy.ID)
			if r := widget("wendy", wendy2); r.Status != 202 {
				t.Fatalf("wendy2: %d %s", r.Status, r.Raw)
			}
			m, b2 := h.waitButtons(wendy.ID, last.ID)
			h.press(wendy.ID, m.ID, b2["Confirm"])
			h.idle()
			h.eventually("wendy moved", func() bool {
				v := h.member("wendy")
				return v.Member.TgUserID != nil && *v.Member.TgUserID == wendy2.ID
			})
		})
	})
}
