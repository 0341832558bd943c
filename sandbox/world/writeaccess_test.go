package world_test

import (
	"errors"
	"testing"

	"github.com/karmagate/karmagate/sandbox/world"
)

// TestWorld_AllowWrites: a person who let the bot write to them (Log in
// with Telegram's telegram:bot_access) gets its messages without having
// started it; one who blocked it stays blocked; only people and bots.
func TestWorld_AllowWrites(t *testing.T) {
	w := world.New(world.Options{})
	bot, _, err := w.CreateBot("gate_bot", "Gate")
	if err != nil {
		t.Fatal(err)
	}
	ann, _ := w.CreateUser(world.UserSpec{FirstName: "Ann"})
	bob, _ := w.CreateUser(world.UserSpec{FirstName: "Bob"})
	if _, err := w.SendMessage(bot.ID, ann.ID, "hi", world.SendOptions{}); err == nil {
		t.Fatal("the bot wrote first to a stranger")
	}
	if err := w.AllowWrites(ann.ID, bot.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.SendMessage(bot.ID, ann.ID, "hi", world.SendOptions{}); err != nil {
		t.Fatalf("after AllowWrites: %v", err)
	}
	if _, err := w.SendMessage(bob.ID, bot.ID, "/start", world.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := w.BlockBot(bob.ID, bot.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := w.AllowWrites(bob.ID, bot.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.SendMessage(bot.ID, bob.ID, "hi", world.SendOptions{}); !errors.Is(err, world.ErrBotBlocked) {
		t.Errorf("a blocked bot wrote: %v", err)
	}
	if err := w.AllowWrites(bot.ID, ann.ID); !errors.Is(err, world.ErrUserNotFound) {
		t.Errorf("a bot allowing a person: %v", err)
	}
}
