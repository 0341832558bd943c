package sandbox_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// control calls the control API and decodes the JSON answer into out.
func control(t *testing.T, sb *sandbox.Sandbox, method, path string, in any, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, sb.BotAPIURL()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestSandbox_ControlAPI walks a person through the control API: create,
// tap the deep link, get a DM, open a join-request link, get approved,
// leave; and a chat created by hand with the bot as admin.
func TestSandbox_ControlAPI(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 3, NoMTProto: true})

	var owner, alice struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
		Privacy  string `json:"privacy"`
	}
	if code := control(t, sb, "POST", "/sandbox/users", map[string]any{"first_name": "Owner"}, &owner); code != 201 {
		t.Fatalf("create owner: %d", code)
	}
	if code := control(t, sb, "POST", "/sandbox/users", map[string]any{"first_name": "Alice", "username": "alice_tg", "phone": "+15550001", "privacy": "contacts"}, &alice); code != 201 || alice.Privacy != "contacts" {
		t.Fatalf("create alice: %d %+v", code, alice)
	}
	var bad map[string]any
	if code := control(t, sb, "POST", "/sandbox/users", map[string]any{"first_name": "X", "username": "alice_tg"}, &bad); code != 400 || bad["rpc"] != "USERNAME_OCCUPIED" {
		t.Errorf("duplicate username: %d %v", code, bad)
	}
	// A form body works too.
	resp, err := http.PostForm(sb.BotAPIURL()+"/sandbox/users", url.Values{"first_name": {"Formy"}, "privacy": {"nobody"}})
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("form create: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	// So does JSON sent as curl -d sends it, labelled as a form.
	resp, err = http.Post(sb.BotAPIURL()+"/sandbox/users", "application/x-www-form-urlencoded", strings.NewReader(`{"first_name":"Curly"}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("curl-style create: %v %v", resp.Status, err)
	}
	resp.Body.Close()

	var chat struct {
		ID        int64 `json:"id"`
		ChannelID int64 `json:"channel_id"`
	}
	if code := control(t, sb, "POST", "/sandbox/chats", map[string]any{"title": "Webmasters Pro", "creator": owner.ID}, &chat); code != 201 || chat.ID != world.BotAPIChatID(chat.ChannelID) {
		t.Fatalf("create chat: %d %+v", code, chat)
	}
	var adm struct {
		Status string `json:"status"`
	}
	if code := control(t, sb, "POST", "/sandbox/chats/"+itoa(chat.ID)+"/admins", map[string]any{}, &adm); code != 200 || adm.Status != "administrator" {
		t.Fatalf("make bot admin: %d %+v", code, adm)
	}

	var msg struct {
		Text   string `json:"text"`
		ChatID int64  `json:"chat_id"`
	}
	if code := control(t, sb, "POST", "/sandbox/users/"+itoa(alice.ID)+"/messages", map[string]any{"text": "/start tok"}, &msg); code != 200 || msg.ChatID != sb.Bot().ID {
		t.Fatalf("send: %d %+v", code, msg)
	}
	w := sb.World()
	l, err := w.CreateInviteLink(chat.ChannelID, sb.Bot().ID, world.InviteLinkSpec{CreatesJoinRequest: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.SendMessage(sb.Bot().ID, alice.ID, "Here is your link", world.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	var inbox []map[string]any
	control(t, sb, "GET", "/sandbox/users/"+itoa(alice.ID)+"/messages", nil, &inbox)
	if len(inbox) != 1 || inbox[0]["text"] != "Here is your link" {
		t.Errorf("inbox = %v", inbox)
	}

	var join map[string]any
	control(t, sb, "POST", "/sandbox/users/"+itoa(alice.ID)+"/join", map[string]any{"invite_link": l.Link}, &join)
	if join["result"] != "requested" {
		t.Fatalf("join = %v", join)
	}
	var requests []map[string]any
	control(t, sb, "GET", "/sandbox/chats/"+itoa(chat.ID)+"/requests", nil, &requests)
	if len(requests) != 1 || requests[0]["invite_link"] != l.Link {
		t.Errorf("requests = %v", requests)
	}
	var links []map[string]any
	control(t, sb, "GET", "/sandbox/chats/"+itoa(chat.ID)+"/links", nil, &links)
	if len(links) != 1 || links[0]["pending_join_requests"] != 1.0 {
		t.Errorf("links = %v", links)
	}
	if err := w.ApproveJoinRequest(chat.ChannelID, sb.Bot().ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	var members []struct {
		User   struct{ ID int64 } `json:"user"`
		Status string             `json:"status"`
	}
	control(t, sb, "GET", "/sandbox/chats/"+itoa(chat.ID)+"/members", nil, &members)
	if len(members) != 3 || members[2].User.ID != alice.ID || members[2].Status != "member" {
		t.Errorf("members = %+v", members)
	}
	var ok map[string]any
	if code := control(t, sb, "POST", "/sandbox/users/"+itoa(alice.ID)+"/leave", map[string]any{"chat_id": chat.ID}, &ok); code != 200 {
		t.Errorf("leave: %d %v", code, ok)
	}
	if st := w.Member(chat.ChannelID, alice.ID).Status; st != world.StatusLeft {
		t.Errorf("after leave: %s", st)
	}

	var contact struct {
		Contact struct {
			UserID int64 `json:"user_id"`
		} `json:"contact"`
	}
	control(t, sb, "POST", "/sandbox/users/"+itoa(alice.ID)+"/contact", nil, &contact)
	if contact.Contact.UserID != alice.ID {
		t.Errorf("contact = %+v", contact)
	}

	var blocked map[string]any
	control(t, sb, "POST", "/sandbox/users/"+itoa(alice.ID)+"/block", map[string]any{}, &blocked)
	if _, err := w.SendMessage(sb.Bot().ID, alice.ID, "still there?", world.SendOptions{}); !errors.Is(err, world.ErrBotBlocked) {
		t.Errorf("DM after block: %v", err)
	}
	var priv struct{ Privacy string }
	control(t, sb, "POST", "/sandbox/users/"+itoa(alice.ID)+"/privacy", map[string]any{"privacy": "nobody"}, &priv)
	if priv.Privacy != "nobody" {
		t.Errorf("privacy = %+v", priv)
	}

	var chats []map[string]any
	control(t, sb, "GET", "/sandbox/chats", nil, &chats)
	if len(chats) != 1 {
		t.Errorf("chats = %v", chats)
	}

	if _, err := w.SendCode("+15550001"); err != nil {
		t.Fatal(err)
	}
	var code map[string]string
	if status := control(t, sb, "GET", "/sandbox/codes/+15550001", nil, &code); status != 200 || len(code["code"]) != 5 {
		t.Errorf("code: %d %v", status, code)
	}
	if status := control(t, sb, "GET", "/sandbox/codes/+15559999", nil, &code); status != 404 {
		t.Errorf("no code: %d", status)
	}

	var faults world.Faults
	if status := control(t, sb, "POST", "/sandbox/faults", map[string]any{"rate": 0.5, "seed": 9, "kinds": []string{"5xx", "429"}}, &faults); status != 200 || faults.Rate != 0.5 || len(faults.Kinds) != 2 {
		t.Errorf("faults: %d %+v", status, faults)
	}
	if status := control(t, sb, "POST", "/sandbox/faults", map[string]any{"rate": 0.5, "kinds": "boom"}, nil); status != 400 {
		t.Errorf("bad fault kind: %d", status)
	}
	control(t, sb, "POST", "/sandbox/faults", map[string]any{"rate": 0}, nil)

	http.Get(sb.BotAPIURL() + "/bot" + sb.BotToken() + "/getMe")
	var calls []world.Call
	control(t, sb, "GET", "/sandbox/calls?api=bot&method=getMe", nil, &calls)
	if len(calls) != 1 || calls[0].Method != "getMe" {
		t.Errorf("calls = %+v", calls)
	}
}

// raw sends body as is with the content type and returns the status and
// the answer's "error".
func raw(t *testing.T, sb *sandbox.Sandbox, method, path, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, sb.BotAPIURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: decode: %v", method, path, err)
	}
	obj, _ := out.(map[string]any) // nil for lists
	msg, _ := obj["error"].(string)
	return resp.StatusCode, msg
}

// TestSandbox_ControlUnknownFields: a field a control call does not take is
// refused, naming it and the fields the call takes, and nothing is done.
func TestSandbox_ControlUnknownFields(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 3, NoMTProto: true})
	alice := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Alice", Phone: "+15550001"})
	users := len(sb.World().Users())
	const jsonCT, formCT = "application/json", "application/x-www-form-urlencoded"
	tests := []struct {
		name, method, path, contentType, body string
		want                                  string // in the error
	}{
		{name: "a typo in JSON", method: "POST", path: "/sandbox/users", contentType: jsonCT, body: `{"first_name":"Bob","lastname":"Smith"}`,
			want: `unknown field "lastname": POST /sandbox/users takes first_name, last_name, username, phone, privacy, password, language_code`},
		{name: "a null unknown field", method: "POST", path: "/sandbox/users", contentType: jsonCT, body: `{"first_name":"Bob","lastname":null}`, want: `unknown field "lastname"`},
		{name: "a typo in a form", method: "POST", path: "/sandbox/users", contentType: formCT, body: `first_name=Bob&usernme=bob_tg`, want: `unknown field "usernme"`},
		{name: "a typo in multipart", method: "POST", path: "/sandbox/users", contentType: "multipart/form-data; boundary=XX",
			body: "--XX\r\nContent-Disposition: form-data; name=\"first_name\"\r\n\r\nBob\r\n--XX\r\nContent-Disposition: form-data; name=\"phonee\"\r\n\r\n+15550002\r\n--XX--\r\n", want: `unknown field "phonee"`},
		{name: "two unknown fields", method: "POST", path: "/sandbox/users", contentType: jsonCT, body: `{"first_name":"Bob","b":1,"a":2}`, want: `unknown fields "a", "b"`},
		{name: "fields in a POST's query string", method: "POST", path: "/sandbox/users?first_name=Bob", want: "POST /sandbox/users takes its fields in the body"},
		{name: "a call that takes none", method: "POST", path: "/sandbox/users/" + itoa(alice.ID) + "/contact", contentType: jsonCT, body: `{"phone":"+15550009"}`,
			want: `unknown field "phone": POST /sandbox/users/{id}/contact takes no fields`},
		{name: "a message", method: "POST", path: "/sandbox/users/" + itoa(alice.ID) + "/messages", contentType: jsonCT, body: `{"txt":"hi"}`, want: `takes chat_id, text`},
		{name: "join", method: "POST", path: "/sandbox/users/" + itoa(alice.ID) + "/join", contentType: jsonCT, body: `{"link":"x"}`, want: `unknown field "link"`},
		{name: "faults", method: "POST", path: "/sandbox/faults", contentType: jsonCT, body: `{"rat":0.5}`, want: `unknown field "rat"`},
		{name: "a chat", method: "POST", path: "/sandbox/chats", contentType: jsonCT, body: `{"title":"T","creator":` + itoa(alice.ID) + `,"owner":1}`, want: `unknown field "owner"`},
		{name: "reset", method: "POST", path: "/sandbox/reset", contentType: jsonCT, body: `{"keep":[1]}`, want: `unknown field "keep"`},
		{name: "delete", method: "DELETE", path: "/sandbox/users/" + itoa(alice.ID), contentType: jsonCT, body: `{"force":true}`, want: `unknown field "force"`},
		{name: "a query typo", method: "GET", path: "/sandbox/calls?sinec=3", want: `unknown field "sinec": GET /sandbox/calls takes api, method, since`},
		{name: "a query on a call that takes none", method: "GET", path: "/sandbox/users?limit=5", want: `unknown field "limit"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, msg := raw(t, sb, tt.method, tt.path, tt.contentType, tt.body)
			if status != http.StatusBadRequest || !strings.Contains(msg, tt.want) {
				t.Errorf("%d %q, want 400 with %q", status, msg, tt.want)
			}
		})
	}
	if n := len(sb.World().Users()); n != users {
		t.Errorf("%d users after refused calls, want %d", n, users)
	}
	if _, ok := sb.World().User(alice.ID); !ok {
		t.Error("a refused DELETE deleted")
	}
	if len(sb.World().Chats()) != 0 || len(sb.Received(sb.Bot().ID)) != 0 || sb.World().FaultConfig().Rate != 0 {
		t.Error("a refused call did something")
	}
	t.Run("known fields still work", func(t *testing.T) {
		if status, msg := raw(t, sb, "GET", "/sandbox/calls?since=0&api=bot", "", ""); status != 200 {
			t.Errorf("calls: %d %s", status, msg)
		}
		if status, msg := raw(t, sb, "POST", "/sandbox/users", jsonCT, `{"first_name":"Bob","last_name":null}`); status != 201 {
			t.Errorf("create: %d %s", status, msg)
		}
	})
}

// TestSandbox_ResetAndDelete: for long runs, the control API empties the
// world (the bot and its token stay) and deletes single people.
func TestSandbox_ResetAndDelete(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 3, NoMTProto: true})
	owner := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Owner", Username: "owner_tg"})
	alice := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Alice"})
	chat := sandboxtest.MustChat(t, sb, owner.ID, "Webmasters Pro")
	if _, _, err := sb.World().AddMembers(chat.ID, owner.ID, []int64{alice.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.StartBot(alice.ID, "tok"); err != nil {
		t.Fatal(err)
	}

	t.Run("delete a person", func(t *testing.T) {
		var out map[string]any
		if code := control(t, sb, "DELETE", "/sandbox/users/"+itoa(alice.ID), nil, &out); code != 200 || out["deleted"] != float64(alice.ID) {
			t.Fatalf("delete: %d %v", code, out)
		}
		if code := control(t, sb, "GET", "/sandbox/users/"+itoa(alice.ID), nil, &out); code != 404 {
			t.Errorf("get after delete: %d %v", code, out)
		}
		var members []struct {
			User struct{ ID int64 } `json:"user"`
		}
		control(t, sb, "GET", "/sandbox/chats/"+itoa(chat.BotAPIID())+"/members", nil, &members)
		for _, m := range members {
			if m.User.ID == alice.ID {
				t.Errorf("still a member: %+v", members)
			}
		}
		if code := control(t, sb, "DELETE", "/sandbox/users/"+itoa(alice.ID), nil, &out); code != 404 {
			t.Errorf("second delete: %d %v", code, out)
		}
		if code := control(t, sb, "DELETE", "/sandbox/users/"+itoa(sb.Bot().ID), nil, &out); code != 400 {
			t.Errorf("delete the bot: %d %v", code, out)
		}
	})

	t.Run("reset", func(t *testing.T) {
		var index struct {
			Bot struct{ ID int64 } `json:"bot"`
		}
		if code := control(t, sb, "POST", "/sandbox/reset", nil, &index); code != 200 || index.Bot.ID != sb.Bot().ID {
			t.Fatalf("reset: %d %+v", code, index)
		}
		var users []struct{ ID int64 }
		control(t, sb, "GET", "/sandbox/users", nil, &users)
		if len(users) != 1 || users[0].ID != sb.Bot().ID {
			t.Errorf("users after reset %+v, want only the bot", users)
		}
		var chats []any
		control(t, sb, "GET", "/sandbox/chats", nil, &chats)
		if len(chats) != 0 {
			t.Errorf("chats after reset %v", chats)
		}
		resp, err := http.Get(sb.BotAPIURL() + "/bot" + sb.BotToken() + "/getMe")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("getMe with the bot's token after reset: %s", resp.Status)
		}
		again := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Owner", Username: "owner_tg"})
		if again.ID <= alice.ID {
			t.Errorf("id %d after reset, want above %d (never reused)", again.ID, alice.ID)
		}
	})
}
