package sandbox_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestSandbox_EphemeralViews: the control API's views of an ephemeral
// message (Bot API 10.2): the receiver's messages and their view of the
// group show it, another member's and the group's do not; a chat's admins
// may turn them off.
func TestSandbox_EphemeralViews(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 5, NoMTProto: true})
	owner := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Owner"})
	ann := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Ann"})
	ben := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Ben"})
	chat := sandboxtest.MustChat(t, sb, owner.ID, "Webmasters Pro")
	if _, _, err := sb.World().AddMembers(chat.ID, owner.ID, []int64{ann.ID, ben.ID}); err != nil {
		t.Fatal(err)
	}
	send := func(receiver int64) *http.Response {
		t.Helper()
		resp, err := http.PostForm(sb.BotAPIURL()+"/bot"+sb.BotToken()+"/sendMessage", url.Values{
			"chat_id": {itoa(chat.BotAPIID())}, "text": {"your karma: 150"},
			"ephemeral_message_parameters": {`{"receiver_user_id":` + itoa(receiver) + `}`},
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := send(ann.ID); resp.StatusCode != 200 {
		t.Fatalf("sendMessage: %s", resp.Status)
	}

	type msg struct {
		Text       string `json:"text"`
		ChatID     int64  `json:"chat_id"`
		Ephemeral  bool   `json:"ephemeral"`
		ReceiverID int64  `json:"receiver_user_id"`
	}
	texts := func(path string) []msg {
		t.Helper()
		var out []msg
		if code := control(t, sb, "GET", path, nil, &out); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		return out
	}
	group := "/sandbox/chats/" + itoa(chat.BotAPIID()) + "/messages"
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/sandbox/users/" + itoa(ann.ID) + "/messages", 1},
		{"/sandbox/users/" + itoa(ben.ID) + "/messages", 0},
		{group + "?as=" + itoa(ann.ID), 1},
		{group + "?as=" + itoa(ben.ID), 0},
		{group, 0},
	} {
		got := texts(tc.path)
		var n int
		for _, m := range got {
			if m.Text == "your karma: 150" {
				n++
				if !m.Ephemeral || m.ReceiverID != ann.ID || m.ChatID != chat.BotAPIID() {
					t.Errorf("%s: %+v", tc.path, m)
				}
			}
		}
		if n != tc.want {
			t.Errorf("%s shows it %d times, want %d: %+v", tc.path, n, tc.want, got)
		}
	}
	var bad map[string]any
	if code := control(t, sb, "GET", group+"?as=999999", nil, &bad); code != 404 {
		t.Errorf("as an unknown person: %d %v", code, bad)
	}

	var set map[string]any
	if code := control(t, sb, "POST", "/sandbox/chats/"+itoa(chat.BotAPIID())+"/ephemeral", map[string]any{"allowed": false}, &set); code != 200 || set["allowed"] != false {
		t.Fatalf("turn off: %d %v", code, set)
	}
	resp := send(ann.ID)
	var r struct {
		Description string `json:"description"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if resp.StatusCode != 400 || r.Description != "Bad Request: ephemeral messages are not allowed in the chat" {
		t.Errorf("in a chat that does not allow them: %s %q", resp.Status, r.Description)
	}
	if code := control(t, sb, "POST", "/sandbox/chats/"+itoa(chat.BotAPIID())+"/ephemeral", map[string]any{"allowed": "maybe"}, &bad); code != 400 || !strings.Contains(bad["error"].(string), "true or false") {
		t.Errorf("allowed: maybe: %d %v", code, bad)
	}
}
