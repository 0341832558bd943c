package botapi_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/sandbox/world"
)

type link struct {
	InviteLink         string `json:"invite_link"`
	CreatesJoinRequest bool   `json:"creates_join_request"`
	MemberLimit        int    `json:"member_limit"`
	IsRevoked          bool   `json:"is_revoked"`
}

func TestServer_CreateChatInviteLink(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	noInvite := e.group(world.AdminRights{CanManageChat: true, CanRestrictMembers: true})
	notAdmin, _ := e.w.CreateSupergroup(e.owner.ID, "No bot", "")
	member := e.group(world.AdminRights{})
	e.w.PromoteAdmin(member.ID, e.owner.ID, e.bot.ID, world.AdminRights{CanInviteUsers: true}, "")
	e.w.PromoteAdmin(member.ID, e.owner.ID, e.bot.ID, world.AdminRights{}, "") // demoted to member

	tests := []struct {
		name   string
		params map[string]any
		code   int
		desc   string
	}{
		{name: "plain", params: map[string]any{"chat_id": c.BotAPIID()}},
		{name: "join request", params: map[string]any{"chat_id": c.BotAPIID(), "creates_join_request": true, "name": "karmagate"}},
		{name: "member limit 1", params: map[string]any{"chat_id": c.BotAPIID(), "member_limit": 1, "expire_date": e.clock.Now().Add(time.Hour).Unix()}},
		{name: "member_limit with creates_join_request", params: map[string]any{"chat_id": c.BotAPIID(), "member_limit": 5, "creates_join_request": true},
			code: 400, desc: "Bad Request: member limit can't be specified for links requiring administrator approval"},
		{name: "member_limit 0", params: map[string]any{"chat_id": c.BotAPIID(), "member_limit": 0},
			code: 400, desc: `Bad Request: parameter "member_limit" must be between 1 and 99999`},
		{name: "member_limit 100000", params: map[string]any{"chat_id": c.BotAPIID(), "member_limit": 100000},
			code: 400, desc: `Bad Request: parameter "member_limit" must be between 1 and 99999`},
		{name: "name too long", params: map[string]any{"chat_id": c.BotAPIID(), "name": strings.Repeat("n", 33)},
			code: 400, desc: "Bad Request: invite link name is too long"},
		{name: "expire date in the past", params: map[string]any{"chat_id": c.BotAPIID(), "expire_date": e.clock.Now().Add(-time.Hour).Unix()},
			code: 400, desc: "Bad Request: EXPIRE_DATE_INVALID"},
		{name: "admin without can_invite_users", params: map[string]any{"chat_id": noInvite.BotAPIID()},
			code: 400, desc: "Bad Request: not enough rights to manage chat invite link"},
		{name: "bot only a member", params: map[string]any{"chat_id": member.BotAPIID()},
			code: 400, desc: "Bad Request: not enough rights to manage chat invite link"},
		{name: "bot not in the chat", params: map[string]any{"chat_id": notAdmin.BotAPIID()},
			code: 403, desc: "Forbidden: bot is not a member of the supergroup chat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("createChatInviteLink", tt.params)
			if tt.code == 0 {
				var l link
				r.decode(t, &l)
				if !strings.HasPrefix(l.InviteLink, "https://t.me/+") {
					t.Errorf("invite_link = %q", l.InviteLink)
				}
				return
			}
			if r.OK || r.ErrorCode != tt.code || r.Description != tt.desc {
				t.Errorf("got %s, want %d %q", r, tt.code, tt.desc)
			}
		})
	}
}

func TestServer_RateLimits(t *testing.T) {
	tests := []struct {
		name string
		// strict runs the world with Limits.StrictPacing (exact windows).
		strict bool
		// run makes calls until one is refused; it returns that answer.
		run        func(e *env) response
		retryAfter int
	}{
		{name: "createChatInviteLink 20 per minute per chat", retryAfter: 60, run: func(e *env) response {
			c := e.group(inviteRights())
			for i := 0; i < 20; i++ {
				e.mustOK("createChatInviteLink", map[string]any{"chat_id": c.BotAPIID()})
			}
			return e.call("createChatInviteLink", map[string]any{"chat_id": c.BotAPIID()})
		}},
		{name: "strict: 1 message per second per chat", strict: true, retryAfter: 1, run: func(e *env) response {
			u := e.user("Alice")
			e.w.SendMessage(u.ID, e.bot.ID, "/start", world.SendOptions{})
			e.mustOK("sendMessage", map[string]any{"chat_id": u.ID, "text": "one"})
			return e.call("sendMessage", map[string]any{"chat_id": u.ID, "text": "two"})
		}},
		{name: "a burst of 3 per chat, then 1 per second", retryAfter: 1, run: func(e *env) response {
			u := e.user("Alice")
			e.w.SendMessage(u.ID, e.bot.ID, "/start", world.SendOptions{})
			for _, text := range []string{"Checking…", "You are in", "Here is the link"} {
				e.mustOK("sendMessage", map[string]any{"chat_id": u.ID, "text": text})
			}
			return e.call("sendMessage", map[string]any{"chat_id": u.ID, "text": "one too many"})
		}},
		{name: "20 in any minute per group, twenty a second apart all go", retryAfter: 40, run: func(e *env) response {
			c := e.group(inviteRights())
			for range 20 {
				e.mustOK("sendMessage", map[string]any{"chat_id": c.BotAPIID(), "text": "hello"})
				e.clock.Advance(time.Second)
			}
			return e.call("sendMessage", map[string]any{"chat_id": c.BotAPIID(), "text": "one too many"})
		}},
		{name: "strict: 20 messages per minute per group", strict: true, retryAfter: 40, run: func(e *env) response {
			c := e.group(inviteRights())
			for i := 0; i < 20; i++ {
				e.mustOK("sendMessage", map[string]any{"chat_id": c.BotAPIID(), "text": "hello"})
				e.clock.Advance(time.Second)
			}
			return e.call("sendMessage", map[string]any{"chat_id": c.BotAPIID(), "text": "one too many"})
		}},
		{name: "30 messages per second overall", retryAfter: 1, run: func(e *env) response {
			var last response
			for i := 0; i < 31; i++ {
				u := e.user("Fan")
				e.w.SendMessage(u.ID, e.bot.ID, "/start", world.SendOptions{})
				last = e.call("sendMessage", map[string]any{"chat_id": u.ID, "text": "hi"})
				if !last.OK {
					if i != 30 {
						e.t.Errorf("refused at message %d, want 31st", i+1)
					}
					return last
				}
			}
			return last
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(_ *botapiOptions, wo *world.Options) { wo.Limits.StrictPacing = tt.strict })
			r := tt.run(e)
			if r.OK || r.Status != 429 || r.ErrorCode != 429 || r.Parameters.RetryAfter != tt.retryAfter {
				t.Fatalf("got %d %s, want 429 with retry_after %d", r.Status, r, tt.retryAfter)
			}
			if want := "Too Many Requests: retry after " + itoa(int64(tt.retryAfter)); r.Description != want {
				t.Errorf("description = %q, want %q", r.Description, want)
			}
		})
	}
}

// TestServer_RateLimits_Recover: waiting exactly retry_after is enough.
func TestServer_RateLimits_Recover(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	for i := 0; i < 20; i++ {
		e.mustOK("createChatInviteLink", map[string]any{"chat_id": c.BotAPIID()})
	}
	r := e.call("createChatInviteLink", map[string]any{"chat_id": c.BotAPIID()})
	if r.OK {
		t.Fatal("21st link accepted")
	}
	e.clock.Advance(time.Duration(r.Parameters.RetryAfter) * time.Second)
	e.mustOK("createChatInviteLink", map[string]any{"chat_id": c.BotAPIID()})
}

func TestServer_ApproveChatJoinRequest(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	// Three more bots: admin without can_invite_users, plain member, outsider.
	_, noInviteTok, _ := e.w.CreateBot("noinvite_bot", "NoInvite")
	noInvite, _ := e.w.UserByUsername("noinvite_bot")
	e.w.PromoteAdmin(c.ID, e.owner.ID, noInvite.ID, world.AdminRights{CanManageChat: true, CanRestrictMembers: true}, "")
	_, memberTok, _ := e.w.CreateBot("member_bot", "Member")
	mb, _ := e.w.UserByUsername("member_bot")
	e.w.PromoteAdmin(c.ID, e.owner.ID, mb.ID, world.AdminRights{CanInviteUsers: true}, "")
	e.w.PromoteAdmin(c.ID, e.owner.ID, mb.ID, world.AdminRights{}, "")
	for _, tok := range []string{e.token, noInviteTok, memberTok} {
		e.drain(tok, nil)
	}

	var l link
	e.mustOK("createChatInviteLink", map[string]any{"chat_id": c.BotAPIID(), "creates_join_request": true}).decode(t, &l)
	alice := e.user("Alice")
	res, err := e.w.JoinByLink(alice.ID, l.InviteLink)
	if err != nil || res.Result != "requested" {
		t.Fatalf("JoinByLink = %+v, %v; want requested", res, err)
	}

	t.Run("only admins with can_invite_users get chat_join_request", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			token string
			want  []string
		}{
			{"admin with can_invite_users", e.token, []string{"chat_join_request"}},
			{"admin without can_invite_users", noInviteTok, []string{}},
			{"member bot", memberTok, []string{}},
		} {
			if got := kinds(e.drain(tc.token, nil)); !slices.Equal(got, tc.want) {
				t.Errorf("%s got %v, want %v", tc.name, got, tc.want)
			}
		}
	})
	t.Run("the bot may message the requester for 5 minutes", func(t *testing.T) {
		e.mustOK("sendMessage", map[string]any{"chat_id": alice.ID, "text": "Checking your karma…"})
		bob := e.user("Bob")
		r := e.call("sendMessage", map[string]any{"chat_id": bob.ID, "text": "hi"})
		if r.ErrorCode != 400 || r.Description != "Bad Request: chat not found" {
			t.Errorf("DM to a stranger the bot never saw: %s", r)
		}
	})
	t.Run("admin without can_invite_users cannot approve", func(t *testing.T) {
		r := e.callAs(noInviteTok, "approveChatJoinRequest", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID})
		if r.OK {
			t.Error("approved without can_invite_users")
		}
	})
	t.Run("approve", func(t *testing.T) {
		e.mustOK("approveChatJoinRequest", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID})
		m := e.w.Member(c.ID, alice.ID)
		if m.Status != world.StatusMember || !m.ViaJoinRequest {
			t.Errorf("member = %+v, want member via join request", m)
		}
	})
	t.Run("approving twice", func(t *testing.T) {
		r := e.call("approveChatJoinRequest", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID})
		if r.Description != "Bad Request: HIDE_REQUESTER_MISSING" {
			t.Errorf("got %s, want HIDE_REQUESTER_MISSING", r)
		}
	})
	t.Run("decline", func(t *testing.T) {
		bob := e.user("Bob")
		e.w.JoinByLink(bob.ID, l.InviteLink)
		e.mustOK("declineChatJoinRequest", map[string]any{"chat_id": c.BotAPIID(), "user_id": bob.ID})
		if st := e.w.Member(c.ID, bob.ID).Status; st != world.StatusLeft {
			t.Errorf("declined user is %s", st)
		}
	})
}

func TestServer_ChatMemberUpdates(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	_, memberTok, _ := e.w.CreateBot("plain_member_bot", "Plain")
	pm, _ := e.w.UserByUsername("plain_member_bot")
	e.w.PromoteAdmin(c.ID, e.owner.ID, pm.ID, world.AdminRights{CanInviteUsers: true}, "")
	e.w.PromoteAdmin(c.ID, e.owner.ID, pm.ID, world.AdminRights{}, "")
	var l link
	e.mustOK("createChatInviteLink", map[string]any{"chat_id": c.BotAPIID()}).decode(t, &l)

	join := func() {
		u := e.user("Joiner")
		if res, _ := e.w.JoinByLink(u.ID, l.InviteLink); res.Result != "joined" {
			t.Fatalf("join: %+v", res)
		}
	}
	tests := []struct {
		name    string
		token   string
		allowed any // nil: do not send allowed_updates
		want    []string
	}{
		{name: "default allowed_updates omit chat_member", token: e.token, want: []string{}},
		{name: "admin bot listing chat_member", token: e.token, allowed: []string{"message", "chat_member", "chat_join_request"}, want: []string{"chat_member"}},
		{name: "remembered from the last call", token: e.token, want: []string{"chat_member"}},
		{name: "empty list resets to the default", token: e.token, allowed: []string{}, want: []string{}},
		{name: "member bot listing chat_member", token: memberTok, allowed: []string{"chat_member"}, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]any{}
			if tt.allowed != nil {
				params["allowed_updates"] = tt.allowed
			}
			e.drain(tt.token, params)
			join()
			if got := kinds(e.drain(tt.token, nil)); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("my_chat_member when the bot is demoted", func(t *testing.T) {
		e.drain(e.token, nil)
		e.w.PromoteAdmin(c.ID, e.owner.ID, e.bot.ID, world.AdminRights{}, "")
		ups := e.drain(e.token, nil)
		if got := kinds(ups); !slices.Equal(got, []string{"my_chat_member"}) {
			t.Fatalf("got %v", got)
		}
		var cmu struct {
			Old struct{ Status string } `json:"old_chat_member"`
			New struct{ Status string } `json:"new_chat_member"`
		}
		json.Unmarshal(ups[0].MyChatMember, &cmu)
		if cmu.Old.Status != "administrator" || cmu.New.Status != "member" {
			t.Errorf("my_chat_member = %+v", cmu)
		}
	})
}

func TestServer_BanChatMember(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	var l link
	e.mustOK("createChatInviteLink", map[string]any{"chat_id": c.BotAPIID()}).decode(t, &l)
	alice := e.user("Alice")
	if res, _ := e.w.JoinByLink(alice.ID, l.InviteLink); res.Result != "joined" {
		t.Fatalf("join: %+v", res)
	}
	e.mustOK("banChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID, "until_date": e.clock.Now().Add(time.Hour).Unix()})

	t.Run("banned user cannot join by link", func(t *testing.T) {
		res, _ := e.w.JoinByLink(alice.ID, l.InviteLink)
		if res.Result != "refused" || res.Reason != "USER_BANNED_IN_CHANNEL" {
			t.Errorf("got %+v, want refused USER_BANNED_IN_CHANNEL", res)
		}
	})
	t.Run("getChatMember says kicked", func(t *testing.T) {
		var m struct {
			Status    string `json:"status"`
			UntilDate int64  `json:"until_date"`
		}
		e.mustOK("getChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID}).decode(t, &m)
		if m.Status != "kicked" || m.UntilDate != e.clock.Now().Add(time.Hour).Unix() {
			t.Errorf("got %+v", m)
		}
	})
	t.Run("the ban lapses on the clock", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		if res, _ := e.w.JoinByLink(alice.ID, l.InviteLink); res.Result != "joined" {
			t.Errorf("after the ban: %+v", res)
		}
	})
	t.Run("cannot ban the owner", func(t *testing.T) {
		r := e.call("banChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": e.owner.ID})
		if r.Description != "Bad Request: can't remove chat owner" {
			t.Errorf("got %s", r)
		}
	})
	t.Run("unban without only_if_banned kicks a member", func(t *testing.T) {
		e.mustOK("unbanChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID})
		if st := e.w.Member(c.ID, alice.ID).Status; st != world.StatusLeft {
			t.Errorf("status %s, want left", st)
		}
	})
	t.Run("unban with only_if_banned leaves members alone", func(t *testing.T) {
		e.w.JoinByLink(alice.ID, l.InviteLink)
		e.mustOK("unbanChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID, "only_if_banned": true})
		if st := e.w.Member(c.ID, alice.ID).Status; st != world.StatusMember {
			t.Errorf("status %s, want member", st)
		}
	})
}

func TestServer_MemberLimit(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	var l link
	e.mustOK("createChatInviteLink", map[string]any{"chat_id": c.BotAPIID(), "member_limit": 1}).decode(t, &l)
	alice, bob := e.user("Alice"), e.user("Bob")
	steps := []struct {
		name   string
		do     func() (world.JoinResult, error)
		result string
	}{
		{"first person joins", func() (world.JoinResult, error) { return e.w.JoinByLink(alice.ID, l.InviteLink) }, "joined"},
		{"second person refused", func() (world.JoinResult, error) { return e.w.JoinByLink(bob.ID, l.InviteLink) }, "refused"},
		{"slot frees when the first leaves", func() (world.JoinResult, error) {
			if err := e.w.Leave(c.ID, alice.ID); err != nil {
				return world.JoinResult{}, err
			}
			return e.w.JoinByLink(bob.ID, l.InviteLink)
		}, "joined"},
		{"revoked link refused", func() (world.JoinResult, error) {
			e.mustOK("revokeChatInviteLink", map[string]any{"chat_id": c.BotAPIID(), "invite_link": l.InviteLink})
			return e.w.JoinByLink(alice.ID, l.InviteLink)
		}, "refused"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			res, err := s.do()
			if err != nil || res.Result != s.result {
				t.Errorf("got %+v, %v; want %s", res, err, s.result)
			}
		})
	}
}
