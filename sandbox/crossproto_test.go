package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/gotd/td/session"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/auth"
	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/mtproto"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestSandbox_BothProtocols: an unmodified gotd client logs in (code, then
// 2FA), creates a supergroup and makes the bot an admin; the unmodified
// go-telegram/bot bot then sees the chat, creates a join-request link and
// approves a person, whom the userbot then finds among the participants.
func TestSandbox_BothProtocols(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 11})
	const phone, password = "+15550042", "correct horse"
	sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Userbot", Phone: phone, Password: password})
	alice := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Alice", Username: "alice_tg"})

	// The bot, long polling, with chat_member enabled.
	got := newUpdates()
	b, err := bot.New(sb.BotToken(), bot.WithServerURL(sb.BotAPIURL()), bot.WithDefaultHandler(got.handler),
		bot.WithAllowedUpdates(bot.AllowedUpdates{"message", "my_chat_member", "chat_member", "chat_join_request"}),
		bot.WithErrorsHandler(func(err error) { t.Logf("bot error: %v", err) }),
		bot.WithHTTPClient(5*time.Second, &http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	botCtx, stopBot := context.WithCancel(t.Context())
	botDone := make(chan struct{})
	go func() { b.Start(botCtx); close(botDone) }()
	t.Cleanup(func() { stopBot(); <-botDone })

	// The userbot.
	opts, err := mtproto.ClientOptionsFor(sb.Env()["TELEGRAM_DC_ADDR"], []byte(sb.Env()["TELEGRAM_SERVER_KEY"]))
	if err != nil {
		t.Fatal(err)
	}
	opts.SessionStorage = &session.StorageMemory{}
	opts.NoUpdates = true
	client := telegram.NewClient(sb.MTProto().AppID(), sb.MTProto().AppHash(), opts)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	var chatID int64
	err = client.Run(ctx, func(ctx context.Context) error {
		code := auth.CodeAuthenticatorFunc(func(ctx context.Context, _ *tg.AuthSentCode) (string, error) {
			var out map[string]string
			if status := control(t, sb, "GET", "/sandbox/codes/"+phone, nil, &out); status != 200 {
				return "", fmt.Errorf("no code: %d", status)
			}
			return out["code"], nil
		})
		if err := auth.NewFlow(auth.Constant(phone, password, code), auth.SendCodeOptions{}).Run(ctx, client.Auth()); err != nil {
			return fmt.Errorf("login: %w", err)
		}
		api := client.API()
		upd, err := api.ChannelsCreateChannel(ctx, &tg.ChannelsCreateChannelRequest{Megagroup: true, Title: "Webmasters Pro", About: "karma >= 100"})
		if err != nil {
			return fmt.Errorf("create channel: %w", err)
		}
		var ch *tg.Channel
		for _, c := range upd.(*tg.Updates).Chats {
			if c, ok := c.(*tg.Channel); ok {
				ch = c
			}
		}
		if ch == nil {
			return errors.New("no channel in the answer")
		}
		chatID = world.BotAPIChatID(ch.ID)
		peer, err := api.ContactsResolveUsername(ctx, &tg.ContactsResolveUsernameRequest{Username: sb.Bot().Username})
		if err != nil {
			return fmt.Errorf("resolve bot: %w", err)
		}
		botUser := peer.Users[0].(*tg.User)
		if _, err := api.ChannelsEditAdmin(ctx, &tg.ChannelsEditAdminRequest{
			Channel:     &tg.InputChannel{ChannelID: ch.ID, AccessHash: ch.AccessHash},
			UserID:      &tg.InputUser{UserID: botUser.ID, AccessHash: botUser.AccessHash},
			AdminRights: tg.ChatAdminRights{InviteUsers: true, BanUsers: true, DeleteMessages: true, ChangeInfo: true},
		}); err != nil {
			return fmt.Errorf("edit admin: %w", err)
		}

		// The bot sees it became an admin of that very chat.
		up := got.next(t)
		if up.MyChatMember == nil || up.MyChatMember.Chat.ID != chatID || up.MyChatMember.NewChatMember.Type != models.ChatMemberTypeAdministrator {
			return fmt.Errorf("first update = %+v", up)
		}
		link, err := b.CreateChatInviteLink(ctx, &bot.CreateChatInviteLinkParams{ChatID: chatID, CreatesJoinRequest: true, Name: "karmagate"})
		if err != nil {
			return fmt.Errorf("create link: %w", err)
		}
		res, err := sb.Join(alice.ID, link.InviteLink)
		if err != nil || res.Result != "requested" {
			return fmt.Errorf("join = %+v, %v", res, err)
		}
		up = got.next(t)
		if up.ChatJoinRequest == nil || up.ChatJoinRequest.From.ID != alice.ID {
			return fmt.Errorf("want chat_join_request, got %+v", up)
		}
		if _, err := b.ApproveChatJoinRequest(ctx, &bot.ApproveChatJoinRequestParams{ChatID: chatID, UserID: alice.ID}); err != nil {
			return fmt.Errorf("approve: %w", err)
		}
		up = got.next(t)
		if up.ChatMember == nil || up.ChatMember.NewChatMember.Type != models.ChatMemberTypeMember || !up.ChatMember.ViaJoinRequest {
			return fmt.Errorf("want chat_member via join request, got %+v", up)
		}

		// The userbot sees Alice among the participants.
		parts, err := api.ChannelsGetParticipants(ctx, &tg.ChannelsGetParticipantsRequest{
			Channel: &tg.InputChannel{ChannelID: ch.ID, AccessHash: ch.AccessHash},
			Filter:  &tg.ChannelParticipantsRecent{}, Limit: 100,
		})
		if err != nil {
			return fmt.Errorf("participants: %w", err)
		}
		found := false
		for _, u := range parts.(*tg.ChannelsChannelParticipants).Users {
			if u, ok := u.(*tg.User); ok && u.ID == alice.ID {
				found = true
			}
		}
		if !found {
			return errors.New("alice is not among the participants")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	members, _ := sb.Members(chatID)
	if len(members) != 3 {
		t.Errorf("members = %d, want creator, bot, alice", len(members))
	}
}
