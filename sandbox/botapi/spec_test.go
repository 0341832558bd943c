package botapi_test

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/sandbox/botapi"
	"github.com/karmagate/karmagate/sandbox/world"
)

// conform reports how v (decoded JSON) departs from the specification's
// type typ: missing required fields, fields Telegram does not send, wrong
// JSON kinds. Types outside the trimmed specification are not checked.
func conform(spec *botapi.Spec, path, typ string, v any) []string {
	if inner, ok := strings.CutPrefix(typ, "Array of "); ok {
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an array, got %T", path, v)}
		}
		var errs []string
		for i, x := range arr {
			errs = append(errs, conform(spec, fmt.Sprintf("%s[%d]", path, i), inner, x)...)
		}
		return errs
	}
	switch typ {
	case "Integer":
		if f, ok := v.(float64); !ok || f != math.Trunc(f) {
			return []string{fmt.Sprintf("%s: want Integer, got %v", path, v)}
		}
		return nil
	case "Float":
		if _, ok := v.(float64); !ok {
			return []string{fmt.Sprintf("%s: want Float, got %v", path, v)}
		}
		return nil
	case "String":
		if _, ok := v.(string); !ok {
			return []string{fmt.Sprintf("%s: want String, got %v", path, v)}
		}
		return nil
	case "Boolean", "True":
		if _, ok := v.(bool); !ok {
			return []string{fmt.Sprintf("%s: want Boolean, got %v", path, v)}
		}
		return nil
	}
	t, ok := spec.Types[typ]
	if !ok {
		return nil
	}
	if len(t.Subtypes) > 0 {
		var all []string
		for _, sub := range t.Subtypes {
			errs := conform(spec, path+"<"+sub+">", sub, v)
			if len(errs) == 0 {
				return nil
			}
			all = append(all, errs...)
		}
		return []string{fmt.Sprintf("%s: matches no subtype of %s: %v", path, typ, all)}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: want %s object, got %T", path, typ, v)}
	}
	fields := map[string]botapi.SpecField{}
	for _, f := range t.Fields {
		fields[f.Name] = f
	}
	var errs []string
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := fields[k]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s.%s: not a field of %s", path, k, typ))
			continue
		}
		var best []string
		for i, ft := range f.Types {
			e := conform(spec, path+"."+k, ft, obj[k])
			if len(e) == 0 {
				best = nil
				break
			}
			if i == 0 {
				best = e
			}
		}
		errs = append(errs, best...)
	}
	for _, f := range t.Fields {
		if _, ok := obj[f.Name]; f.Required && !ok {
			errs = append(errs, fmt.Sprintf("%s.%s: required by %s, missing", path, f.Name, typ))
		}
	}
	// ChatMember subtypes are told apart by status.
	if st, ok := obj["status"].(string); ok && strings.HasPrefix(typ, "ChatMember") {
		want := map[string]string{"ChatMemberOwner": "creator", "ChatMemberAdministrator": "administrator", "ChatMemberMember": "member",
			"ChatMemberRestricted": "restricted", "ChatMemberLeft": "left", "ChatMemberBanned": "kicked"}[typ]
		if want != "" && st != want {
			errs = append(errs, fmt.Sprintf("%s: status %s is not %s", path, st, typ))
		}
	}
	return errs
}

// TestSpec_Answers checks every kind of answer and update against the
// Bot API 10.1 specification.
func TestSpec_Answers(t *testing.T) {
	e := newEnv(t)
	spec := botapi.BotAPISpec()
	c := e.group(inviteRights())
	alice, bob, carol := e.user("Alice"), e.user("Bob"), e.user("Carol")
	e.w.SendMessage(alice.ID, e.bot.ID, "/start tok", world.SendOptions{})
	e.w.ShareContact(alice.ID, e.bot.ID)
	e.drain(e.token, map[string]any{"allowed_updates": []string{"message", "chat_member", "chat_join_request", "my_chat_member"}})

	var l, jr link
	e.mustOK("createChatInviteLink", map[string]any{"chat_id": c.BotAPIID(), "member_limit": 10, "name": "ten", "expire_date": e.clock.Now().Add(time.Hour).Unix()}).decode(t, &l)
	e.mustOK("createChatInviteLink", map[string]any{"chat_id": c.BotAPIID(), "creates_join_request": true}).decode(t, &jr)
	e.w.JoinByLink(bob.ID, l.InviteLink)
	e.w.JoinByLink(carol.ID, jr.InviteLink)
	e.w.Ban(c.ID, e.owner.ID, alice.ID, time.Time{})
	e.w.SendMessage(e.owner.ID, c.BotAPIID(), "hello group", world.SendOptions{})
	more := inviteRights()
	more.CanPinMessages = true
	e.w.PromoteAdmin(c.ID, e.owner.ID, e.bot.ID, more, "")

	e.clock.Advance(time.Minute)
	calls := []struct {
		method string
		params map[string]any
	}{
		{"getMe", nil},
		{"getUpdates", nil},
		{"sendMessage", map[string]any{"chat_id": alice.ID, "text": "<b>hi</b>", "parse_mode": "HTML"}},
		{"sendContact", map[string]any{"chat_id": carol.ID, "phone_number": "+15550100", "first_name": "Owner"}},
		{"getChat", map[string]any{"chat_id": c.BotAPIID()}},
		{"getChat", map[string]any{"chat_id": alice.ID}},
		{"getChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": e.owner.ID}},
		{"getChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": e.bot.ID}},
		{"getChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": bob.ID}},
		{"getChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID}},
		{"getChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": carol.ID}},
		{"getChatAdministrators", map[string]any{"chat_id": c.BotAPIID()}},
		{"getChatMemberCount", map[string]any{"chat_id": c.BotAPIID()}},
		{"createChatInviteLink", map[string]any{"chat_id": c.BotAPIID(), "name": "x"}},
		{"editChatInviteLink", map[string]any{"chat_id": c.BotAPIID(), "invite_link": l.InviteLink, "member_limit": 3}},
		{"revokeChatInviteLink", map[string]any{"chat_id": c.BotAPIID(), "invite_link": l.InviteLink}},
		{"exportChatInviteLink", map[string]any{"chat_id": c.BotAPIID()}},
		{"setMyCommands", map[string]any{"commands": []map[string]string{{"command": "bind", "description": "Bind this chat"}}}},
		{"getMyCommands", nil},
		{"getWebhookInfo", nil},
	}
	for _, call := range calls {
		t.Run(call.method, func(t *testing.T) {
			r := e.call(call.method, call.params)
			if !r.OK {
				t.Fatalf("%s: %s", call.method, r)
			}
			var v any
			json.Unmarshal(r.Result, &v)
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
					for k := range u.(map[string]any) {
						seen[k] = true
					}
				}
				for _, k := range []string{"message", "chat_member", "my_chat_member", "chat_join_request"} {
					if !seen[k] {
						t.Errorf("no %s update to check", k)
					}
				}
			}
		})
	}
}
