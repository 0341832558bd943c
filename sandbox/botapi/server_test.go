package botapi_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/sandbox/world"
)

func TestServer_ServeHTTP(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		token  string
		method string
		code   int
		desc   string
	}{
		{name: "getMe", token: e.token, method: "getMe", code: 200},
		{name: "method names ignore case", token: e.token, method: "GETME", code: 200},
		{name: "unknown token", token: "123:nope", method: "getMe", code: 401, desc: "Unauthorized"},
		{name: "unknown method", token: e.token, method: "sendSticker", code: 404, desc: "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.callAs(tt.token, tt.method, nil)
			if r.Status != tt.code || (tt.code != 200 && (r.ErrorCode != tt.code || r.Description != tt.desc)) {
				t.Errorf("got %d %s, want %d %q", r.Status, r, tt.code, tt.desc)
			}
		})
	}
}

// TestServer_Encodings sends one call as GET query, JSON, form and multipart.
func TestServer_Encodings(t *testing.T) {
	e := newEnv(t)
	alice := e.user("Alice")
	if _, err := e.w.SendMessage(alice.ID, e.bot.ID, "hi", world.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	base := e.http.URL + "/bot" + e.token + "/sendMessage"
	multipartBody := func() (*bytes.Buffer, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("chat_id", itoa(alice.ID))
		mw.WriteField("text", "multipart")
		mw.Close()
		return &buf, mw.FormDataContentType()
	}
	tests := []struct {
		name string
		do   func() (*http.Response, error)
		text string
	}{
		{name: "GET query", text: "query", do: func() (*http.Response, error) {
			return http.Get(base + "?chat_id=" + itoa(alice.ID) + "&text=query")
		}},
		{name: "JSON", text: "json", do: func() (*http.Response, error) {
			return http.Post(base, "application/json", strings.NewReader(`{"chat_id":`+itoa(alice.ID)+`,"text":"json"}`))
		}},
		{name: "form", text: "form", do: func() (*http.Response, error) {
			return http.PostForm(base, url.Values{"chat_id": {itoa(alice.ID)}, "text": {"form"}})
		}},
		{name: "multipart", text: "multipart", do: func() (*http.Response, error) {
			body, ct := multipartBody()
			return http.Post(base, ct, body)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Advance(2e9) // per-chat limit: one message a second
			resp, err := tt.do()
			if err != nil {
				t.Fatal(err)
			}
			r := readResponse(t, resp)
			var m struct {
				Text string `json:"text"`
			}
			r.decode(t, &m)
			if m.Text != tt.text {
				t.Errorf("text = %q, want %q", m.Text, tt.text)
			}
		})
	}
}

func TestServer_Validation(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	tests := []struct {
		name   string
		method string
		params map[string]any
		desc   string
	}{
		{name: "missing chat_id", method: "sendMessage", params: map[string]any{"text": "x"}, desc: "Bad Request: chat_id is empty"},
		{name: "missing text", method: "sendMessage", params: map[string]any{"chat_id": 1}, desc: "Bad Request: message text is empty"},
		{name: "user_id not an integer", method: "getChatMember", params: map[string]any{"chat_id": c.BotAPIID(), "user_id": "abc"}, desc: "Bad Request: invalid user_id specified"},
		{name: "missing user_id", method: "banChatMember", params: map[string]any{"chat_id": c.BotAPIID()}, desc: "Bad Request: invalid user_id specified"},
		{name: "commands not JSON", method: "setMyCommands", params: map[string]any{"commands": "{nope"}, desc: "Bad Request: can't parse commands JSON object"},
		{name: "unknown chat", method: "getChat", params: map[string]any{"chat_id": -1009999999999}, desc: "Bad Request: chat not found"},
		{name: "bad command", method: "setMyCommands", params: map[string]any{"commands": []map[string]string{{"command": "Bad Command", "description": "x"}}}, desc: "Bad Request: BOT_COMMAND_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(tt.method, tt.params)
			if r.OK || r.ErrorCode != 400 || r.Description != tt.desc {
				t.Errorf("got %s, want 400 %q", r, tt.desc)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
