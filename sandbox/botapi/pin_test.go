package botapi_test

import (
	"testing"

	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_PinChatMessage: the bot pins a group's message only as an
// admin with can_pin_messages; a missing message, a private chat or a
// missing message_id are refused as Telegram refuses them.
func TestServer_PinChatMessage(t *testing.T) {
	withPin := inviteRights()
	withPin.CanPinMessages = true
	tests := []struct {
		name   string
		rights world.AdminRights
		msg    func(id int) any
		want   string // "" for success
	}{
		{"pinned", withPin, func(id int) any { return id }, ""},
		{"no right to pin", inviteRights(), func(id int) any { return id }, "Bad Request: not enough rights to manage pinned messages in the chat"},
		{"no such message", withPin, func(id int) any { return id + 100 }, "Bad Request: message to pin not found"},
		{"no message_id", withPin, nil, "Bad Request: message_id is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.group(tt.rights)
			var m struct {
				MessageID int `json:"message_id"`
			}
			e.mustOK("sendMessage", map[string]any{"chat_id": c.BotAPIID(), "text": "welcome"}).decode(t, &m)
			params := map[string]any{"chat_id": c.BotAPIID(), "disable_notification": true}
			if tt.msg != nil {
				params["message_id"] = tt.msg(m.MessageID)
			}
			r := e.call("pinChatMessage", params)
			if tt.want != "" {
				if r.OK || r.Description != tt.want {
					t.Fatalf("pinChatMessage = %s, want %q", r, tt.want)
				}
				return
			}
			if !r.OK {
				t.Fatalf("pinChatMessage = %s", r)
			}
			pinned := false
			for _, msg := range e.w.AllMessages() {
				if msg.ChannelID == c.ID && msg.ID == m.MessageID {
					pinned = msg.Pinned
				}
			}
			if !pinned {
				t.Error("the message is not pinned")
			}
		})
	}
}
