package bot

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	tgbot "github.com/go-telegram/bot"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestRefusals drives every row of the refusals table (the README's
// "Telegram's answers and what karmagate does") from the sandbox, through
// both of the bot's paths to the Bot API (go-telegram/bot's and call), and
// checks what karmagate makes of it; and that the README lists the row.
func TestRefusals(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{NoMTProto: true})
	tg, err := tgbot.New(sb.BotToken(), tgbot.WithServerURL(sb.BotAPIURL()), tgbot.WithSkipGetMe())
	if err != nil {
		t.Fatal(err)
	}
	c := &client{tg: tg, http: http.DefaultClient, base: sb.BotAPIURL() + "/bot" + sb.BotToken() + "/", token: sb.BotToken(), send: NewSender(Limits{})}
	owner := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Owner"})
	chat := sandboxtest.MustChat(t, sb, owner.ID, "Refusals")
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(readme), "## Telegram's answers and what karmagate does")
	ctx := context.Background()
	for _, r := range refusals {
		t.Run(r.Text, func(t *testing.T) {
			if !strings.Contains(table, "`"+r.Text+"`") {
				t.Errorf("README's table has no row for %q", r.Text)
			}
			for _, path := range []string{"go-telegram/bot", "call"} {
				if err := sb.Refuse(world.Refusal{Method: "getChatMember", Error: r.Text}); err != nil {
					t.Fatalf("the sandbox cannot produce %q: %v", r.Text, err)
				}
				var err error
				if path == "call" {
					err = c.call(ctx, "getChatMember", map[string]any{"chat_id": chat.BotAPIID(), "user_id": owner.ID}, nil)
				} else {
					_, err = tg.GetChatMember(ctx, &tgbot.GetChatMemberParams{ChatID: chat.BotAPIID(), UserID: owner.ID})
				}
				if err == nil {
					t.Fatalf("%s: no error", path)
				}
				if got := classify(err); got != r.F {
					t.Errorf("%s: classify(%v) = %d, want %d", path, err, got, r.F)
				}
			}
		})
	}
	// "chat not found" for a person: the bot has never seen them.
	stranger := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Stranger"})
	_, err = tg.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: stranger.ID, Text: "hi"})
	if got := classifyIn(stranger.ID, err); got != failNoPrivateChat {
		t.Errorf("a message to a person the bot never saw: %v classified %d, want failNoPrivateChat", err, got)
	}
	if reason, ok := unreachableReason(stranger.ID, err); !ok || reason != "unknown" {
		t.Errorf("unreachableReason = %q, %v; want unknown", reason, ok)
	}
}
