package world_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/karmagate/karmagate/sandbox/world"
)

func TestWorld_Reset(t *testing.T) {
	w, clk := newWorld(t, world.Limits{})
	bot, token, err := w.CreateBot("kept_bot", "Kept")
	if err != nil {
		t.Fatal(err)
	}
	other, otherToken, err := w.CreateBot("other_bot", "Other")
	if err != nil {
		t.Fatal(err)
	}
	owner := mustUser(t, w, world.UserSpec{FirstName: "Owner", Username: "owner_tg", Phone: "+15550001"})
	c := mustGroup(t, w, owner.ID)
	if _, err := w.SendMessage(owner.ID, bot.ID, "/start", world.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.SendCode("+15550001"); err != nil {
		t.Fatal(err)
	}
	w.RecordCall(world.Call{API: "bot", Method: "getMe"})
	clk.Advance(time.Hour)
	var events []world.Event
	w.Subscribe(func(ev world.Event) { events = append(events, ev) })

	w.Reset(bot.ID)

	t.Run("only the kept bot is left", func(t *testing.T) {
		if users := w.Users(); len(users) != 1 || users[0] != bot {
			t.Errorf("users %+v, want only %+v", users, bot)
		}
		if got, ok := w.BotByToken(token); !ok || got.ID != bot.ID {
			t.Errorf("kept bot's token: %+v %v", got, ok)
		}
		if _, ok := w.BotByToken(otherToken); ok {
			t.Error("the other bot's token still works")
		}
		if _, ok := w.User(other.ID); ok {
			t.Error("the other bot is still there")
		}
	})
	t.Run("chats, messages and codes are gone", func(t *testing.T) {
		if chats := w.Chats(); len(chats) != 0 {
			t.Errorf("chats %+v", chats)
		}
		if _, ok := w.Chat(c.ID); ok {
			t.Error("the old chat is still there")
		}
		if msgs := w.AllMessages(); len(msgs) != 0 {
			t.Errorf("messages %+v", msgs)
		}
		if _, ok := w.LastCode("+15550001"); ok {
			t.Error("the login code is still there")
		}
		if w.Knows(bot.ID, owner.ID) {
			t.Error("the bot still knows the old owner")
		}
	})
	t.Run("the clock, the call log and the events carry on", func(t *testing.T) {
		if !w.Now().Equal(time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)) {
			t.Errorf("clock %s", w.Now())
		}
		if calls := w.Calls(); len(calls) != 1 {
			t.Errorf("calls %+v", calls)
		}
		if len(events) != 1 {
			t.Fatalf("events %+v, want one WorldReset", events)
		}
		if ev, ok := events[0].(world.WorldReset); !ok || !slices.Equal(ev.Keep, []int64{bot.ID}) {
			t.Errorf("event %+v, want WorldReset keeping %d", events[0], bot.ID)
		}
	})
	t.Run("names and phones are free, ids are not reused", func(t *testing.T) {
		again := mustUser(t, w, world.UserSpec{FirstName: "Owner", Username: "owner_tg", Phone: "+15550001"})
		if again.ID <= owner.ID {
			t.Errorf("new user id %d, want above the old %d", again.ID, owner.ID)
		}
		c2 := mustGroup(t, w, again.ID)
		if c2.ID <= c.ID {
			t.Errorf("new chat id %d, want above the old %d", c2.ID, c.ID)
		}
		if _, err := w.SendMessage(again.ID, bot.ID, "/start", world.SendOptions{}); err != nil {
			t.Errorf("the kept bot after a reset: %v", err)
		}
	})
}

func TestWorld_DeleteUser(t *testing.T) {
	w, _ := newWorld(t, world.Limits{})
	bot, _, err := w.CreateBot("the_bot", "Bot")
	if err != nil {
		t.Fatal(err)
	}
	owner := mustUser(t, w, world.UserSpec{FirstName: "Owner"})
	gone := mustUser(t, w, world.UserSpec{FirstName: "Gone", Username: "gone_tg", Phone: "+15550002"})
	stays := mustUser(t, w, world.UserSpec{FirstName: "Stays"})
	member := mustGroup(t, w, owner.ID)
	requested := mustGroup(t, w, owner.ID)
	if _, _, err := w.AddMembers(member.ID, owner.ID, []int64{gone.ID, stays.ID}); err != nil {
		t.Fatal(err)
	}
	l, err := w.CreateInviteLink(requested.ID, owner.ID, world.InviteLinkSpec{CreatesJoinRequest: true})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := w.JoinByLink(gone.ID, l.Link); err != nil || res.Result != "requested" {
		t.Fatalf("join: %+v %v", res, err)
	}
	if err := w.AddContact(stays.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.SendMessage(gone.ID, bot.ID, "/start", world.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.SendMessage(gone.ID, stays.ID, "bye", world.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	var events []world.Event
	w.Subscribe(func(ev world.Event) { events = append(events, ev) })

	if err := w.DeleteUser(gone.ID); err != nil {
		t.Fatal(err)
	}

	if _, ok := w.User(gone.ID); ok {
		t.Error("the user is still there")
	}
	if _, ok := w.UserByUsername("gone_tg"); ok {
		t.Error("the username still finds them")
	}
	if _, ok := w.UserByPhone("+15550002"); ok {
		t.Error("the phone still finds them")
	}
	members := w.Members(member.ID)
	if len(members) != 2 || members[0].User.ID != owner.ID || members[1].User.ID != stays.ID {
		t.Errorf("members %+v, want the owner and Stays", members)
	}
	if ch, _ := w.Chat(member.ID); ch.MembersCount != 2 {
		t.Errorf("members count %d, want 2", ch.MembersCount)
	}
	if st := w.Member(member.ID, gone.ID).Status; st != world.StatusLeft {
		t.Errorf("status %s, want left", st)
	}
	if reqs := w.JoinRequests(requested.ID); len(reqs) != 0 {
		t.Errorf("join requests %+v", reqs)
	}
	if w.IsContact(stays.ID, gone.ID) {
		t.Error("still in Stays' contacts")
	}
	if msgs := w.Messages(stays.ID); len(msgs) != 0 {
		t.Errorf("Stays still has %+v", msgs)
	}
	if w.Knows(bot.ID, gone.ID) {
		t.Error("the bot still knows them")
	}
	if len(events) != 1 || events[0] != (world.UserDeleted{UserID: gone.ID}) {
		t.Errorf("events %+v, want UserDeleted", events)
	}
	again := mustUser(t, w, world.UserSpec{FirstName: "New", Username: "gone_tg", Phone: "+15550002"})
	if again.ID == gone.ID {
		t.Error("the id was given out again")
	}
	if err := w.DeleteUser(gone.ID); !errors.Is(err, world.ErrUserNotFound) {
		t.Errorf("second delete: %v, want USER_ID_INVALID", err)
	}
}
