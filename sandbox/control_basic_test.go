package sandbox_test

import (
	"errors"
	"testing"

	"github.com/go-telegram/bot"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestSandbox_BasicGroupUpgrade: a basic group made through the control
// API is a "group" with a -<id> id; upgraded, its old id answers 400 with
// migrate_to_chat_id (go-telegram/bot's MigrateError), and the bot gets
// both service messages.
func TestSandbox_BasicGroupUpgrade(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{NoMTProto: true})
	b, got := startBot(t, sb)
	ctx := t.Context()
	owner := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Owner"})
	var c struct {
		ID   int64  `json:"id"`
		Type string `json:"type"`
	}
	if status := control(t, sb, "POST", "/sandbox/chats", map[string]any{"creator": owner.ID, "title": "Small", "basic": true}, &c); status != 201 {
		t.Fatalf("create a basic group: %d", status)
	}
	if c.Type != "group" || c.ID >= 0 || c.ID < -999999999999 {
		t.Fatalf("basic group %+v: want type group and a -<id> id", c)
	}
	if err := sb.MakeAdmin(c.ID, 0, nil); err != nil {
		t.Fatal(err)
	}
	got.next(t) // my_chat_member
	if _, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: c.ID, Text: "hello"}); err != nil {
		t.Fatalf("message to the basic group: %v", err)
	}
	var up struct {
		MigrateToChatID   int64 `json:"migrate_to_chat_id"`
		MigrateFromChatID int64 `json:"migrate_from_chat_id"`
	}
	if status := control(t, sb, "POST", "/sandbox/chats/"+itoa(c.ID)+"/upgrade", nil, &up); status != 200 {
		t.Fatalf("upgrade: %d", status)
	}
	if up.MigrateFromChatID != c.ID || up.MigrateToChatID > -1000000000000 {
		t.Fatalf("upgrade answered %+v", up)
	}
	_, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: c.ID, Text: "hello again"})
	var mig *bot.MigrateError
	if !errors.As(err, &mig) || int64(mig.MigrateToChatID) != up.MigrateToChatID {
		t.Fatalf("the old id: %v, want a MigrateError to %d", err, up.MigrateToChatID)
	}
	if _, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: up.MigrateToChatID, Text: "hello there"}); err != nil {
		t.Fatalf("the supergroup: %v", err)
	}
	if status := control(t, sb, "POST", "/sandbox/chats/"+itoa(c.ID)+"/upgrade", nil, nil); status != 400 {
		t.Errorf("upgrading twice: %d, want 400", status)
	}
	first, second := got.next(t), got.next(t)
	if first.Message == nil || first.Message.Chat.ID != c.ID || string(first.Message.Chat.Type) != "group" || first.Message.MigrateToChatID != up.MigrateToChatID {
		t.Errorf("first service message: %+v", first.Message)
	}
	if second.Message == nil || second.Message.Chat.ID != up.MigrateToChatID || second.Message.MigrateFromChatID != c.ID {
		t.Errorf("second service message: %+v", second.Message)
	}
}
