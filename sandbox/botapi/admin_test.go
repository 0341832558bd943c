package botapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/karmagate/karmagate/sandbox/world"
)

func TestServer_PromoteChatMember(t *testing.T) {
	e := newEnv(t)
	withPromote := inviteRights()
	withPromote.CanPromoteMembers = true
	c := e.group(withPromote)
	plain := e.group(inviteRights())
	alice := e.user("Alice")
	e.w.AddMembers(c.ID, e.owner.ID, []int64{alice.ID})
	e.w.AddMembers(plain.ID, e.owner.ID, []int64{alice.ID})
	stranger := e.user("Stranger")

	tests := []struct {
		name   string
		params map[string]any
		desc   string
		status world.Status
		user   int64
		chat   int64
	}{
		{name: "promote a member", params: map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID, "can_invite_users": true}, status: world.StatusAdministrator, user: alice.ID, chat: c.ID},
		{name: "rights the bot lacks", params: map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID, "can_change_info": true}, desc: "Bad Request: not enough rights", status: world.StatusAdministrator, user: alice.ID, chat: c.ID},
		{name: "demote with no rights", params: map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID}, status: world.StatusMember, user: alice.ID, chat: c.ID},
		{name: "not a member", params: map[string]any{"chat_id": c.BotAPIID(), "user_id": stranger.ID, "can_invite_users": true}, desc: "Bad Request: USER_NOT_PARTICIPANT", status: world.StatusLeft, user: stranger.ID, chat: c.ID},
		{name: "bot without can_promote_members", params: map[string]any{"chat_id": plain.BotAPIID(), "user_id": alice.ID, "can_invite_users": true}, desc: "Bad Request: not enough rights", status: world.StatusMember, user: alice.ID, chat: plain.ID},
		{name: "the owner", params: map[string]any{"chat_id": c.BotAPIID(), "user_id": e.owner.ID}, desc: "Bad Request: can't demote chat creator", status: world.StatusCreator, user: e.owner.ID, chat: c.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("promoteChatMember", tt.params)
			if tt.desc == "" && !r.OK || tt.desc != "" && r.Description != tt.desc {
				t.Errorf("got %s, want %q", r, tt.desc)
			}
			if st := e.w.Member(tt.chat, tt.user).Status; st != tt.status {
				t.Errorf("status %s, want %s", st, tt.status)
			}
		})
	}
}

func TestServer_GetChatAdministrators(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	other, _, _ := e.w.CreateBot("other_admin_bot", "Other")
	e.w.PromoteAdmin(c.ID, e.owner.ID, other.ID, inviteRights(), "")
	count := func(params map[string]any) int {
		var admins []json.RawMessage
		e.mustOK("getChatAdministrators", params).decode(t, &admins)
		return len(admins)
	}
	if n := count(map[string]any{"chat_id": c.BotAPIID()}); n != 2 {
		t.Errorf("default: %d admins, want owner and this bot", n)
	}
	if n := count(map[string]any{"chat_id": c.BotAPIID(), "return_bots": true}); n != 3 {
		t.Errorf("return_bots: %d admins, want 3", n)
	}
}

func TestServer_GetChatMember(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	memberOnly := e.group(world.AdminRights{})
	e.w.PromoteAdmin(memberOnly.ID, e.owner.ID, e.bot.ID, world.AdminRights{CanInviteUsers: true}, "")
	e.w.PromoteAdmin(memberOnly.ID, e.owner.ID, e.bot.ID, world.AdminRights{}, "")
	alice := e.user("Alice")
	tests := []struct {
		name   string
		params map[string]any
		status string
		desc   string
	}{
		{name: "stranger is left", params: map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID}, status: "left"},
		{name: "owner", params: map[string]any{"chat_id": c.BotAPIID(), "user_id": e.owner.ID}, status: "creator"},
		{name: "itself", params: map[string]any{"chat_id": memberOnly.BotAPIID(), "user_id": e.bot.ID}, status: "member"},
		{name: "others need admin", params: map[string]any{"chat_id": memberOnly.BotAPIID(), "user_id": e.owner.ID}, desc: "Bad Request: member list is inaccessible"},
		{name: "unknown user", params: map[string]any{"chat_id": c.BotAPIID(), "user_id": 99}, desc: "Bad Request: PARTICIPANT_ID_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("getChatMember", tt.params)
			if tt.desc != "" {
				if r.Description != tt.desc {
					t.Errorf("got %s, want %q", r, tt.desc)
				}
				return
			}
			var m struct{ Status string }
			r.decode(t, &m)
			if m.Status != tt.status {
				t.Errorf("status %s, want %s", m.Status, tt.status)
			}
		})
	}
}

func TestServer_DeleteMessage(t *testing.T) {
	e := newEnv(t)
	alice := e.user("Alice")
	e.w.SendMessage(alice.ID, e.bot.ID, "/start", world.SendOptions{})
	var m struct {
		MessageID int `json:"message_id"`
	}
	e.mustOK("sendMessage", map[string]any{"chat_id": alice.ID, "text": "oops"}).decode(t, &m)
	e.mustOK("deleteMessage", map[string]any{"chat_id": alice.ID, "message_id": m.MessageID})
	if msgs := e.w.Messages(alice.ID); len(msgs) != 0 {
		t.Errorf("alice still has %+v", msgs)
	}
	r := e.call("deleteMessage", map[string]any{"chat_id": alice.ID, "message_id": m.MessageID})
	if r.Description != "Bad Request: message to delete not found" {
		t.Errorf("second delete: %s", r)
	}
}

func TestServer_GetUpdatesConflict(t *testing.T) {
	e := newEnv(t)
	first := make(chan response, 1)
	go func() { first <- e.call("getUpdates", map[string]any{"timeout": 30}) }()
	// Start second polls until the first is pushed out; each second poll is
	// short, so the loop ends as soon as the first one is parked.
	giveUp := time.After(10 * time.Second)
	for {
		e.call("getUpdates", map[string]any{"timeout": 0})
		select {
		case r := <-first:
			if r.ErrorCode != 409 || r.Description != "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running" {
				t.Errorf("first poll: %s", r)
			}
			return
		case <-giveUp:
			t.Fatal("the first poll was not pushed out within 10s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestServer_DropPendingUpdates(t *testing.T) {
	e := newEnv(t)
	alice := e.user("Alice")
	e.w.SendMessage(alice.ID, e.bot.ID, "hello", world.SendOptions{})
	var info struct {
		PendingUpdateCount int `json:"pending_update_count"`
	}
	e.mustOK("getWebhookInfo", nil).decode(t, &info)
	if info.PendingUpdateCount != 1 {
		t.Fatalf("pending %d, want 1", info.PendingUpdateCount)
	}
	e.mustOK("deleteWebhook", map[string]any{"drop_pending_updates": true})
	e.mustOK("getWebhookInfo", nil).decode(t, &info)
	if info.PendingUpdateCount != 0 {
		t.Errorf("pending %d after drop, want 0", info.PendingUpdateCount)
	}
}

func TestServer_UpdatesExpire(t *testing.T) {
	e := newEnv(t)
	alice := e.user("Alice")
	e.w.SendMessage(alice.ID, e.bot.ID, "hello", world.SendOptions{})
	e.clock.Advance(25 * time.Hour)
	if ups := e.drain(e.token, nil); len(ups) != 0 {
		t.Errorf("%d updates survived 25 hours", len(ups))
	}
}

func TestServer_GetChat(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	starter, stranger, joiner := e.user("Starter"), e.user("Stranger"), e.user("Joiner")
	e.w.SendMessage(starter.ID, e.bot.ID, "/start", world.SendOptions{})
	e.w.AddMembers(c.ID, e.owner.ID, []int64{joiner.ID})
	tests := []struct {
		name string
		id   int64
		ok   bool
	}{
		{"the group", c.BotAPIID(), true},
		{"a person who started the bot", starter.ID, true},
		{"a person in the bot's group", joiner.ID, true},
		{"a stranger", stranger.ID, false},
		{"itself", e.bot.ID, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("getChat", map[string]any{"chat_id": tt.id})
			if r.OK != tt.ok || (!tt.ok && r.Description != "Bad Request: chat not found") {
				t.Errorf("got %s, want ok=%v", r, tt.ok)
			}
		})
	}
}
