package world_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/sandbox/world"
)

// started creates a person who has started the bot.
func started(t *testing.T, w *world.World, botID int64, name string) world.User {
	t.Helper()
	u := mustUser(t, w, world.UserSpec{FirstName: name})
	if _, err := w.SendMessage(u.ID, botID, "/start", world.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	return u
}

func mustBot(t *testing.T, w *world.World, username string) world.User {
	t.Helper()
	b, _, err := w.CreateBot(username, "")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWorld_SendMessage_Pacing(t *testing.T) {
	tests := []struct {
		name   string
		limits world.Limits
		group  bool
		// sends is how many messages go out at once before a 429.
		sends int
		// retry is the 429's retry_after in seconds.
		retry int
	}{
		{name: "private chat: a burst of 3, then 1/s", sends: 3, retry: 1},
		{name: "private chat, burst 5", limits: world.Limits{PerChatBurst: 5}, sends: 5, retry: 1},
		{name: "private chat, strict window", limits: world.Limits{StrictPacing: true}, sends: 1, retry: 1},
		{name: "group: 20 in any minute, at once", group: true, limits: world.Limits{PerChatBurst: 100, PerChatMsgPerSec: 100}, sends: 20, retry: 60},
		{name: "group, strict window of 20 a minute", group: true, limits: world.Limits{StrictPacing: true, PerChatMsgPerSec: 100}, sends: 20, retry: 60},
		{name: "overall: a burst of 30", limits: world.Limits{PerChatBurst: 100, PerChatMsgPerSec: 100}, sends: 30, retry: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, clk := newWorld(t, tt.limits)
			bot := mustBot(t, w, "pacer_bot")
			to := started(t, w, bot.ID, "Alice").ID
			if tt.group {
				owner := mustUser(t, w, world.UserSpec{FirstName: "Owner"})
				c := mustGroup(t, w, owner.ID)
				if err := w.PromoteAdmin(c.ID, owner.ID, bot.ID, world.AdminRights{CanInviteUsers: true}, ""); err != nil {
					t.Fatal(err)
				}
				to = c.BotAPIID()
			}
			for i := range tt.sends {
				if _, err := w.SendMessage(bot.ID, to, "hi", world.SendOptions{}); err != nil {
					t.Fatalf("message %d: %v", i+1, err)
				}
			}
			_, err := w.SendMessage(bot.ID, to, "one too many", world.SendOptions{})
			var we *world.Error
			if !errors.As(err, &we) || we.Code != 429 || we.RetryAfterSeconds() != tt.retry {
				t.Fatalf("message %d: %v, want a 429 with retry_after %d", tt.sends+1, err, tt.retry)
			}
			clk.Advance(time.Duration(tt.retry) * time.Second)
			if _, err := w.SendMessage(bot.ID, to, "after waiting", world.SendOptions{}); err != nil {
				t.Errorf("after waiting retry_after: %v", err)
			}
		})
	}
}

// TestWorld_SendMessage_PacingSustained: past the burst, a bucket admits
// exactly its rate.
func TestWorld_SendMessage_PacingSustained(t *testing.T) {
	w, clk := newWorld(t, world.Limits{})
	bot := mustBot(t, w, "pacer_bot")
	alice := started(t, w, bot.ID, "Alice")
	sent := 0
	for range 60 { // one attempt every 250 ms for 15 s
		if _, err := w.SendMessage(bot.ID, alice.ID, "tick", world.SendOptions{}); err == nil {
			sent++
		}
		clk.Advance(250 * time.Millisecond)
	}
	// 3 at once, then one a second for the 15 s (the last attempt is at 14.75 s).
	if want := 3 + 14; sent != want {
		t.Errorf("%d messages in 15 s, want %d", sent, want)
	}
}

// TestWorld_SendMessage_GroupWindow: Telegram's "20 messages a minute to
// one group" is a sliding minute: twenty sent a second apart all go (a
// bucket of 3 refilled every 3 s refused the fifth), the twenty-first waits
// until the first is a minute old, and waiting that is enough.
func TestWorld_SendMessage_GroupWindow(t *testing.T) {
	w, clk := newWorld(t, world.Limits{})
	bot := mustBot(t, w, "pacer_bot")
	owner := mustUser(t, w, world.UserSpec{FirstName: "Owner"})
	c := mustGroup(t, w, owner.ID)
	if err := w.PromoteAdmin(c.ID, owner.ID, bot.ID, world.AdminRights{CanInviteUsers: true}, ""); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := w.SendMessage(bot.ID, c.BotAPIID(), "tick", world.SendOptions{}); err != nil {
			t.Fatalf("message %d, %d s in: %v", i+1, i, err)
		}
		clk.Advance(time.Second)
	}
	// 20 s in: the first message is 20 s old, 40 s to go.
	_, err := w.SendMessage(bot.ID, c.BotAPIID(), "one too many", world.SendOptions{})
	var we *world.Error
	if !errors.As(err, &we) || we.Code != 429 || we.RetryAfterSeconds() != 40 {
		t.Fatalf("message 21: %v, want a 429 with retry_after 40", err)
	}
	clk.Advance(40 * time.Second)
	if _, err := w.SendMessage(bot.ID, c.BotAPIID(), "after waiting", world.SendOptions{}); err != nil {
		t.Errorf("after waiting retry_after: %v", err)
	}
}

func TestWorld_SetMemberTag(t *testing.T) {
	w, _ := newWorld(t, world.Limits{})
	owner := mustUser(t, w, world.UserSpec{FirstName: "Owner"})
	c := mustGroup(t, w, owner.ID)
	tagger, plain := mustBot(t, w, "tagger_bot"), mustBot(t, w, "plain_bot")
	if err := w.PromoteAdmin(c.ID, owner.ID, tagger.ID, world.AdminRights{CanManageTags: true}, ""); err != nil {
		t.Fatal(err)
	}
	if err := w.PromoteAdmin(c.ID, owner.ID, plain.ID, world.AdminRights{CanInviteUsers: true}, ""); err != nil {
		t.Fatal(err)
	}
	alice, stranger := mustUser(t, w, world.UserSpec{FirstName: "Alice"}), mustUser(t, w, world.UserSpec{FirstName: "Stranger"})
	if _, _, err := w.AddMembers(c.ID, owner.ID, []int64{alice.ID}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		actor  int64
		target int64
		tag    string
		want   error
	}{
		{"a member, 16 characters", tagger.ID, alice.ID, "Gold Мастер 1234", nil},
		{"17 characters", tagger.ID, alice.ID, strings.Repeat("x", 17), world.ErrTagInvalid},
		{"an emoji", tagger.ID, alice.ID, "gold ⭐", world.ErrTagEmojiNotAllowed},
		{"a flag", tagger.ID, alice.ID, "🇩🇪", world.ErrTagEmojiNotAllowed},
		{"without can_manage_tags", plain.ID, alice.ID, "x", world.ErrChatAdminRequired},
		{"an administrator", tagger.ID, plain.ID, "x", world.ErrChatCreatorRequired},
		{"the creator", tagger.ID, owner.ID, "x", world.ErrChatCreatorRequired},
		{"not in the chat", tagger.ID, stranger.ID, "x", world.ErrUserNotParticipant},
		{"the creator may", owner.ID, alice.ID, "Silver", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := w.SetMemberTag(c.ID, tt.actor, tt.target, tt.tag)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got := w.Member(c.ID, alice.ID).Tag; tt.want == nil && got != tt.tag {
				t.Errorf("tag = %q, want %q", got, tt.tag)
			}
		})
	}
	t.Run("leaving drops the tag", func(t *testing.T) {
		if err := w.Leave(c.ID, alice.ID); err != nil {
			t.Fatal(err)
		}
		if err := w.SetMemberTag(c.ID, owner.ID, alice.ID, "Old"); !errors.Is(err, world.ErrUserNotParticipant) {
			t.Errorf("tagging someone who left: %v", err)
		}
		if _, err := w.JoinByLink(alice.ID, mustLink(t, w, c.ID, owner.ID)); err != nil {
			t.Fatal(err)
		}
		if got := w.Member(c.ID, alice.ID).Tag; got != "" {
			t.Errorf("tag = %q after leaving", got)
		}
	})
}

func TestWorld_PressButton(t *testing.T) {
	w, clk := newWorld(t, world.Limits{})
	bot := mustBot(t, w, "menu_bot")
	alice := started(t, w, bot.ID, "Alice")
	bob := started(t, w, bot.ID, "Bob")
	m, err := w.SendMessage(bot.ID, alice.ID, "Pick one", world.SendOptions{ReplyMarkup: `{"inline_keyboard":[[{"text":"Yes","callback_data":"yes"},{"text":"Site","url":"https://example.org"}]]}`})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var queried []world.CallbackQuery
	w.Subscribe(func(ev world.Event) {
		if e, ok := ev.(world.CallbackQueried); ok {
			mu.Lock()
			queried = append(queried, e.Query)
			mu.Unlock()
		}
	})
	tests := []struct {
		name    string
		user    int64
		chat    int64
		message int
		data    string
		want    error
	}{
		{"the button", alice.ID, bot.ID, m.ID, "yes", nil},
		{"data no button holds", alice.ID, bot.ID, m.ID, "no", world.ErrDataInvalid},
		{"a url button has no data", alice.ID, bot.ID, m.ID, "", world.ErrDataInvalid},
		{"someone else's chat", bob.ID, bot.ID, m.ID, "yes", world.ErrMessageIDInvalid},
		{"no such message", alice.ID, bot.ID, m.ID + 5, "yes", world.ErrMessageIDInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.PressButton(tt.user, tt.chat, tt.message, tt.data)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	mu.Lock()
	if len(queried) != 1 || queried[0].Data != "yes" || queried[0].FromID != alice.ID || queried[0].BotID != bot.ID || queried[0].Message.ID != m.ID {
		t.Fatalf("callback queries = %+v", queried)
	}
	q := queried[0]
	mu.Unlock()

	t.Run("another bot cannot answer", func(t *testing.T) {
		other := mustBot(t, w, "other_bot")
		if err := w.AnswerCallbackQuery(other.ID, q.ID, world.CallbackAnswer{}); !errors.Is(err, world.ErrQueryIDInvalid) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("answered once", func(t *testing.T) {
		if err := w.AnswerCallbackQuery(bot.ID, q.ID, world.CallbackAnswer{Text: "Done"}); err != nil {
			t.Fatal(err)
		}
		if a, ok := w.CallbackAnswer(q.ID); !ok || a.Text != "Done" {
			t.Errorf("answer = %+v, %v", a, ok)
		}
		if err := w.AnswerCallbackQuery(bot.ID, q.ID, world.CallbackAnswer{}); !errors.Is(err, world.ErrQueryIDInvalid) {
			t.Errorf("second answer: %v", err)
		}
	})
	t.Run("too late", func(t *testing.T) {
		late, err := w.PressButton(alice.ID, bot.ID, m.ID, "yes")
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(w.Limits().CallbackQueryTTL + time.Second)
		if err := w.AnswerCallbackQuery(bot.ID, late.ID, world.CallbackAnswer{}); !errors.Is(err, world.ErrQueryIDInvalid) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestWorld_EditMessage(t *testing.T) {
	w, _ := newWorld(t, world.Limits{PerChatBurst: 10})
	bot := mustBot(t, w, "editor_bot")
	alice := started(t, w, bot.ID, "Alice")
	inline := `{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}`
	send := func(text string, opts world.SendOptions) world.Message {
		t.Helper()
		m, err := w.SendMessage(bot.ID, alice.ID, text, opts)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := send("first", world.SendOptions{ReplyMarkup: inline})
	kb := send("share", world.SendOptions{ReplyMarkup: `{"keyboard":[[{"text":"Phone","request_contact":true}]]}`})
	contact := send("", world.SendOptions{Contact: &world.Contact{PhoneNumber: "+15550100", FirstName: "Owner"}})
	text := func(s string) *string { return &s }
	tests := []struct {
		name  string
		id    int
		actor int64
		edit  world.MessageEdit
		want  error
	}{
		{"new text", m.ID, bot.ID, world.MessageEdit{Text: text("second")}, nil},
		{"same text and keyboard", m.ID, bot.ID, world.MessageEdit{Text: text("second")}, world.ErrMessageNotChanged},
		{"same keyboard, spaced differently", m.ID, bot.ID, world.MessageEdit{ReplyMarkup: text(`{ "inline_keyboard": [[{"callback_data":"a","text":"A"}]] }`)}, world.ErrMessageNotChanged},
		{"new keyboard", m.ID, bot.ID, world.MessageEdit{ReplyMarkup: text(`{"inline_keyboard":[[{"text":"B","callback_data":"b"}]]}`)}, nil},
		{"keyboard removed", m.ID, bot.ID, world.MessageEdit{ReplyMarkup: text("")}, nil},
		{"a message with a reply keyboard", kb.ID, bot.ID, world.MessageEdit{Text: text("x")}, world.ErrMessageCantEdit},
		{"a contact", contact.ID, bot.ID, world.MessageEdit{Text: text("x")}, world.ErrMessageNoText},
		{"not found", 999, bot.ID, world.MessageEdit{Text: text("x")}, world.ErrMessageToEdit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.EditMessage(tt.actor, alice.ID, tt.id, tt.edit)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("someone else's message", func(t *testing.T) {
		start := w.Messages(bot.ID)[0]
		if _, err := w.EditMessage(bot.ID, alice.ID, start.ID, world.MessageEdit{Text: text("x")}); !errors.Is(err, world.ErrMessageCantEdit) {
			t.Errorf("err = %v", err)
		}
	})
	got := w.Messages(alice.ID)[0]
	if got.Text != "second" || got.ReplyMarkup != "" || got.EditDate.IsZero() {
		t.Errorf("edited message = %+v", got)
	}
}

func TestWorld_ShareChat(t *testing.T) {
	w, _ := newWorld(t, world.Limits{})
	bot := mustBot(t, w, "setup_bot")
	owner := started(t, w, bot.ID, "Owner")
	admin := started(t, w, bot.ID, "Admin")
	member := started(t, w, bot.ID, "Member")
	c := mustGroup(t, w, owner.ID)
	other := mustGroup(t, w, admin.ID)
	if _, _, err := w.AddMembers(c.ID, owner.ID, []int64{admin.ID, member.ID}); err != nil {
		t.Fatal(err)
	}
	if err := w.PromoteAdmin(c.ID, owner.ID, admin.ID, world.AdminRights{CanInviteUsers: true}, ""); err != nil {
		t.Fatal(err)
	}
	keyboard := `{"keyboard":[[{"text":"Pick a group","request_chat":{"request_id":7,"chat_is_channel":false,"request_title":true,` +
		`"user_administrator_rights":{"can_invite_users":true},"bot_administrator_rights":{"can_invite_users":true,"can_restrict_members":true},"bot_is_member":true}}]]}`
	for _, u := range []world.User{owner, admin, member} {
		if _, err := w.SendMessage(bot.ID, u.ID, "Which group?", world.SendOptions{ReplyMarkup: keyboard}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		user      int64
		requestID int32
		chat      int64
		want      error
	}{
		{"no such button", owner.ID, 8, c.ID, world.ErrNoSuchButton},
		{"a plain member", member.ID, 7, c.ID, world.BadRequest("PEER_ID_INVALID", "")},
		{"an admin who cannot promote", admin.ID, 7, c.ID, world.ErrNotEnoughRights},
		{"the creator", owner.ID, 7, c.ID, nil},
		{"the creator again: the bot already has the rights", owner.ID, 7, c.ID, nil},
		{"a chat of someone else's they are not in", owner.ID, 7, other.ID, world.BadRequest("PEER_ID_INVALID", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := w.ShareChat(tt.user, bot.ID, tt.requestID, tt.chat)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if m.ChatShared == nil || m.ChatShared.RequestID != 7 || m.ChatShared.ChatID != c.BotAPIID() || m.ChatShared.Title != c.Title || m.ToID != bot.ID {
				t.Errorf("message = %+v (shared %+v)", m, m.ChatShared)
			}
		})
	}
	b := w.Member(c.ID, bot.ID)
	if b.Status != world.StatusAdministrator || !b.Rights.CanInviteUsers || !b.Rights.CanRestrictMembers || !b.Rights.CanManageChat {
		t.Errorf("bot = %s %+v", b.Status, b.Rights)
	}
	t.Run("a removed keyboard has no buttons", func(t *testing.T) {
		if _, err := w.SendMessage(bot.ID, owner.ID, "Thanks", world.SendOptions{ReplyMarkup: `{"remove_keyboard":true}`}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.ShareChat(owner.ID, bot.ID, 7, c.ID); !errors.Is(err, world.ErrNoSuchButton) {
			t.Errorf("err = %v", err)
		}
	})
}

// joinEvents records the join requests the world announces.
type joinEvents struct {
	mu   sync.Mutex
	list []world.JoinRequested
}

func (j *joinEvents) on(ev world.Event) {
	if e, ok := ev.(world.JoinRequested); ok {
		j.mu.Lock()
		j.list = append(j.list, e)
		j.mu.Unlock()
	}
}

func (j *joinEvents) take() []world.JoinRequested {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := j.list
	j.list = nil
	return out
}

func TestWorld_JoinRequestQuery(t *testing.T) {
	w, clk := newWorld(t, world.Limits{})
	owner := mustUser(t, w, world.UserSpec{FirstName: "Owner"})
	c := mustGroup(t, w, owner.ID)
	guard, helper := mustBot(t, w, "guard_bot"), mustBot(t, w, "helper_bot")
	for _, b := range []int64{guard.ID, helper.ID} {
		if err := w.PromoteAdmin(c.ID, owner.ID, b, world.AdminRights{CanInviteUsers: true}, ""); err != nil {
			t.Fatal(err)
		}
	}
	memberBot := mustBot(t, w, "member_bot")
	if _, _, err := w.AddMembers(c.ID, owner.ID, []int64{memberBot.ID}); err != nil {
		t.Fatal(err)
	}
	t.Run("who may set the guard bot", func(t *testing.T) {
		for _, tc := range []struct {
			actor, bot int64
			want       error
		}{
			{helper.ID, guard.ID, world.ErrChatCreatorRequired},
			{owner.ID, memberBot.ID, world.ErrGuardBotInvalid},
			{owner.ID, owner.ID, world.ErrGuardBotInvalid},
			{owner.ID, guard.ID, nil},
		} {
			if err := w.SetGuardBot(c.ID, tc.actor, tc.bot); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("SetGuardBot(actor %d, bot %d) = %v, want %v", tc.actor, tc.bot, err, tc.want)
			}
		}
		if g, ok := w.GuardBot(c.ID); !ok || g.ID != guard.ID {
			t.Errorf("GuardBot = %+v, %v", g, ok)
		}
	})
	l, err := w.CreateInviteLink(c.ID, owner.ID, world.InviteLinkSpec{CreatesJoinRequest: true})
	if err != nil {
		t.Fatal(err)
	}
	var ev joinEvents
	w.Subscribe(ev.on)
	ask := func(t *testing.T, name string) (world.User, world.JoinRequested) {
		t.Helper()
		u := mustUser(t, w, world.UserSpec{FirstName: name})
		if res, err := w.JoinByLink(u.ID, l.Link); err != nil || res.Result != "requested" {
			t.Fatalf("join: %+v %v", res, err)
		}
		got := ev.take()
		if len(got) != 1 || got[0].QueryID == "" || got[0].GuardBotID != guard.ID {
			t.Fatalf("events = %+v, want one query for the guard bot", got)
		}
		return u, got[0]
	}
	tests := []struct {
		name    string
		result  string
		advance time.Duration
		err     error
		status  world.Status
		pending bool
		queued  bool // the admins' bots are told
	}{
		{name: "approve", result: "approve", status: world.StatusMember},
		{name: "decline", result: "decline", status: world.StatusLeft},
		{name: "queue", result: "queue", status: world.StatusLeft, pending: true, queued: true},
		{name: "after the deadline", result: "approve", advance: 10 * time.Second, err: world.ErrQueryIDInvalid, status: world.StatusLeft, pending: true, queued: true},
		{name: "bad result", result: "maybe", err: world.ErrJoinQueryResult, status: world.StatusLeft, pending: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, q := ask(t, tt.name)
			clk.Advance(tt.advance)
			err := w.AnswerJoinRequestQuery(guard.ID, q.QueryID, tt.result)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("answer: %v, want %v", err, tt.err)
			}
			if st := w.Member(c.ID, u.ID).Status; st != tt.status {
				t.Errorf("status %s, want %s", st, tt.status)
			}
			pending := false
			for _, r := range w.JoinRequests(c.ID) {
				pending = pending || r.UserID == u.ID
			}
			if pending != tt.pending {
				t.Errorf("pending = %v, want %v", pending, tt.pending)
			}
			got := ev.take()
			queued := len(got) == 1 && got[0].QueryID == "" && got[0].GuardBotID == guard.ID && got[0].UserID == u.ID
			if queued != tt.queued || (!tt.queued && len(got) != 0) {
				t.Errorf("events after the answer = %+v, want queued=%v", got, tt.queued)
			}
			if tt.pending {
				if err := w.DeclineJoinRequest(c.ID, helper.ID, u.ID); err != nil {
					t.Errorf("an admin declines the queued request: %v", err)
				}
			}
		})
	}
	t.Run("a query answers once", func(t *testing.T) {
		_, q := ask(t, "Twice")
		if err := w.AnswerJoinRequestQuery(guard.ID, q.QueryID, "decline"); err != nil {
			t.Fatal(err)
		}
		if err := w.AnswerJoinRequestQuery(guard.ID, q.QueryID, "approve"); !errors.Is(err, world.ErrQueryIDInvalid) {
			t.Errorf("second answer: %v", err)
		}
	})
	t.Run("only the guard bot answers", func(t *testing.T) {
		u, q := ask(t, "Foreign")
		if err := w.AnswerJoinRequestQuery(helper.ID, q.QueryID, "approve"); !errors.Is(err, world.ErrQueryIDInvalid) {
			t.Errorf("helper's answer: %v", err)
		}
		if err := w.ApproveJoinRequest(c.ID, helper.ID, u.ID); err != nil {
			t.Fatalf("an admin approves meanwhile: %v", err)
		}
		if err := w.AnswerJoinRequestQuery(guard.ID, q.QueryID, "decline"); !errors.Is(err, world.ErrQueryIDInvalid) {
			t.Errorf("answer after the request was settled: %v", err)
		}
		ev.take()
	})
	t.Run("the clock passing the deadline queues the request", func(t *testing.T) {
		u, _ := ask(t, "Slow")
		clk.Advance(11 * time.Second)
		w.ExpireJoinRequestQueries()
		if got := ev.take(); len(got) != 1 || got[0].QueryID != "" || got[0].UserID != u.ID {
			t.Errorf("events = %+v, want the request queued", got)
		}
	})
	t.Run("without a guard bot nothing changes", func(t *testing.T) {
		if err := w.SetGuardBot(c.ID, owner.ID, 0); err != nil {
			t.Fatal(err)
		}
		u := mustUser(t, w, world.UserSpec{FirstName: "Plain"})
		if _, err := w.JoinByLink(u.ID, l.Link); err != nil {
			t.Fatal(err)
		}
		if got := ev.take(); len(got) != 1 || got[0].QueryID != "" || got[0].GuardBotID != 0 {
			t.Errorf("events = %+v, want a plain join request", got)
		}
	})
}

// TestWorld_JoinRequestQuery_RealTime: the query also ends after
// Limits.JoinRequestQueryTTL of real time, the world's clock standing still.
func TestWorld_JoinRequestQuery_RealTime(t *testing.T) {
	w, _ := newWorld(t, world.Limits{JoinRequestQueryTTL: 20 * time.Millisecond})
	owner := mustUser(t, w, world.UserSpec{FirstName: "Owner"})
	c := mustGroup(t, w, owner.ID)
	guard := mustBot(t, w, "guard_bot")
	if err := w.PromoteAdmin(c.ID, owner.ID, guard.ID, world.AdminRights{CanInviteUsers: true}, ""); err != nil {
		t.Fatal(err)
	}
	if err := w.SetGuardBot(c.ID, owner.ID, guard.ID); err != nil {
		t.Fatal(err)
	}
	l, err := w.CreateInviteLink(c.ID, owner.ID, world.InviteLinkSpec{CreatesJoinRequest: true})
	if err != nil {
		t.Fatal(err)
	}
	queued := make(chan world.JoinRequested, 2)
	var query string
	w.Subscribe(func(ev world.Event) {
		if e, ok := ev.(world.JoinRequested); ok {
			if e.QueryID != "" {
				query = e.QueryID
				return
			}
			queued <- e
		}
	})
	u := mustUser(t, w, world.UserSpec{FirstName: "U"})
	if _, err := w.JoinByLink(u.ID, l.Link); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-queued:
		if e.UserID != u.ID {
			t.Errorf("queued %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the query did not end in real time")
	}
	if err := w.AnswerJoinRequestQuery(guard.ID, query, "approve"); !errors.Is(err, world.ErrQueryIDInvalid) {
		t.Errorf("late answer: %v", err)
	}
}

func TestWorld_CreateSupergroup_DailyQuota(t *testing.T) {
	w, clk := newWorld(t, world.Limits{SupergroupsPerDay: 3})
	u := mustUser(t, w, world.UserSpec{FirstName: "Maker"})
	for i := range 3 {
		if _, err := w.CreateSupergroup(u.ID, "G", ""); err != nil {
			t.Fatalf("group %d: %v", i+1, err)
		}
		clk.Advance(time.Hour)
	}
	_, err := w.CreateSupergroup(u.ID, "G", "")
	var we *world.Error
	// The first creation was 3 hours ago: it leaves the window in 21 hours.
	if !errors.As(err, &we) || we.RPC != "FLOOD_WAIT" || we.RetryAfter != 21*time.Hour {
		t.Fatalf("fourth group: %v, want FLOOD_WAIT of 21h", err)
	}
	if _, err := w.CreateSupergroup(mustUser(t, w, world.UserSpec{FirstName: "Other"}).ID, "G", ""); err != nil {
		t.Errorf("another account: %v", err)
	}
	clk.Advance(21 * time.Hour)
	if _, err := w.CreateSupergroup(u.ID, "G", ""); err != nil {
		t.Errorf("once the oldest left the window: %v", err)
	}
}

func mustLink(t *testing.T, w *world.World, channelID, creatorID int64) string {
	t.Helper()
	l, err := w.CreateInviteLink(channelID, creatorID, world.InviteLinkSpec{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Link
}
