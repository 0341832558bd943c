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
		data, _ := json.Marshal(in)
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
	data, _ := io.ReadAll(resp.Body)
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
