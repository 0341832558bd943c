package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const doorE2ERules = `groups: [webmasters]
chats:
  webmasters-pro:
    title: Webmasters Pro
    groups: [webmasters]
    min_karma: 100
    door: app
`

// doorSession posts initData to serve's Mini App session endpoint.
func (e *e2e) doorSession(initData string) (int, string) {
	e.t.Helper()
	res, err := http.PostForm("http://"+e.listen+"/app/join/session", url.Values{"init_data": {initData}, "chat": {"webmasters-pro"}})
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// webAppButton is the URL of the web_app button the person received, "".
func (e *e2e) webAppButton(user int64) string {
	e.t.Helper()
	var msgs []struct {
		ReplyMarkup struct {
			InlineKeyboard [][]struct {
				WebApp *struct {
					URL string `json:"url"`
				} `json:"web_app"`
			} `json:"inline_keyboard"`
		} `json:"reply_markup"`
	}
	e.sandbox("GET", fmt.Sprintf("/sandbox/users/%d/messages", user), nil, &msgs)
	for _, m := range msgs {
		for _, row := range m.ReplyMarkup.InlineKeyboard {
			for _, b := range row {
				if b.WebApp != nil {
					return b.WebApp.URL
				}
			}
		}
	}
	return ""
}

// TestE2E_Door: through the binary and the sandbox, a person who does not
// qualify asks to join a door: app chat, gets the guard bot's Mini App,
// opens it (the sandbox signs the initData), sees their karma against the
// bar, links with the website's deep link, qualifies after a REST PUT and
// is approved in the same visit; a forged initData is refused.
func TestE2E_Door(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(doorE2ERules), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newE2E(t, false, "KARMAGATE_RULES="+rules, "KARMAGATE_PROFILE_URL=https://site.example/profile")
	e.env = append(e.env, "KARMAGATE_PUBLIC_URL=http://"+e.listen)
	e.serve()

	owner := e.user("DoorOwner")
	var c struct {
		ID int64 `json:"id"`
	}
	e.sandbox("POST", "/sandbox/chats", map[string]any{"title": "Webmasters Pro", "creator": owner}, &c)
	e.sandbox("POST", fmt.Sprintf("/sandbox/chats/%d/admins", c.ID), map[string]any{}, nil)
	e.say(owner, c.ID, e.bindCommand("webmasters-pro"))
	e.sandbox("POST", fmt.Sprintf("/sandbox/chats/%d/guard_bot", c.ID), map[string]any{}, nil)
	var joinLink string
	e.eventually("the chat's join link", func() bool {
		var links []struct {
			Link    string `json:"invite_link"`
			Request bool   `json:"creates_join_request"`
		}
		e.sandbox("GET", fmt.Sprintf("/sandbox/chats/%d/links", c.ID), nil, &links)
		for _, l := range links {
			if l.Request {
				joinLink = l.Link
				return true
			}
		}
		return false
	})

	ann := e.user("DoorAnn")
	var res struct {
		Result string `json:"result"`
	}
	e.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/join", ann), map[string]any{"invite_link": joinLink}, &res)
	if res.Result != "requested" {
		t.Fatalf("join: %+v", res)
	}
	var button string
	e.eventually("the Mini App's web_app button", func() bool { button = e.webAppButton(ann); return button != "" })
	if want := "http://" + e.listen + "/app/join?chat=webmasters-pro"; button != want {
		t.Errorf("web_app url %q, want %q", button, want)
	}
	var launch struct {
		URL      string `json:"url"`
		InitData string `json:"init_data"`
	}
	e.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/webapp", ann), map[string]any{"url": button}, &launch)
	page, err := http.Get(launch.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || !strings.Contains(string(body), "telegram-web-app.js") {
		t.Fatalf("the Mini App page: %d\n%s", page.StatusCode, body)
	}

	code, view := e.doorSession(launch.InitData)
	if code != 200 || !strings.Contains(view, "not linked to a website account yet") || !strings.Contains(view, "https://site.example/profile") {
		t.Fatalf("first look: %d\n%s", code, view)
	}
	if st := e.api("PUT", "/api/v1/members/ann", map[string]any{"karma": 40, "groups": []string{"webmasters"}}, nil); st != 201 && st != 200 {
		t.Fatalf("put: %d", st)
	}
	var link struct {
		URL string `json:"url"`
	}
	if st := e.api("POST", "/api/v1/members/ann/link", nil, &link); st != 200 && st != 201 {
		t.Fatalf("link: %d", st)
	}
	u, _ := url.Parse(link.URL)
	e.say(ann, 0, "/start "+u.Query().Get("start"))
	e.eventually("the standing after linking", func() bool {
		code, view = e.doorSession(launch.InitData)
		return code == 200 && strings.Contains(view, "<strong>40</strong> / 100 needed")
	})
	if !strings.Contains(view, "60 more karma.") || strings.Contains(view, `data-decision="approved"`) {
		t.Fatalf("after linking:\n%s", view)
	}
	if e.members(c.ID)[ann] == "member" {
		t.Fatal("in the chat before qualifying")
	}
	if st := e.api("PUT", "/api/v1/members/ann", map[string]any{"karma": 150, "groups": []string{"webmasters"}}, nil); st != 200 {
		t.Fatalf("raise karma: %d", st)
	}
	code, view = e.doorSession(launch.InitData)
	if code != 200 || !strings.Contains(view, `data-decision="approved"`) {
		t.Fatalf("after qualifying: %d\n%s", code, view)
	}
	if st := e.members(c.ID)[ann]; st != "member" {
		t.Errorf("ann is %q in the chat, want member", st)
	}

	if !strings.Contains(e.logs.String(), "join request decided at the door") {
		t.Logf("the worker's invite let ann in before the visit did")
	}
	forged := strings.Replace(launch.InitData, "DoorAnn", "Mallory", 1)
	if code, view := e.doorSession(forged); code != 403 || !strings.Contains(view, `data-problem="forged"`) {
		t.Errorf("forged initData: %d\n%s", code, view)
	}
	var calls struct {
		Calls []struct {
			Method string         `json:"method"`
			Params map[string]any `json:"params"`
			Error  string         `json:"error"`
		} `json:"calls"`
	}
	var raw json.RawMessage
	e.sandbox("GET", "/sandbox/calls?method=sendChatJoinRequestWebApp", nil, &raw)
	if err := json.Unmarshal(raw, &calls); err != nil || len(calls.Calls) == 0 {
		if err := json.Unmarshal(raw, &calls.Calls); err != nil || len(calls.Calls) != 1 || calls.Calls[0].Error != "" {
			t.Errorf("sendChatJoinRequestWebApp calls: %s", raw)
		}
	}
}
