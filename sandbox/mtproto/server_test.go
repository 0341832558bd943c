package mtproto_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/auth"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"

	"github.com/karmagate/karmagate/sandbox/botapi"
	"github.com/karmagate/karmagate/sandbox/mtproto"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_Login logs a real gotd client in with a code, then with 2FA.
func TestServer_Login(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	e.MustUser(world.UserSpec{FirstName: "Carol", Phone: "+15550000001"})
	e.MustUser(world.UserSpec{FirstName: "Dave", Phone: "+15550000002", Password: "hunter2"})

	for _, tc := range []struct {
		name     string
		phone    string
		password string
		wantErr  error
	}{
		{"code only", "+15550000001", "", nil},
		{"2FA right password", "+15550000002", "hunter2", nil},
		{"2FA wrong password", "+15550000002", "hunter3", auth.ErrPasswordInvalid},
		{"2FA password missing", "+15550000002", "", auth.ErrPasswordNotProvided},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Advance(time.Minute) // past auth.sendCode's flood wait
			err := e.Run(clientOptions{}, func(ctx context.Context, c *telegram.Client) error {
				if err := e.login(ctx, c, tc.phone, tc.password); err != nil {
					return err
				}
				st, err := c.Auth().Status(ctx)
				if err != nil {
					return err
				}
				want, _ := e.w.UserByPhone(tc.phone)
				if !st.Authorized || st.User.ID != want.ID {
					t.Errorf("status = %+v, want authorized as %d", st, want.ID)
				}
				return nil
			})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("login: %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestServer_CreateSupergroupAndPromoteBot is the userbot's job end to end:
// log in with 2FA, create a private supergroup, make the bot an admin.
func TestServer_CreateSupergroupAndPromoteBot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000010", Password: "s3cret"})
	bot, token, err := e.w.CreateBot("karmagate_bot", "Karmagate")
	if err != nil {
		t.Fatal(err)
	}

	var channelID int64
	e.RunAs(owner.Phone, "s3cret", func(ctx context.Context, api *tg.Client) error {
		ch, err := createSupergroup(ctx, api, "Webmasters Pro")
		if err != nil {
			return err
		}
		channelID = ch.ChannelID
		peer, err := api.ContactsResolveUsername(ctx, &tg.ContactsResolveUsernameRequest{Username: "karmagate_bot"})
		if err != nil {
			return err
		}
		botUser, ok := peer.Users[0].(*tg.User)
		if !ok || !botUser.Bot {
			return fmt.Errorf("resolved %#v, want the bot", peer.Users[0])
		}
		_, err = api.ChannelsEditAdmin(ctx, &tg.ChannelsEditAdminRequest{
			Channel:     ch,
			UserID:      botUser.AsInput(),
			AdminRights: tg.ChatAdminRights{InviteUsers: true, BanUsers: true, Other: true},
			Rank:        "gatekeeper",
		})
		return err
	})

	c, ok := e.w.Chat(channelID)
	if !ok {
		t.Fatalf("chat %d not in the world", channelID)
	}
	if c.Title != "Webmasters Pro" || c.About != "about Webmasters Pro" || c.CreatorID != owner.ID {
		t.Errorf("chat = %+v", c)
	}
	if m := e.w.Member(channelID, owner.ID); m.Status != world.StatusCreator {
		t.Errorf("owner status = %s, want creator", m.Status)
	}
	m := e.w.Member(channelID, bot.ID)
	if m.Status != world.StatusAdministrator || !m.Rights.CanInviteUsers || !m.Rights.CanRestrictMembers || m.CustomTitle != "gatekeeper" {
		t.Errorf("bot membership = %+v, want administrator with invite and ban rights", m)
	}

	// Every call is in the world's call log, with the account that made it.
	logged := map[string]bool{}
	for _, call := range e.w.Calls() {
		if call.API == "mtproto" && call.Account == owner.ID && call.Error == "" {
			logged[call.Method] = true
		}
	}
	for _, m := range []string{"auth.checkPassword", "channels.createChannel", "contacts.resolveUsername", "channels.editAdmin"} {
		if !logged[m] {
			t.Errorf("call log lacks %s by the owner: %v", m, logged)
		}
	}

	// The bot sees and administers the same chat through the Bot API.
	bapi := botapi.New(e.w, botapi.Options{})
	t.Cleanup(func() { _ = bapi.Close() })
	hs := httptest.NewServer(bapi)
	t.Cleanup(hs.Close)
	chatID := strconv.FormatInt(world.BotAPIChatID(channelID), 10)
	var chat struct {
		ID    int64  `json:"id"`
		Type  string `json:"type"`
		Title string `json:"title"`
	}
	botCall(t, hs.URL, token, "getChat", url.Values{"chat_id": {chatID}}, &chat)
	if chat.ID != world.BotAPIChatID(channelID) || chat.Type != "supergroup" || chat.Title != "Webmasters Pro" {
		t.Errorf("getChat = %+v", chat)
	}
	var member struct {
		Status         string `json:"status"`
		CanInviteUsers bool   `json:"can_invite_users"`
	}
	botCall(t, hs.URL, token, "getChatMember", url.Values{"chat_id": {chatID}, "user_id": {strconv.FormatInt(bot.ID, 10)}}, &member)
	if member.Status != "administrator" || !member.CanInviteUsers {
		t.Errorf("getChatMember(bot) = %+v", member)
	}
	var link struct {
		InviteLink         string `json:"invite_link"`
		CreatesJoinRequest bool   `json:"creates_join_request"`
	}
	botCall(t, hs.URL, token, "createChatInviteLink", url.Values{"chat_id": {chatID}, "creates_join_request": {"true"}}, &link)
	if !strings.HasPrefix(link.InviteLink, "https://t.me/+") || !link.CreatesJoinRequest {
		t.Errorf("createChatInviteLink = %+v", link)
	}
}

// botCall calls a Bot API method over plain HTTP and decodes its result.
func botCall(t *testing.T, base, token, method string, params url.Values, result any) {
	t.Helper()
	resp, err := http.PostForm(base+"/bot"+token+"/"+method, params)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	var body struct {
		OK          bool            `json:"ok"`
		Description string          `json:"description"`
		Result      json.RawMessage `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s: decode: %v", method, err)
	}
	if !body.OK {
		t.Fatalf("%s: %s", method, body.Description)
	}
	if err := json.Unmarshal(body.Result, result); err != nil {
		t.Fatalf("%s: decode result: %v", method, err)
	}
}

// TestServer_InvokeWithLayer: the sandbox answers in gotd's layer only, so
// a client declaring another (GramJS: 198) is refused with LAYER_INVALID
// naming the layer served, rather than answered in a shape it cannot read.
func TestServer_InvokeWithLayer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	tests := []struct {
		name  string
		layer int
		ok    bool
	}{
		{name: "gotd's layer", layer: tg.Layer, ok: true},
		{name: "GramJS's older layer", layer: 198},
		{name: "a newer layer", layer: tg.Layer + 1},
	}
	err := e.Run(clientOptions{}, func(ctx context.Context, c *telegram.Client) error {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// What a client of that layer sends first on a connection.
				req := &tg.InvokeWithLayerRequest{Layer: tt.layer, Query: &tg.InitConnectionRequest{
					APIID: e.srv.AppID(), DeviceModel: "test", SystemVersion: "test", AppVersion: "test",
					SystemLangCode: "en", LangCode: "en", Query: &tg.HelpGetConfigRequest{},
				}}
				var cfg tg.Config
				err := c.Invoke(ctx, req, &cfg)
				if tt.ok {
					if err != nil || cfg.ThisDC != mtproto.DC {
						t.Errorf("getConfig in layer %d: %+v, %v", tt.layer, cfg, err)
					}
					return
				}
				wantRPC(t, err, 400, "LAYER_INVALID")
				if rpc, _ := tgerr.As(err); rpc.Argument != tg.Layer {
					t.Errorf("error %q names layer %d, want %d", rpc.Message, rpc.Argument, tg.Layer)
				}
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
