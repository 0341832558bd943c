package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// startBot runs the default bot with go-telegram/bot, unmodified, long
// polling for every update type the sandbox sends.
func startBot(t *testing.T, sb *sandbox.Sandbox) (*bot.Bot, *updates) {
	t.Helper()
	got := newUpdates()
	b, err := bot.New(sb.BotToken(), bot.WithServerURL(sb.BotAPIURL()), bot.WithDefaultHandler(got.handler),
		bot.WithAllowedUpdates(bot.AllowedUpdates{"message", "callback_query", "my_chat_member", "chat_member", "chat_join_request"}),
		bot.WithErrorsHandler(func(err error) { t.Logf("bot error: %v", err) }), bot.WithNotAsyncHandlers(),
		bot.WithHTTPClient(5*time.Second, &http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatalf("bot.New: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.Start(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return b, got
}

// rawCall calls a Bot API method the library lacks (Bot API 9.5+).
func rawCall(t *testing.T, sb *sandbox.Sandbox, method string, params map[string]any) (bool, string) {
	t.Helper()
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(sb.BotAPIURL()+"/bot"+sb.BotToken()+"/"+method, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return r.OK, r.Description
}

// TestSandbox_Press: a person presses an inline button through the control
// API; the go-telegram/bot bot gets the callback_query and answers it, and
// the answer is what the person sees.
func TestSandbox_Press(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 21, NoMTProto: true})
	b, got := startBot(t, sb)
	ctx := t.Context()
	alice := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Alice"})
	if _, err := sb.StartBot(alice.ID, ""); err != nil {
		t.Fatal(err)
	}
	got.next(t)
	m, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "Unlink your account?",
		ReplyMarkup: &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "Unlink", CallbackData: "unlink:yes"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var inbox []struct {
		ReplyMarkup struct {
			InlineKeyboard [][]struct {
				CallbackData string `json:"callback_data"`
			} `json:"inline_keyboard"`
		} `json:"reply_markup"`
	}
	if status := control(t, sb, "GET", "/sandbox/users/"+itoa(alice.ID)+"/messages", nil, &inbox); status != 200 {
		t.Fatalf("messages: %d", status)
	}
	if len(inbox) != 1 || inbox[0].ReplyMarkup.InlineKeyboard[0][0].CallbackData != "unlink:yes" {
		t.Fatalf("inbox = %+v", inbox)
	}

	tests := []struct {
		name   string
		body   map[string]any
		status int
		rpc    string
	}{
		{"data no button holds", map[string]any{"message_id": m.ID, "data": "unlink:all"}, 400, "DATA_INVALID"},
		{"no message_id", map[string]any{"data": "unlink:yes"}, 400, ""},
		{"no such message", map[string]any{"message_id": m.ID + 10, "data": "unlink:yes"}, 400, "MESSAGE_ID_INVALID"},
		{"the button", map[string]any{"message_id": m.ID, "data": "unlink:yes"}, 200, ""},
	}
	var pressed struct {
		CallbackQueryID string `json:"callback_query_id"`
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out map[string]any
			status := control(t, sb, "POST", "/sandbox/users/"+itoa(alice.ID)+"/press", tt.body, &out)
			if status != tt.status || (tt.rpc != "" && out["rpc"] != tt.rpc) {
				t.Fatalf("press: %d %v, want %d %s", status, out, tt.status, tt.rpc)
			}
			if status == 200 {
				pressed.CallbackQueryID, _ = out["callback_query_id"].(string)
			}
		})
	}
	up := got.next(t)
	if up.CallbackQuery == nil || up.CallbackQuery.ID != pressed.CallbackQueryID || up.CallbackQuery.Data != "unlink:yes" || up.CallbackQuery.From.ID != alice.ID {
		t.Fatalf("update = %+v, want the callback_query", up)
	}
	if status := control(t, sb, "GET", "/sandbox/callbacks/"+pressed.CallbackQueryID, nil, nil); status != 404 {
		t.Errorf("answer before the bot answered: %d", status)
	}
	if _, err := b.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: up.CallbackQuery.ID, Text: "Unlinked", ShowAlert: true}); err != nil {
		t.Fatal(err)
	}
	var a world.CallbackAnswer
	if status := control(t, sb, "GET", "/sandbox/callbacks/"+pressed.CallbackQueryID, nil, &a); status != 200 || a.Text != "Unlinked" || !a.ShowAlert {
		t.Errorf("answer: %d %+v", status, a)
	}
	if _, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: m.ID, Text: "Unlinked."}); err != nil {
		t.Fatal(err)
	}
	if msgs := sb.Received(alice.ID); len(msgs) != 1 || msgs[0].Text != "Unlinked." || msgs[0].ReplyMarkup != "" {
		t.Errorf("alice sees %+v", msgs)
	}
}

// TestSandbox_RequestContact: a request_contact keyboard answered with the
// contact control call.
func TestSandbox_RequestContact(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 22, NoMTProto: true})
	b, got := startBot(t, sb)
	alice := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Alice", Phone: "+15550123"})
	if _, err := sb.StartBot(alice.ID, ""); err != nil {
		t.Fatal(err)
	}
	got.next(t)
	if _, err := b.SendMessage(t.Context(), &bot.SendMessageParams{ChatID: alice.ID, Text: "Share your phone to check your membership",
		ReplyMarkup: &models.ReplyKeyboardMarkup{OneTimeKeyboard: true, Keyboard: [][]models.KeyboardButton{{{Text: "Share my phone", RequestContact: true}}}}}); err != nil {
		t.Fatal(err)
	}
	if kb := sb.World().ActiveKeyboard(sb.Bot().ID, alice.ID); kb == nil || !kb.Keyboard[0][0].RequestContact {
		t.Fatalf("keyboard = %+v", kb)
	}
	if status := control(t, sb, "POST", "/sandbox/users/"+itoa(alice.ID)+"/contact", nil, nil); status != 200 {
		t.Fatalf("contact: %d", status)
	}
	up := got.next(t)
	if up.Message == nil || up.Message.Contact == nil || up.Message.Contact.UserID != up.Message.From.ID || up.Message.Contact.PhoneNumber != "+15550123" {
		t.Errorf("update = %+v", up.Message)
	}
}

// TestSandbox_ShareChat is /setup's one-tap way: the bot shows a
// request_chat button asking for admin rights, the owner picks the group
// they created, the bot is added with those rights and gets chat_shared.
func TestSandbox_ShareChat(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 23, NoMTProto: true})
	b, got := startBot(t, sb)
	ctx := t.Context()
	var owner, member struct{ ID int64 }
	for _, u := range []struct {
		name string
		out  any
	}{{"Owner", &owner}, {"Member", &member}} {
		if status := control(t, sb, "POST", "/sandbox/users", map[string]any{"first_name": u.name}, u.out); status != 201 {
			t.Fatalf("create %s: %d", u.name, status)
		}
	}
	var chat struct{ ID int64 }
	if status := control(t, sb, "POST", "/sandbox/chats", map[string]any{"title": "Webmasters Pro", "creator": owner.ID}, &chat); status != 201 {
		t.Fatalf("create chat: %d", status)
	}
	ch, ok := sb.World().ChatByBotAPIID(chat.ID)
	if !ok {
		t.Fatalf("no chat %d", chat.ID)
	}
	if _, _, err := sb.World().AddMembers(ch.ID, owner.ID, []int64{member.ID}); err != nil {
		t.Fatal(err)
	}
	keyboard := &models.ReplyKeyboardMarkup{ResizeKeyboard: true, Keyboard: [][]models.KeyboardButton{{{Text: "Pick your group",
		RequestChat: &models.KeyboardButtonRequestChat{RequestID: 42, ChatIsCreated: true, RequestTitle: true, BotIsMember: true,
			BotAdministratorRights: &models.ChatAdministratorRights{CanInviteUsers: true, CanRestrictMembers: true, CanDeleteMessages: true}}}}}}
	for _, u := range []int64{owner.ID, member.ID} {
		if _, err := sb.SendMessage(u, 0, "/setup"); err != nil {
			t.Fatal(err)
		}
		got.next(t)
		if _, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: u, Text: "Which group shall I guard?", ReplyMarkup: keyboard}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		user   int64
		body   map[string]any
		status int
	}{
		{"no such button", owner.ID, map[string]any{"request_id": 7, "chat_id": chat.ID}, 400},
		{"a chat the person did not create", member.ID, map[string]any{"request_id": 42, "chat_id": chat.ID}, 400},
		{"no such chat", owner.ID, map[string]any{"request_id": 42, "chat_id": -1009999999999}, 404},
		{"the owner's group", owner.ID, map[string]any{"request_id": 42, "chat_id": chat.ID}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out map[string]any
			if status := control(t, sb, "POST", "/sandbox/users/"+itoa(tt.user)+"/share_chat", tt.body, &out); status != tt.status {
				t.Errorf("share_chat: %d %v, want %d", status, out, tt.status)
			}
		})
	}
	up := got.next(t)
	if up.MyChatMember == nil || up.MyChatMember.Chat.ID != chat.ID || up.MyChatMember.NewChatMember.Administrator == nil ||
		!up.MyChatMember.NewChatMember.Administrator.CanRestrictMembers {
		t.Fatalf("first update = %+v, want my_chat_member making the bot an admin", up)
	}
	up = got.next(t)
	if up.Message == nil || up.Message.ChatShared == nil || up.Message.ChatShared.RequestID != 42 || up.Message.ChatShared.ChatID != chat.ID ||
		up.Message.ChatShared.Title != "Webmasters Pro" || up.Message.From.ID != owner.ID {
		t.Fatalf("second update = %+v, want chat_shared", up.Message)
	}
	var members []struct {
		User   struct{ ID int64 } `json:"user"`
		Status string             `json:"status"`
		Rights *world.AdminRights `json:"rights"`
	}
	if status := control(t, sb, "GET", "/sandbox/chats/"+itoa(chat.ID)+"/members", nil, &members); status != 200 {
		t.Fatalf("members: %d", status)
	}
	found := false
	for _, m := range members {
		if m.User.ID == sb.Bot().ID {
			found = m.Status == "administrator" && m.Rights != nil && m.Rights.CanInviteUsers && m.Rights.CanDeleteMessages
		}
	}
	if !found {
		t.Errorf("members = %+v, want the bot an admin with the rights asked", members)
	}
}

// TestSandbox_GuardBot: the creator names the bot guard bot through the
// control API; the go-telegram/bot bot answers each join-request query with
// a raw answerChatJoinRequestQuery (the library is Bot API 9.4), and only
// the approved get in. Member tags show in the member list.
func TestSandbox_GuardBot(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 24, NoMTProto: true})
	owner := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Owner"})
	c, err := sb.CreateChat(owner.ID, "Guarded", "")
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if status := control(t, sb, "POST", "/sandbox/chats/"+itoa(c.BotAPIID())+"/guard_bot", map[string]any{}, &out); status != 400 || out["rpc"] != "BOT_INVALID" {
		t.Fatalf("guard bot before it is an admin: %d %v", status, out)
	}
	if err := sb.MakeAdmin(c.BotAPIID(), 0, nil); err != nil {
		t.Fatal(err)
	}
	if status := control(t, sb, "POST", "/sandbox/chats/"+itoa(c.BotAPIID())+"/guard_bot", map[string]any{"user_id": sb.Bot().ID}, &out); status != 200 {
		t.Fatalf("guard bot: %d %v", status, out)
	}

	// The bot: approve people named "Eligible…", decline the rest, at once.
	got := newUpdates()
	queryIDs := map[int64]string{} // user → query id, read from the raw update
	b, err := bot.New(sb.BotToken(), bot.WithServerURL(sb.BotAPIURL()),
		bot.WithAllowedUpdates(bot.AllowedUpdates{"message", "my_chat_member", "chat_member", "chat_join_request"}),
		bot.WithDefaultHandler(got.handler),
		bot.WithErrorsHandler(func(err error) { t.Logf("bot error: %v", err) }), bot.WithNotAsyncHandlers(),
		bot.WithHTTPClient(5*time.Second, &http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	link, err := sb.World().CreateInviteLink(c.ID, owner.ID, world.InviteLinkSpec{CreatesJoinRequest: true})
	if err != nil {
		t.Fatal(err)
	}
	eligible := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Eligible"})
	other := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Other"})
	for _, u := range []world.User{eligible, other} {
		if res, err := sb.Join(u.ID, link.Link); err != nil || res.Result != "requested" {
			t.Fatalf("join: %+v %v", res, err)
		}
	}
	// go-telegram/bot drops query_id; read it raw before the bot polls.
	var ups []struct {
		ChatJoinRequest *struct {
			QueryID string             `json:"query_id"`
			From    struct{ ID int64 } `json:"from"`
		} `json:"chat_join_request"`
	}
	resp, err := http.Get(sb.BotAPIURL() + "/bot" + sb.BotToken() + "/getUpdates")
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := json.Unmarshal(env.Result, &ups); err != nil {
		t.Fatal(err)
	}
	for _, u := range ups {
		if u.ChatJoinRequest != nil {
			queryIDs[u.ChatJoinRequest.From.ID] = u.ChatJoinRequest.QueryID
		}
	}
	if len(queryIDs) != 2 || queryIDs[eligible.ID] == "" {
		t.Fatalf("query ids = %v", queryIDs)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { b.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for answered := 0; answered < 2; {
		up := got.next(t)
		if up.MyChatMember != nil {
			continue // the bot made an admin
		}
		if up.ChatJoinRequest == nil {
			t.Fatalf("update = %+v, want chat_join_request", up)
		}
		answered++
		from := up.ChatJoinRequest.From.ID
		result := "decline"
		if from == eligible.ID {
			result = "approve"
		}
		if ok, desc := rawCall(t, sb, "answerChatJoinRequestQuery", map[string]any{"chat_join_request_query_id": queryIDs[from], "result": result}); !ok {
			t.Fatalf("answer for %d: %s", from, desc)
		}
	}
	up := got.next(t)
	if up.ChatMember == nil || up.ChatMember.NewChatMember.Member == nil || up.ChatMember.NewChatMember.Member.User.ID != eligible.ID || !up.ChatMember.ViaJoinRequest {
		t.Fatalf("update = %+v, want the eligible person's chat_member", up)
	}
	if ok, desc := rawCall(t, sb, "setChatMemberTag", map[string]any{"chat_id": c.BotAPIID(), "user_id": eligible.ID, "tag": "Karma 150"}); !ok {
		t.Fatalf("setChatMemberTag: %s", desc)
	}
	var members []struct {
		User struct{ ID int64 } `json:"user"`
		Tag  string             `json:"tag"`
	}
	if status := control(t, sb, "GET", "/sandbox/chats/"+itoa(c.BotAPIID())+"/members", nil, &members); status != 200 {
		t.Fatalf("members: %d", status)
	}
	tags := map[int64]string{}
	for _, m := range members {
		tags[m.User.ID] = m.Tag
	}
	if len(members) != 3 || tags[eligible.ID] != "Karma 150" {
		t.Errorf("members = %+v", members)
	}
	if st := sb.World().Member(c.ID, other.ID).Status; st != world.StatusLeft {
		t.Errorf("the other person is %s", st)
	}
	if status := control(t, sb, "POST", "/sandbox/chats/"+itoa(c.BotAPIID())+"/guard_bot", map[string]any{"user_id": 0}, &out); status != 200 || out["guard_bot"] != nil {
		t.Errorf("clearing the guard bot: %d %v", status, out)
	}
}
