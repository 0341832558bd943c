package botapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/karmagate/karmagate/sandbox/botapi"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_WebhookReply: a webhook that answers an update with a method
// call (telegraf's default) has it run, and logged, as if the bot had
// called it; get* and webhook methods in answers are ignored.
func TestServer_WebhookReply(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		// answer builds the webhook's answer to an update from chatID.
		answer func(chatID int64) string
		// method is the call the log must show; "" for none.
		method string
		// text is what the person must receive; "" for nothing.
		text string
	}{
		{name: "JSON sendMessage", contentType: "application/json", method: "sendMessage", text: "Got it",
			answer: func(id int64) string { return `{"method":"sendMessage","chat_id":` + itoa(id) + `,"text":"Got it"}` }},
		{name: "JSON labelled as text", contentType: "text/plain; charset=utf-8", method: "sendMessage", text: "Plain label",
			answer: func(id int64) string {
				return `{"method":"sendMessage","chat_id":` + itoa(id) + `,"text":"Plain label"}`
			}},
		{name: "a form", contentType: "application/x-www-form-urlencoded", method: "sendMessage", text: "Form",
			answer: func(id int64) string { return "method=sendMessage&chat_id=" + itoa(id) + "&text=Form" }},
		{name: "method names ignore case", contentType: "application/json", method: "sendMessage", text: "Upper",
			answer: func(id int64) string { return `{"method":"SENDMESSAGE","chat_id":` + itoa(id) + `,"text":"Upper"}` }},
		{name: "a refused call is logged with its error", contentType: "application/json", method: "sendMessage",
			answer: func(id int64) string { return `{"method":"sendMessage","chat_id":` + itoa(id) + `}` }},
		{name: "get methods are ignored", contentType: "application/json",
			answer: func(int64) string { return `{"method":"getMe"}` }},
		{name: "deleteWebhook is ignored", contentType: "application/json",
			answer: func(int64) string { return `{"method":"deleteWebhook"}` }},
		{name: "an ordinary answer", contentType: "application/json",
			answer: func(int64) string { return `{"ok":true}` }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			alice := e.user("Alice")
			delivered := make(chan int64, 4)
			hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				var u struct {
					UpdateID int64 `json:"update_id"`
					Message  struct {
						Chat struct{ ID int64 }
					}
				}
				if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
					t.Errorf("decode update: %v", err)
				}
				rw.Header().Set("Content-Type", tt.contentType)
				if _, err := rw.Write([]byte(tt.answer(u.Message.Chat.ID))); err != nil {
					t.Errorf("answer the update: %v", err)
				}
				delivered <- u.UpdateID
			}))
			defer hook.Close()
			e.mustOK("setWebhook", map[string]any{"url": hook.URL})
			if _, err := e.w.SendMessage(alice.ID, e.bot.ID, "/start", world.SendOptions{}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-delivered:
			case <-time.After(10 * time.Second):
				t.Fatal("no delivery")
			}
			// The answer runs right after the delivery; the webhook info
			// shows the queue empty once it has.
			waitPending(t, e, 0)
			e.mustOK("deleteWebhook", nil)
			var got []world.Call
			for _, c := range e.w.Calls() {
				if c.Account == e.bot.ID && c.Method != "setWebhook" && c.Method != "getWebhookInfo" && c.Method != "deleteWebhook" {
					got = append(got, c)
				}
			}
			switch {
			case tt.method == "" && len(got) != 0:
				t.Errorf("calls = %+v, want none", got)
			case tt.method != "" && (len(got) != 1 || got[0].Method != tt.method || (tt.text == "") != (got[0].Error != "")):
				t.Errorf("calls = %+v, want one %s", got, tt.method)
			}
			msgs := e.w.Messages(alice.ID)
			if tt.text == "" && len(msgs) != 0 || tt.text != "" && (len(msgs) != 1 || msgs[0].Text != tt.text) {
				t.Errorf("alice received %+v, want %q", msgs, tt.text)
			}
		})
	}
}

// waitPending polls getWebhookInfo until pending_update_count is n.
func waitPending(t *testing.T, e *env, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var info struct {
			PendingUpdateCount int `json:"pending_update_count"`
		}
		e.mustOK("getWebhookInfo", nil).decode(t, &info)
		if info.PendingUpdateCount == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending_update_count %d, want %d", info.PendingUpdateCount, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSpec_AnswersGrown checks the answers and updates of the methods grown
// with the bot against the Bot API 10.1 specification.
func TestSpec_AnswersGrown(t *testing.T) {
	e := newEnv(t, func(_ *botapiOptions, wo *world.Options) { wo.Limits.PerChatBurst = 20 })
	spec := botapi.BotAPISpec()
	rights := inviteRights()
	rights.CanManageTags = true
	c := e.group(rights)
	alice := e.started("Alice")
	if _, _, err := e.w.AddMembers(c.ID, e.owner.ID, []int64{alice.ID}); err != nil {
		t.Fatal(err)
	}
	if err := e.w.SetGuardBot(c.ID, e.owner.ID, e.bot.ID); err != nil {
		t.Fatal(err)
	}
	e.drain(e.token, map[string]any{"allowed_updates": []string{"message", "callback_query", "chat_join_request", "chat_member"}})
	var m struct {
		MessageID int `json:"message_id"`
	}
	e.mustOK("sendMessage", map[string]any{"chat_id": alice.ID, "text": "Pick", "reply_markup": `{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}`}).decode(t, &m)
	q, err := e.w.PressButton(alice.ID, e.bot.ID, m.MessageID, "a")
	if err != nil {
		t.Fatal(err)
	}
	e.mustOK("sendMessage", map[string]any{"chat_id": alice.ID, "text": "Which group?",
		"reply_markup": `{"keyboard":[[{"text":"Pick","request_chat":{"request_id":3,"chat_is_channel":false,"request_title":true}}]]}`})
	if _, err := e.w.ShareChat(e.owner.ID, e.bot.ID, 3, c.ID); err == nil {
		t.Fatal("the owner was never shown the keyboard, yet shared")
	}
	if _, err := e.w.SendMessage(e.owner.ID, e.bot.ID, "/setup", world.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	e.mustOK("sendMessage", map[string]any{"chat_id": e.owner.ID, "text": "Which group?",
		"reply_markup": `{"keyboard":[[{"text":"Pick","request_chat":{"request_id":3,"chat_is_channel":false,"request_title":true}}]]}`})
	if _, err := e.w.ShareChat(e.owner.ID, e.bot.ID, 3, c.ID); err != nil {
		t.Fatal(err)
	}
	l, err := e.w.CreateInviteLink(c.ID, e.owner.ID, world.InviteLinkSpec{CreatesJoinRequest: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.w.JoinByLink(e.user("Bob").ID, l.Link); err != nil {
		t.Fatal(err)
	}

	calls := []struct {
		method string
		params map[string]any
	}{
		{"getUpdates", nil},
		{"getMe", nil},
		{"answerCallbackQuery", map[string]any{"callback_query_id": q.ID, "text": "ok"}},
		{"editMessageText", map[string]any{"chat_id": alice.ID, "message_id": m.MessageID, "text": "Picked", "reply_markup": `{"inline_keyboard":[[{"text":"B","callback_data":"b"}]]}`}},
		{"editMessageReplyMarkup", map[string]any{"chat_id": alice.ID, "message_id": m.MessageID}},
		{"setMyCommands", map[string]any{"commands": `[{"command":"status","description":"Status"}]`, "scope": `{"type":"chat_administrators","chat_id":` + strconv.FormatInt(c.BotAPIID(), 10) + `}`, "language_code": "en"}},
		{"getMyCommands", map[string]any{"scope": `{"type":"chat_administrators","chat_id":` + strconv.FormatInt(c.BotAPIID(), 10) + `}`, "language_code": "en"}},
		{"setChatMemberTag", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID, "tag": "Gold"}},
		{"getChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID}},
		{"getChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": e.bot.ID}},
		{"getChat", map[string]any{"chat_id": c.BotAPIID()}},
	}
	for _, call := range calls {
		t.Run(call.method, func(t *testing.T) {
			r := e.call(call.method, call.params)
			if !r.OK {
				t.Fatalf("%s: %s", call.method, r)
			}
			var v any
			if err := json.Unmarshal(r.Result, &v); err != nil {
				t.Fatal(err)
			}
			returns := spec.Methods[call.method].Returns
			var errs []string
			for i, typ := range returns {
				errs = conform(spec, call.method, typ, v)
				if len(errs) == 0 || i == len(returns)-1 {
					break
				}
			}
			for _, e := range errs {
				t.Error(e)
			}
			if call.method == "getUpdates" {
				seen := map[string]bool{}
				for _, u := range v.([]any) {
					for k, x := range u.(map[string]any) {
						seen[k] = true
						if k == "message" && x.(map[string]any)["chat_shared"] != nil {
							seen["chat_shared"] = true
						}
						if k == "chat_join_request" && x.(map[string]any)["query_id"] != nil {
							seen["query_id"] = true
						}
					}
				}
				for _, k := range []string{"callback_query", "chat_shared", "query_id"} {
					if !seen[k] {
						t.Errorf("no %s to check", k)
					}
				}
			}
		})
	}
}
