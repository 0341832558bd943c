package botapi_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/sandbox/world"
)

// client is the unmodified go-telegram/bot client on the env's bot.
func (e *env) client() *bot.Bot {
	e.t.Helper()
	b, err := bot.New(e.token, bot.WithServerURL(e.http.URL), bot.WithSkipGetMe())
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// started creates a person who has started the env's bot.
func (e *env) started(name string) world.User {
	e.t.Helper()
	u := e.user(name)
	if _, err := e.w.SendMessage(u.ID, e.bot.ID, "/start", world.SendOptions{}); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// wantAPIError checks a go-telegram/bot error: kind and Telegram's description.
func wantAPIError(t *testing.T, err, kind error, desc string) {
	t.Helper()
	if err == nil || !errors.Is(err, kind) || !strings.HasSuffix(err.Error(), ", "+desc) {
		t.Errorf("err = %v, want %v with %q", err, kind, desc)
	}
}

// updatesAs drains the bot's updates and decodes them as go-telegram/bot does.
func (e *env) updatesAs(token string) []models.Update {
	e.t.Helper()
	r := e.callAs(token, "getUpdates", nil)
	var ups []models.Update
	r.decode(e.t, &ups)
	if len(ups) > 0 {
		e.callAs(token, "getUpdates", map[string]any{"offset": ups[len(ups)-1].ID + 1})
	}
	return ups
}

func TestServer_GetMe_Fields(t *testing.T) {
	e := newEnv(t)
	me, err := e.client().GetMe(t.Context())
	if err != nil || me.ID != e.bot.ID || !me.CanJoinGroups {
		t.Fatalf("GetMe = %+v, %v", me, err)
	}
	var raw map[string]any
	e.mustOK("getMe", nil).decode(t, &raw)
	want := map[string]any{"can_connect_to_business": false, "has_main_web_app": false, "supports_join_request_queries": true,
		"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false}
	for k, v := range want {
		if raw[k] != v {
			t.Errorf("getMe.%s = %v, want %v", k, raw[k], v)
		}
	}
}

func TestServer_ReplyMarkup(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	alice := e.started("Alice")
	b := e.client()
	ctx := t.Context()

	t.Run("a reply keyboard with request_contact and request_chat", func(t *testing.T) {
		_, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "Link your phone or pick a group",
			ReplyMarkup: &models.ReplyKeyboardMarkup{OneTimeKeyboard: true, Keyboard: [][]models.KeyboardButton{
				{{Text: "Share my phone", RequestContact: true}},
				{{Text: "Pick a group", RequestChat: &models.KeyboardButtonRequestChat{RequestID: 1, ChatIsCreated: true,
					BotAdministratorRights: &models.ChatAdministratorRights{CanInviteUsers: true, CanRestrictMembers: true}, BotIsMember: true}}},
			}}})
		if err != nil {
			t.Fatal(err)
		}
		kb := e.w.ActiveKeyboard(e.bot.ID, alice.ID)
		if kb == nil || !kb.Keyboard[0][0].RequestContact || kb.Keyboard[1][0].RequestChat == nil || kb.Keyboard[1][0].RequestChat.RequestID != 1 ||
			!kb.Keyboard[1][0].RequestChat.BotAdministratorRights.CanRestrictMembers {
			t.Errorf("active keyboard = %+v", kb)
		}
	})
	t.Run("an inline keyboard comes back with the message", func(t *testing.T) {
		e.clock.Advance(time.Second)
		m, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "Pick",
			ReplyMarkup: &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "Yes", CallbackData: "yes"}, {Text: "Site", URL: "https://example.org"}}}}})
		if err != nil {
			t.Fatal(err)
		}
		mk := m.ReplyMarkup
		if mk == nil || len(mk.InlineKeyboard) != 1 || mk.InlineKeyboard[0][0].CallbackData != "yes" || mk.InlineKeyboard[0][1].URL != "https://example.org" {
			t.Errorf("reply_markup = %+v", mk)
		}
	})

	long := strings.Repeat("x", 65)
	tests := []struct {
		name   string
		chat   int64
		markup string
		desc   string
	}{
		{"not JSON", alice.ID, `{nope`, "Bad Request: can't parse reply keyboard markup JSON object"},
		{"not an object", alice.ID, `[1]`, "Bad Request: object expected as reply markup"},
		{"rows that are not arrays", alice.ID, `{"keyboard":[{"text":"a"}]}`, `Bad Request: field "keyboard" must be an Array of Arrays`},
		{"a button without text", alice.ID, `{"keyboard":[[{"request_contact":true}]]}`, `Bad Request: can't parse keyboard button: Can't find field "text"`},
		{"an empty button text", alice.ID, `{"keyboard":[[""]]}`, "Bad Request: keyboard button text must be non-empty"},
		{"request_chat without request_id", alice.ID, `{"keyboard":[[{"text":"g","request_chat":{"chat_is_channel":false}}]]}`, `Bad Request: can't parse keyboard button: Can't find field "request_id"`},
		{"request_contact in a group", c.BotAPIID(), `{"keyboard":[[{"text":"phone","request_contact":true}]]}`, "Bad Request: phone number can be requested in private chats only"},
		{"request_chat in a group", c.BotAPIID(), `{"keyboard":[[{"text":"g","request_chat":{"request_id":1,"chat_is_channel":false}}]]}`, "Bad Request: chats can be requested in private chats only"},
		{"a text button in an inline keyboard", alice.ID, `{"inline_keyboard":[[{"text":"plain"}]]}`, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"},
		{"callback_data over 64 bytes", alice.ID, `{"inline_keyboard":[[{"text":"x","callback_data":"` + long + `"}]]}`, "Bad Request: BUTTON_DATA_INVALID"},
		{"a bad url", alice.ID, `{"inline_keyboard":[[{"text":"x","url":"ftp://x"}]]}`, "Bad Request: BUTTON_URL_INVALID"},
		{"a web app in a group", c.BotAPIID(), `{"inline_keyboard":[[{"text":"x","web_app":{"url":"https://example.org"}}]]}`, "Bad Request: BUTTON_TYPE_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("sendMessage", map[string]any{"chat_id": tt.chat, "text": "x", "reply_markup": tt.markup})
			if r.OK || r.ErrorCode != 400 || r.Description != tt.desc {
				t.Errorf("got %s, want 400 %q", r, tt.desc)
			}
		})
	}
}

func TestServer_CallbackQuery(t *testing.T) {
	e := newEnv(t)
	alice := e.started("Alice")
	b := e.client()
	ctx := t.Context()
	m, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "Bind this chat?",
		ReplyMarkup: &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "Yes", CallbackData: "bind:yes"}, {Text: "No", CallbackData: "bind:no"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.updatesAs(e.token) // alice's /start
	press := func(t *testing.T) *models.CallbackQuery {
		t.Helper()
		if _, err := e.w.PressButton(alice.ID, e.bot.ID, m.ID, "bind:yes"); err != nil {
			t.Fatal(err)
		}
		ups := e.updatesAs(e.token)
		if len(ups) != 1 || ups[0].CallbackQuery == nil {
			t.Fatalf("updates = %+v, want one callback_query", ups)
		}
		return ups[0].CallbackQuery
	}

	t.Run("the bot gets what the button holds", func(t *testing.T) {
		q := press(t)
		if q.Data != "bind:yes" || q.From.ID != alice.ID || q.ChatInstance == "" || q.Message.Message == nil || q.Message.Message.ID != m.ID {
			t.Errorf("callback_query = %+v", q)
		}
		ok, err := b.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: q.ID, Text: "Bound"})
		if err != nil || !ok {
			t.Fatalf("AnswerCallbackQuery = %v, %v", ok, err)
		}
		if a, ok := e.w.CallbackAnswer(q.ID); !ok || a.Text != "Bound" {
			t.Errorf("the person saw %+v", a)
		}
		_, err = b.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: q.ID})
		wantAPIError(t, err, bot.ErrorBadRequest, "Bad Request: query is too old and response timeout expired or query ID is invalid")
	})
	t.Run("too late", func(t *testing.T) {
		q := press(t)
		e.clock.Advance(16 * time.Second)
		_, err := b.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: q.ID})
		wantAPIError(t, err, bot.ErrorBadRequest, "Bad Request: query is too old and response timeout expired or query ID is invalid")
	})
	t.Run("a made-up id", func(t *testing.T) {
		_, err := b.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: "12345"})
		wantAPIError(t, err, bot.ErrorBadRequest, "Bad Request: query is too old and response timeout expired or query ID is invalid")
	})
	t.Run("data no button holds is refused", func(t *testing.T) {
		if _, err := e.w.PressButton(alice.ID, e.bot.ID, m.ID, "bind:maybe"); !errors.Is(err, world.ErrDataInvalid) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a message in a group", func(t *testing.T) {
		c := e.group(inviteRights())
		if _, _, err := e.w.AddMembers(c.ID, e.owner.ID, []int64{alice.ID}); err != nil {
			t.Fatal(err)
		}
		gm, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: c.BotAPIID(), Text: "Vote",
			ReplyMarkup: &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "Up", CallbackData: "up"}}}}})
		if err != nil {
			t.Fatal(err)
		}
		e.updatesAs(e.token)
		if _, err := e.w.PressButton(alice.ID, c.BotAPIID(), gm.ID, "up"); err != nil {
			t.Fatal(err)
		}
		ups := e.updatesAs(e.token)
		if len(ups) != 1 || ups[0].CallbackQuery == nil || ups[0].CallbackQuery.Message.Message.Chat.ID != c.BotAPIID() {
			t.Fatalf("updates = %+v", ups)
		}
	})
}

func TestServer_EditMessage(t *testing.T) {
	e := newEnv(t, func(_ *botapiOptions, wo *world.Options) { wo.Limits.PerChatBurst = 20 })
	alice := e.started("Alice")
	b := e.client()
	ctx := t.Context()
	keyboard := func(data string) *models.InlineKeyboardMarkup {
		return &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "Go", CallbackData: data}}}}
	}
	m, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "Step 1", ReplyMarkup: keyboard("1")})
	if err != nil {
		t.Fatal(err)
	}
	replyKB, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "Phone?",
		ReplyMarkup: &models.ReplyKeyboardMarkup{Keyboard: [][]models.KeyboardButton{{{Text: "Share", RequestContact: true}}}}})
	if err != nil {
		t.Fatal(err)
	}
	start := e.w.Messages(e.bot.ID)[0] // alice's /start

	t.Run("new text and keyboard", func(t *testing.T) {
		got, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: m.ID, Text: "Step 2", ReplyMarkup: keyboard("2")})
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != "Step 2" || got.EditDate == 0 {
			t.Errorf("edited = %+v", got)
		}
	})
	t.Run("the same again is not modified", func(t *testing.T) {
		_, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: m.ID, Text: "Step 2", ReplyMarkup: keyboard("2")})
		wantAPIError(t, err, bot.ErrorBadRequest, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	})
	t.Run("only the keyboard", func(t *testing.T) {
		if _, err := b.EditMessageReplyMarkup(ctx, &bot.EditMessageReplyMarkupParams{ChatID: alice.ID, MessageID: m.ID, ReplyMarkup: keyboard("3")}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.w.PressButton(alice.ID, e.bot.ID, m.ID, "3"); err != nil {
			t.Errorf("the new button: %v", err)
		}
		if _, err := e.w.PressButton(alice.ID, e.bot.ID, m.ID, "2"); !errors.Is(err, world.ErrDataInvalid) {
			t.Errorf("the old button: %v", err)
		}
	})
	t.Run("editing the text without reply_markup drops the keyboard", func(t *testing.T) {
		if _, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: m.ID, Text: "Done"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.w.PressButton(alice.ID, e.bot.ID, m.ID, "3"); !errors.Is(err, world.ErrDataInvalid) {
			t.Errorf("the button survived: %v", err)
		}
	})
	tests := []struct {
		name string
		do   func() error
		desc string
	}{
		{"no such message", func() error {
			_, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: 999, Text: "x"})
			return err
		}, "Bad Request: message to edit not found"},
		{"the person's message", func() error {
			_, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: start.ID, Text: "x"})
			return err
		}, "Bad Request: message can't be edited"},
		{"a message with a reply keyboard", func() error {
			_, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: replyKB.ID, Text: "x"})
			return err
		}, "Bad Request: message can't be edited"},
		{"a reply keyboard as the new markup", func() error {
			_, err := b.EditMessageReplyMarkup(ctx, &bot.EditMessageReplyMarkupParams{ChatID: alice.ID, MessageID: m.ID,
				ReplyMarkup: &models.ReplyKeyboardMarkup{Keyboard: [][]models.KeyboardButton{{{Text: "a"}}}}})
			return err
		}, "Bad Request: inline keyboard expected"},
		{"no message identifier", func() error {
			_, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{Text: "x"})
			return err
		}, "Bad Request: message identifier is not specified"},
		{"empty text", func() error {
			_, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: m.ID, Text: " "})
			return err
		}, "Bad Request: message text is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantAPIError(t, tt.do(), bot.ErrorBadRequest, tt.desc)
		})
	}
}

func TestServer_MyCommands(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	alice := e.started("Alice")
	stranger := e.user("Stranger")
	b := e.client()
	ctx := t.Context()
	set := func(t *testing.T, scope models.BotCommandScope, lang string, cmds ...string) {
		t.Helper()
		var list []models.BotCommand
		for _, c := range cmds {
			list = append(list, models.BotCommand{Command: c, Description: "Does " + c})
		}
		if ok, err := b.SetMyCommands(ctx, &bot.SetMyCommandsParams{Commands: list, Scope: scope, LanguageCode: lang}); err != nil || !ok {
			t.Fatalf("SetMyCommands(%T, %q) = %v, %v", scope, lang, ok, err)
		}
	}
	get := func(t *testing.T, scope models.BotCommandScope, lang string) []string {
		t.Helper()
		list, err := b.GetMyCommands(ctx, &bot.GetMyCommandsParams{Scope: scope, LanguageCode: lang})
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, c := range list {
			out = append(out, c.Command)
		}
		return out
	}
	set(t, nil, "", "start", "help")
	set(t, &models.BotCommandScopeAllPrivateChats{}, "", "start", "unlink")
	set(t, &models.BotCommandScopeAllPrivateChats{}, "ru", "start")
	set(t, &models.BotCommandScopeAllChatAdministrators{}, "", "status", "sync")
	set(t, &models.BotCommandScopeChat{ChatID: c.BotAPIID()}, "", "bind")
	set(t, &models.BotCommandScopeChatAdministrators{ChatID: c.BotAPIID()}, "", "unbind")
	set(t, &models.BotCommandScopeChatMember{ChatID: c.BotAPIID(), UserID: e.owner.ID}, "", "rules")
	set(t, &models.BotCommandScopeChat{ChatID: alice.ID}, "", "who")

	stored := []struct {
		name  string
		scope models.BotCommandScope
		lang  string
		want  []string
	}{
		{"default", &models.BotCommandScopeDefault{}, "", []string{"start", "help"}},
		{"no scope is the default", nil, "", []string{"start", "help"}},
		{"private chats", &models.BotCommandScopeAllPrivateChats{}, "", []string{"start", "unlink"}},
		{"private chats in Russian", &models.BotCommandScopeAllPrivateChats{}, "ru", []string{"start"}},
		{"group chats: none set", &models.BotCommandScopeAllGroupChats{}, "", []string{}},
		{"chat administrators", &models.BotCommandScopeAllChatAdministrators{}, "", []string{"status", "sync"}},
		{"one chat", &models.BotCommandScopeChat{ChatID: c.BotAPIID()}, "", []string{"bind"}},
		{"one chat's administrators", &models.BotCommandScopeChatAdministrators{ChatID: c.BotAPIID()}, "", []string{"unbind"}},
		{"one member", &models.BotCommandScopeChatMember{ChatID: c.BotAPIID(), UserID: e.owner.ID}, "", []string{"rules"}},
		{"one private chat", &models.BotCommandScopeChat{ChatID: alice.ID}, "", []string{"who"}},
		{"a language without its own list", &models.BotCommandScopeDefault{}, "de", []string{}},
	}
	for _, tt := range stored {
		t.Run(tt.name, func(t *testing.T) {
			if got := get(t, tt.scope, tt.lang); !slices.Equal(got, tt.want) {
				t.Errorf("commands = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("delete one scope", func(t *testing.T) {
		if _, err := b.DeleteMyCommands(ctx, &bot.DeleteMyCommandsParams{Scope: &models.BotCommandScopeAllChatAdministrators{}}); err != nil {
			t.Fatal(err)
		}
		if got := get(t, &models.BotCommandScopeAllChatAdministrators{}, ""); len(got) != 0 {
			t.Errorf("after delete: %v", got)
		}
		if got := get(t, nil, ""); len(got) != 2 {
			t.Errorf("the default went too: %v", got)
		}
	})

	refused := []struct {
		name   string
		params map[string]any
		desc   string
	}{
		{"a bad language code", map[string]any{"language_code": "rus"}, "Bad Request: invalid language code specified"},
		{"scope not JSON", map[string]any{"scope": "{"}, "Bad Request: can't parse BotCommandScope JSON object"},
		{"scope without a type", map[string]any{"scope": `{}`}, `Bad Request: can't parse BotCommandScope: Can't find field "type"`},
		{"an unknown scope", map[string]any{"scope": `{"type":"everyone"}`}, "Bad Request: can't parse BotCommandScope: Unsupported type specified"},
		{"chat scope without chat_id", map[string]any{"scope": `{"type":"chat"}`}, `Bad Request: can't parse BotCommandScope: Can't find field "chat_id"`},
		{"administrators of a private chat", map[string]any{"scope": `{"type":"chat_administrators","chat_id":` + itoa(alice.ID) + `}`}, "Bad Request: can't use specified scope in private chats"},
		{"a person the bot does not know", map[string]any{"scope": `{"type":"chat","chat_id":` + itoa(stranger.ID) + `}`}, "Bad Request: chat not found"},
		{"a member scope without user_id", map[string]any{"scope": `{"type":"chat_member","chat_id":` + itoa(c.BotAPIID()) + `}`}, `Bad Request: can't parse BotCommandScope: Can't find field "user_id"`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("getMyCommands", tt.params)
			if r.OK || r.ErrorCode != 400 || r.Description != tt.desc {
				t.Errorf("got %s, want 400 %q", r, tt.desc)
			}
		})
	}
	badCommands := []struct {
		name     string
		commands string
		desc     string
	}{
		{"not an array", `{"command":"a"}`, "Bad Request: field \"commands\" must be an Array"},
		{"a leading slash is dropped", `[{"command":"/help","description":"Help"}]`, ""},
		{"no description", `[{"command":"help"}]`, `Bad Request: can't parse BotCommand: Can't find field "description"`},
		{"a blank description", `[{"command":"help","description":"  "}]`, "Bad Request: command description must be non-empty"},
		{"a long description", `[{"command":"help","description":"` + strings.Repeat("d", 257) + `"}]`, "Bad Request: command description length must not exceed 256"},
		{"a long command", `[{"command":"` + strings.Repeat("c", 33) + `","description":"d"}]`, "Bad Request: command length must not exceed 32"},
		{"capitals", `[{"command":"Help","description":"d"}]`, "Bad Request: BOT_COMMAND_INVALID"},
	}
	for _, tt := range badCommands {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("setMyCommands", map[string]any{"commands": json.RawMessage(tt.commands), "scope": `{"type":"all_group_chats"}`})
			if tt.desc == "" {
				if !r.OK {
					t.Fatalf("got %s", r)
				}
				if got := get(t, &models.BotCommandScopeAllGroupChats{}, ""); !slices.Equal(got, []string{"help"}) {
					t.Errorf("stored %v", got)
				}
				return
			}
			if r.OK || r.Description != tt.desc {
				t.Errorf("got %s, want %q", r, tt.desc)
			}
		})
	}
}

func TestServer_GetChatMemberCount(t *testing.T) {
	e := newEnv(t)
	c := e.group(inviteRights())
	b := e.client()
	for i := range 3 {
		u := e.user("Member" + itoa(int64(i)))
		if _, _, err := e.w.AddMembers(c.ID, e.owner.ID, []int64{u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := b.GetChatMemberCount(t.Context(), &bot.GetChatMemberCountParams{ChatID: c.BotAPIID()})
	if err != nil || n != 5 { // owner, bot, three members
		t.Errorf("GetChatMemberCount = %d, %v; want 5", n, err)
	}
	outside, err := e.w.CreateSupergroup(e.owner.ID, "No bot", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.GetChatMemberCount(t.Context(), &bot.GetChatMemberCountParams{ChatID: outside.BotAPIID()})
	wantAPIError(t, err, bot.ErrorForbidden, "Forbidden: bot is not a member of the supergroup chat")
}

func TestServer_SetChatMemberTag(t *testing.T) {
	e := newEnv(t)
	tagRights := inviteRights()
	tagRights.CanManageTags = true
	c := e.group(tagRights)
	noTags := e.group(inviteRights())
	alice, bob, stranger := e.user("Alice"), e.user("Bob"), e.user("Stranger")
	for _, ch := range []world.Chat{c, noTags} {
		if _, _, err := e.w.AddMembers(ch.ID, e.owner.ID, []int64{alice.ID, bob.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.w.PromoteAdmin(c.ID, e.owner.ID, bob.ID, world.AdminRights{CanInviteUsers: true}, ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		params map[string]any
		desc   string
	}{
		{"a member", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID, "tag": "Karma 120"}, ""},
		{"too long", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID, "tag": strings.Repeat("k", 17)}, "Bad Request: TAG_INVALID"},
		{"an emoji", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID, "tag": "🔥 120"}, "Bad Request: TAG_EMOJI_NOT_ALLOWED"},
		{"an administrator", map[string]any{"chat_id": c.BotAPIID(), "user_id": bob.ID, "tag": "x"}, "Bad Request: CHAT_CREATOR_REQUIRED"},
		{"not in the chat", map[string]any{"chat_id": c.BotAPIID(), "user_id": stranger.ID, "tag": "x"}, "Bad Request: USER_NOT_PARTICIPANT"},
		{"without can_manage_tags", map[string]any{"chat_id": noTags.BotAPIID(), "user_id": alice.ID, "tag": "x"}, "Bad Request: CHAT_ADMIN_REQUIRED"},
		{"a private chat", map[string]any{"chat_id": alice.ID, "user_id": alice.ID, "tag": "x"}, "Bad Request: method is available only for groups and supergroups"},
		{"no user_id", map[string]any{"chat_id": c.BotAPIID(), "tag": "x"}, "Bad Request: invalid user_id specified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call("setChatMemberTag", tt.params)
			if tt.desc == "" && !r.OK || tt.desc != "" && (r.OK || r.Description != tt.desc) {
				t.Errorf("got %s, want %q", r, tt.desc)
			}
		})
	}
	var m struct {
		Status string `json:"status"`
		Tag    string `json:"tag"`
	}
	e.mustOK("getChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID}).decode(t, &m)
	if m.Status != "member" || m.Tag != "Karma 120" {
		t.Errorf("getChatMember = %+v", m)
	}
	var admin map[string]any
	e.mustOK("getChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": e.bot.ID}).decode(t, &admin)
	if admin["can_manage_tags"] != true {
		t.Errorf("the bot's rights = %v", admin)
	}
	t.Run("an empty tag clears it", func(t *testing.T) {
		e.mustOK("setChatMemberTag", map[string]any{"chat_id": c.BotAPIID(), "user_id": alice.ID})
		if tag := e.w.Member(c.ID, alice.ID).Tag; tag != "" {
			t.Errorf("tag = %q", tag)
		}
	})
	t.Run("promoteChatMember grants can_manage_tags", func(t *testing.T) {
		rights := inviteRights()
		rights.CanPromoteMembers, rights.CanManageTags = true, true
		if err := e.w.PromoteAdmin(noTags.ID, e.owner.ID, e.bot.ID, rights, ""); err != nil {
			t.Fatal(err)
		}
		e.mustOK("promoteChatMember", map[string]any{"chat_id": noTags.BotAPIID(), "user_id": alice.ID, "can_manage_tags": true})
		if r := e.w.Member(noTags.ID, alice.ID).Rights; !r.CanManageTags || !r.CanManageChat {
			t.Errorf("rights = %+v", r)
		}
	})
}

// guardEnv is a chat whose guard bot is the env's bot, with a second admin
// bot ("helper") and a join-request link.
type guardEnv struct {
	*env
	chat        world.Chat
	helperToken string
	link        string
}

func newGuardEnv(t *testing.T) *guardEnv {
	e := newEnv(t)
	c := e.group(inviteRights())
	_, helperTok, err := e.w.CreateBot("helper_admin_bot", "Helper")
	if err != nil {
		t.Fatal(err)
	}
	helper, _ := e.w.UserByUsername("helper_admin_bot")
	if err := e.w.PromoteAdmin(c.ID, e.owner.ID, helper.ID, inviteRights(), ""); err != nil {
		t.Fatal(err)
	}
	if err := e.w.SetGuardBot(c.ID, e.owner.ID, e.bot.ID); err != nil {
		t.Fatal(err)
	}
	l, err := e.w.CreateInviteLink(c.ID, e.owner.ID, world.InviteLinkSpec{CreatesJoinRequest: true})
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]any{"allowed_updates": []string{"message", "chat_member", "chat_join_request"}}
	e.drain(e.token, allowed)
	e.drain(helperTok, allowed)
	return &guardEnv{env: e, chat: c, helperToken: helperTok, link: l.Link}
}

func TestServer_JoinRequestQuery(t *testing.T) {
	g := newGuardEnv(t)
	// The guard bot reads query_id from the raw update (go-telegram/bot 9.4
	// does not know the field).
	ask := func(t *testing.T, name string) (world.User, string) {
		t.Helper()
		g.drain(g.token, nil)
		g.drain(g.helperToken, nil)
		u := g.user(name)
		if res, err := g.w.JoinByLink(u.ID, g.link); err != nil || res.Result != "requested" {
			t.Fatalf("join: %+v %v", res, err)
		}
		ups := g.drain(g.token, nil)
		if len(ups) != 1 || ups[0].ChatJoinRequest == nil {
			t.Fatalf("guard bot's updates = %v", kinds(ups))
		}
		var jr struct {
			QueryID string `json:"query_id"`
			From    struct{ ID int64 }
		}
		if err := json.Unmarshal(ups[0].ChatJoinRequest, &jr); err != nil || jr.QueryID == "" || jr.From.ID != u.ID {
			t.Fatalf("chat_join_request = %s (%v)", ups[0].ChatJoinRequest, err)
		}
		if got := kinds(g.drain(g.helperToken, nil)); len(got) != 0 {
			t.Errorf("the helper bot was told during the query: %v", got)
		}
		return u, jr.QueryID
	}
	answer := func(id, result string) response {
		return g.call("answerChatJoinRequestQuery", map[string]any{"chat_join_request_query_id": id, "result": result})
	}
	const tooOld = "Bad Request: query is too old and response timeout expired or query ID is invalid"

	t.Run("approve", func(t *testing.T) {
		u, id := ask(t, "Approved")
		if r := answer(id, "approve"); !r.OK {
			t.Fatalf("answer: %s", r)
		}
		m := g.w.Member(g.chat.ID, u.ID)
		if m.Status != world.StatusMember || !m.ViaJoinRequest {
			t.Errorf("member = %s via request %v", m.Status, m.ViaJoinRequest)
		}
		ups := g.drain(g.helperToken, nil)
		var cm struct {
			ViaJoinRequest bool `json:"via_join_request"`
			From           struct{ ID int64 }
		}
		if len(ups) != 1 || ups[0].ChatMember == nil || json.Unmarshal(ups[0].ChatMember, &cm) != nil || !cm.ViaJoinRequest || cm.From.ID != g.bot.ID {
			t.Errorf("helper's updates = %v (%+v)", kinds(ups), cm)
		}
		if r := answer(id, "decline"); r.Description != tooOld {
			t.Errorf("second answer: %s", r)
		}
	})
	t.Run("decline", func(t *testing.T) {
		u, id := ask(t, "Declined")
		if r := answer(id, "decline"); !r.OK {
			t.Fatalf("answer: %s", r)
		}
		if st := g.w.Member(g.chat.ID, u.ID).Status; st != world.StatusLeft || len(g.w.JoinRequests(g.chat.ID)) != 0 {
			t.Errorf("status %s, pending %v", st, g.w.JoinRequests(g.chat.ID))
		}
	})
	t.Run("queue leaves it to the admins", func(t *testing.T) {
		u, id := ask(t, "Queued")
		if r := answer(id, "queue"); !r.OK {
			t.Fatalf("answer: %s", r)
		}
		if got := kinds(g.drain(g.helperToken, nil)); !slices.Equal(got, []string{"chat_join_request"}) {
			t.Errorf("helper's updates = %v", got)
		}
		if got := kinds(g.drain(g.token, nil)); len(got) != 0 {
			t.Errorf("the guard bot was told again: %v", got)
		}
		if r := g.callAs(g.helperToken, "approveChatJoinRequest", map[string]any{"chat_id": g.chat.BotAPIID(), "user_id": u.ID}); !r.OK {
			t.Fatalf("the admin's approval: %s", r)
		}
		if st := g.w.Member(g.chat.ID, u.ID).Status; st != world.StatusMember {
			t.Errorf("after the admin's approval: %s", st)
		}
		g.drain(g.helperToken, nil)
	})
	t.Run("after 10 seconds the query is dead and the request queued", func(t *testing.T) {
		u, id := ask(t, "Slow")
		g.clock.Advance(10 * time.Second)
		if r := answer(id, "approve"); r.ErrorCode != 400 || r.Description != tooOld {
			t.Errorf("late answer: %s", r)
		}
		if st := g.w.Member(g.chat.ID, u.ID).Status; st != world.StatusLeft {
			t.Errorf("status %s", st)
		}
		if got := kinds(g.drain(g.helperToken, nil)); !slices.Equal(got, []string{"chat_join_request"}) {
			t.Errorf("helper's updates = %v", got)
		}
		if err := g.w.DeclineJoinRequest(g.chat.ID, g.owner.ID, u.ID); err != nil {
			t.Errorf("the queued request: %v", err)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		u, id := ask(t, "Refusals")
		tests := []struct {
			name   string
			token  string
			method string
			params map[string]any
			desc   string
		}{
			{"no result", g.token, "answerChatJoinRequestQuery", map[string]any{"chat_join_request_query_id": id}, "Bad Request: result is empty"},
			{"a result not in the list", g.token, "answerChatJoinRequestQuery", map[string]any{"chat_join_request_query_id": id, "result": "maybe"}, "Bad Request: invalid result specified"},
			{"another bot", g.helperToken, "answerChatJoinRequestQuery", map[string]any{"chat_join_request_query_id": id, "result": "approve"}, tooOld},
			{"a made-up id", g.token, "answerChatJoinRequestQuery", map[string]any{"chat_join_request_query_id": "1", "result": "approve"}, tooOld},
			{"a web app over plain http", g.token, "sendChatJoinRequestWebApp", map[string]any{"chat_join_request_query_id": id, "web_app_url": "http://example.org"}, "Bad Request: WEBAPP_URL_INVALID"},
			{"a web app for a made-up id", g.token, "sendChatJoinRequestWebApp", map[string]any{"chat_join_request_query_id": "1", "web_app_url": "https://example.org"}, tooOld},
			{"no web app url", g.token, "sendChatJoinRequestWebApp", map[string]any{"chat_join_request_query_id": id}, "Bad Request: web_app_url is empty"},
			{"a web app url with credentials", g.token, "sendChatJoinRequestWebApp", map[string]any{"chat_join_request_query_id": id, "web_app_url": "https://u:p@example.org/"}, "Bad Request: WEBAPP_URL_INVALID"},
			{"a web app url of another scheme", g.token, "sendChatJoinRequestWebApp", map[string]any{"chat_join_request_query_id": id, "web_app_url": "javascript:alert(1)"}, "Bad Request: WEBAPP_URL_INVALID"},
			{"a web app", g.token, "sendChatJoinRequestWebApp", map[string]any{"chat_join_request_query_id": id, "web_app_url": "https://example.org/check"}, ""},
			{"a second web app for the query", g.token, "sendChatJoinRequestWebApp", map[string]any{"chat_join_request_query_id": id, "web_app_url": "https://example.org/check"}, tooOld},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := g.callAs(tt.token, tt.method, tt.params)
				if tt.desc == "" && !r.OK || tt.desc != "" && (r.OK || r.Description != tt.desc) {
					t.Errorf("got %s, want %q", r, tt.desc)
				}
			})
		}
		if r := answer(id, "approve"); !r.OK {
			t.Errorf("the query outlived the refusals: %s", r)
		}
		if st := g.w.Member(g.chat.ID, u.ID).Status; st != world.StatusMember {
			t.Errorf("status %s", st)
		}
	})
	t.Run("getChat shows the guard bot to admins", func(t *testing.T) {
		var info struct {
			GuardBot *struct{ ID int64 } `json:"guard_bot"`
		}
		g.mustOK("getChat", map[string]any{"chat_id": g.chat.BotAPIID()}).decode(t, &info)
		if info.GuardBot == nil || info.GuardBot.ID != g.bot.ID {
			t.Errorf("guard_bot = %+v", info.GuardBot)
		}
	})
	t.Run("without a guard bot: a plain chat_join_request to every admin bot", func(t *testing.T) {
		if err := g.w.SetGuardBot(g.chat.ID, g.owner.ID, 0); err != nil {
			t.Fatal(err)
		}
		g.drain(g.token, nil)
		g.drain(g.helperToken, nil)
		u := g.user("Plain")
		if _, err := g.w.JoinByLink(u.ID, g.link); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{g.token, g.helperToken} {
			ups := g.drain(tok, nil)
			if len(ups) != 1 || ups[0].ChatJoinRequest == nil || strings.Contains(string(ups[0].ChatJoinRequest), "query_id") {
				t.Errorf("updates = %v", kinds(ups))
			}
		}
	})
}

// TestServer_JoinRequestQuery_Library: go-telegram/bot, unmodified, decodes
// a guard bot's chat_join_request (it skips query_id, which Bot API 9.4
// lacks); the bot answers the query with a raw call.
func TestServer_JoinRequestQuery_Library(t *testing.T) {
	g := newGuardEnv(t)
	u := g.user("Alice")
	if _, err := g.w.JoinByLink(u.ID, g.link); err != nil {
		t.Fatal(err)
	}
	var raw []struct {
		ChatJoinRequest struct {
			QueryID string `json:"query_id"`
		} `json:"chat_join_request"`
	}
	g.mustOK("getUpdates", nil).decode(t, &raw) // read, not acknowledged
	ups := g.updatesAs(g.token)
	if len(raw) != 1 || raw[0].ChatJoinRequest.QueryID == "" || len(ups) != 1 || ups[0].ChatJoinRequest == nil ||
		ups[0].ChatJoinRequest.From.ID != u.ID || ups[0].ChatJoinRequest.InviteLink == nil {
		t.Fatalf("raw %+v, decoded %+v", raw, ups)
	}
	g.mustOK("answerChatJoinRequestQuery", map[string]any{"chat_join_request_query_id": raw[0].ChatJoinRequest.QueryID, "result": "approve"})
	if st := g.w.Member(g.chat.ID, u.ID).Status; st != world.StatusMember {
		t.Errorf("status %s", st)
	}
}
