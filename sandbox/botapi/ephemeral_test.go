package botapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_EphemeralMessages (Bot API 10.2/10.3): a message sent with
// ephemeral_message_parameters goes to that one member; the group's view,
// and every other member's, never hold it; Telegram's refusals are
// checked in the order it would meet them.
func TestServer_EphemeralMessages(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	alice, bob, carol := e.user("Alice"), e.user("Bob"), e.user("Carol")
	if _, _, err := e.w.AddMembers(c.ID, e.owner.ID, []int64{alice.ID, bob.ID}); err != nil {
		t.Fatal(err)
	}
	other, otherTok, err := e.w.CreateBot("other_karma_bot", "Other")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.w.AddMembers(c.ID, e.owner.ID, []int64{other.ID}); err != nil {
		t.Fatal(err)
	}
	eph := func(receiver any) string {
		b, _ := json.Marshal(map[string]any{"receiver_user_id": receiver})
		return string(b)
	}

	t.Run("delivered to the receiver alone", func(t *testing.T) {
		var m struct {
			MessageID          int `json:"message_id"`
			EphemeralMessageID int `json:"ephemeral_message_id"`
			ReceiverUser       struct {
				ID int64 `json:"id"`
			} `json:"receiver_user"`
			Chat struct {
				ID int64 `json:"id"`
			} `json:"chat"`
		}
		e.mustOK("sendMessage", map[string]any{"chat_id": c.BotAPIID(), "text": "your karma: 150",
			"ephemeral_message_parameters": eph(alice.ID)}).decode(t, &m)
		if m.MessageID != 0 || m.EphemeralMessageID != 1 || m.ReceiverUser.ID != alice.ID || m.Chat.ID != c.BotAPIID() {
			t.Errorf("answer %+v: want message_id 0, ephemeral_message_id 1, receiver_user Alice, the group", m)
		}
		e.mustOK("sendMessage", map[string]any{"chat_id": c.BotAPIID(), "text": "hello all"})
		seen := func(viewer int64) []string {
			ms, err := e.w.ChatMessages(c.BotAPIID(), viewer)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, m := range ms {
				out = append(out, m.Text)
			}
			return out
		}
		for _, tc := range []struct {
			name   string
			viewer int64
			want   string
		}{
			{"Alice", alice.ID, "your karma: 150|hello all"},
			{"Bob", bob.ID, "hello all"},
			{"everyone", 0, "hello all"},
		} {
			if got := strings.Join(seen(tc.viewer), "|"); got != tc.want {
				t.Errorf("%s sees %q, want %q", tc.name, got, tc.want)
			}
		}
		inbox := func(u world.User) []world.Message { return e.w.Messages(u.ID) }
		if got := inbox(alice); len(got) != 1 || got[0].Text != "your karma: 150" || got[0].ReceiverID != alice.ID {
			t.Errorf("Alice's messages: %+v", got)
		}
		if got := inbox(bob); len(got) != 0 {
			t.Errorf("Bob's messages: %+v, want none", got)
		}
		// No bot gets it as an update, as for any bot's message.
		for _, u := range e.drain(otherTok, nil) {
			if u.Message != nil {
				t.Errorf("the other bot got a message: %s", u.Message)
			}
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			chat   int64
			params any
			want   string
		}{
			{"a private chat", alice.ID, eph(alice.ID), "Bad Request: ephemeral messages can't be sent to private chats"},
			{"not JSON", c.BotAPIID(), "{", "Bad Request: can't parse EphemeralMessageParameters JSON object"},
			{"not an object", c.BotAPIID(), "[1]", "Bad Request: can't parse EphemeralMessageParameters: EphemeralMessageParameters must be an Object"},
			{"no receiver", c.BotAPIID(), `{"callback_query_id":"x"}`, `Bad Request: can't parse EphemeralMessageParameters: Can't find field "receiver_user_id"`},
			{"a receiver as text", c.BotAPIID(), `{"receiver_user_id":"abc"}`, `Bad Request: can't parse EphemeralMessageParameters: Field "receiver_user_id" must be of type Integer`},
			{"a negative receiver", c.BotAPIID(), eph(-5), "Bad Request: invalid receiver_user_id specified: -5"},
			{"an unknown person", c.BotAPIID(), eph(999999), "Bad Request: user not found"},
			{"a bot", c.BotAPIID(), eph(other.ID), "Bad Request: USER_IS_BOT"},
			{"not a member", c.BotAPIID(), eph(carol.ID), "Bad Request: USER_NOT_PARTICIPANT"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.call("sendMessage", map[string]any{"chat_id": tc.chat, "text": "x", "ephemeral_message_parameters": tc.params})
				if r.OK || r.ErrorCode != 400 || r.Description != tc.want {
					t.Errorf("got %s, want 400 %s", r, tc.want)
				}
			})
		}
		if err := e.w.Leave(c.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		r := e.call("sendMessage", map[string]any{"chat_id": c.BotAPIID(), "text": "x", "ephemeral_message_parameters": eph(bob.ID)})
		if r.Description != "Bad Request: USER_NOT_PARTICIPANT" {
			t.Errorf("to a member who left: %s", r)
		}
	})

	t.Run("a chat that does not allow them", func(t *testing.T) {
		if err := e.w.SetEphemeralAllowed(c.BotAPIID(), false); err != nil {
			t.Fatal(err)
		}
		for _, method := range []string{"sendMessage", "sendContact"} {
			r := e.call(method, map[string]any{"chat_id": c.BotAPIID(), "text": "x", "phone_number": "+15550100", "first_name": "O",
				"ephemeral_message_parameters": eph(alice.ID)})
			if r.ErrorCode != 400 || r.Description != "Bad Request: ephemeral messages are not allowed in the chat" {
				t.Errorf("%s: %s", method, r)
			}
		}
		if err := e.w.SetEphemeralAllowed(c.BotAPIID(), true); err != nil {
			t.Fatal(err)
		}
		e.mustOK("sendContact", map[string]any{"chat_id": c.BotAPIID(), "phone_number": "+15550100", "first_name": "O",
			"ephemeral_message_parameters": eph(alice.ID)})
	})

	t.Run("is_ephemeral commands are kept", func(t *testing.T) {
		e.mustOK("setMyCommands", map[string]any{"commands": `[{"command":"karma","description":"Your standing","is_ephemeral":true}]`})
		var got []map[string]any
		e.mustOK("getMyCommands", map[string]any{}).decode(t, &got)
		if len(got) != 1 || got[0]["is_ephemeral"] != true {
			t.Errorf("getMyCommands = %v", got)
		}
		r := e.call("setMyCommands", map[string]any{"commands": `[{"command":"karma","description":"x","is_ephemeral":"yes"}]`})
		if r.Description != `Bad Request: can't parse BotCommand: Field "is_ephemeral" must be of type Boolean` {
			t.Errorf("a string is_ephemeral: %s", r)
		}
	})
}
