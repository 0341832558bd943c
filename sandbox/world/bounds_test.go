package world_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// What keeps a long-running world's memory bounded: the call log, the
// messages per chat, the rate limiter's keys; and delivery that survives a
// panicking subscriber.

func TestWorld_Calls(t *testing.T) {
	tests := []struct {
		name     string
		recorded int
		since    int
		want     []int // Seq of the calls returned
	}{
		{name: "not full", recorded: 3, want: []int{0, 1, 2}},
		{name: "not full, since", recorded: 3, since: 2, want: []int{2}},
		{name: "full", recorded: 4, want: []int{0, 1, 2, 3}},
		{name: "wrapped keeps the last four in order", recorded: 10, want: []int{6, 7, 8, 9}},
		{name: "wrapped, since inside the log", recorded: 10, since: 8, want: []int{8, 9}},
		{name: "wrapped, since before the log", recorded: 10, since: 2, want: []int{6, 7, 8, 9}},
		{name: "since past the end", recorded: 10, since: 12, want: []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := world.New(world.Options{MaxCalls: 4})
			for i := range tt.recorded {
				w.RecordCall(world.Call{API: "bot", Method: fmt.Sprint("m", i)})
			}
			got := []int{}
			for _, c := range w.CallsSince(tt.since) {
				if c.Method != fmt.Sprint("m", c.Seq) {
					t.Errorf("call %d is %s", c.Seq, c.Method)
				}
				got = append(got, c.Seq)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("CallsSince(%d) = %v, want %v", tt.since, got, tt.want)
			}
			if tt.since == 0 && len(w.Calls()) != len(tt.want) {
				t.Errorf("Calls() has %d, want %d", len(w.Calls()), len(tt.want))
			}
		})
	}
}

// BenchmarkWorld_RecordCall records into a full log of each size: the time
// per call stays flat as the log grows, since nothing is copied.
func BenchmarkWorld_RecordCall(b *testing.B) {
	for _, size := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprint("full_", size), func(b *testing.B) {
			at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
			w := world.New(world.Options{MaxCalls: size})
			for range size {
				w.RecordCall(world.Call{API: "bot", Method: "getMe", At: at})
			}
			b.ResetTimer()
			for b.Loop() {
				w.RecordCall(world.Call{API: "bot", Method: "getMe", At: at})
			}
		})
	}
}

func TestWorld_MaxMessagesPerChat(t *testing.T) {
	c := new(sandboxtest.Clock)
	w := world.New(world.Options{Now: c.Now, MaxMessagesPerChat: 3})
	alice := mustUser(t, w, world.UserSpec{FirstName: "Alice"})
	bob := mustUser(t, w, world.UserSpec{FirstName: "Bob"})
	carol := mustUser(t, w, world.UserSpec{FirstName: "Carol"})
	for i := range 5 {
		for _, from := range []world.User{bob, carol} {
			if _, err := w.SendMessage(from.ID, alice.ID, fmt.Sprintf("%s %d", from.FirstName, i), world.SendOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []string
	for _, m := range w.Messages(alice.ID) {
		got = append(got, m.Text)
	}
	want := []string{"Bob 2", "Carol 2", "Bob 3", "Carol 3", "Bob 4", "Carol 4"}
	if !slices.Equal(got, want) {
		t.Errorf("Alice's messages %v, want the last 3 of each chat in order %v", got, want)
	}
	if n := len(w.AllMessages()); n != 6 {
		t.Errorf("%d messages kept, want 6", n)
	}
	last := w.Messages(alice.ID)[5]
	if last.ID != 5 {
		t.Errorf("last message id %d, want 5: ids keep counting", last.ID)
	}
	if err := w.DeleteMessage(alice.ID, carol.ID, 5); err != nil {
		t.Errorf("delete a kept message: %v", err)
	}
	if err := w.DeleteMessage(alice.ID, carol.ID, 1); err == nil {
		t.Error("deleted a message no longer kept")
	}
}

func TestWorld_LimiterPrunes(t *testing.T) {
	w, clk := newWorld(t, world.Limits{GlobalMsgPerSec: 10000, GlobalBurst: 10000})
	bot, _, err := w.CreateBot("pruned_bot", "Pruned")
	if err != nil {
		t.Fatal(err)
	}
	// Each person the bot answers leaves a per-chat rate-limit key.
	const people = 300
	var ids []int64
	for i := range people {
		u := mustUser(t, w, world.UserSpec{FirstName: fmt.Sprint("P", i)})
		if _, err := w.SendMessage(u.ID, bot.ID, "/start", world.SendOptions{}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
		if _, err := w.SendMessage(bot.ID, u.ID, "hi", world.SendOptions{}); err != nil {
			t.Fatal(err)
		}
		w.FloodWait("contacts.resolvePhone", u.ID)
		w.Allow(fmt.Sprint("bucket:", u.ID), 1, 1)
	}
	if n := w.LimiterKeys(); n < people {
		t.Fatalf("%d keys after %d chats: the test does not exercise the limiter", n, people)
	}
	// Once every window has passed, later calls sweep the lapsed keys out.
	clk.Advance(time.Hour)
	for range 4 * people {
		w.Allow("busy", 1000, 1000)
	}
	if n := w.LimiterKeys(); n > 1 {
		t.Errorf("%d keys held an hour later, want the lapsed ones swept (1 left)", n)
	}
	// Swept keys start afresh: limits still hold.
	if d := w.FloodWait("contacts.resolvePhone", ids[0]); d != 0 {
		t.Errorf("first resolvePhone after an hour waits %s", d)
	}
	if d := w.FloodWait("contacts.resolvePhone", ids[0]); d != 3*time.Second {
		t.Errorf("second resolvePhone waits %s, want 3s", d)
	}
}

func TestWorld_SubscriberPanics(t *testing.T) {
	var logs bytes.Buffer
	w := world.New(world.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	w.Subscribe(func(ev world.Event) {
		if _, ok := ev.(world.MessageSent); ok {
			panic("subscriber bug")
		}
	})
	var got []string
	w.Subscribe(func(ev world.Event) {
		if m, ok := ev.(world.MessageSent); ok {
			got = append(got, m.Message.Text)
		}
	})
	alice := mustUser(t, w, world.UserSpec{FirstName: "Alice"})
	bob := mustUser(t, w, world.UserSpec{FirstName: "Bob"})
	for _, text := range []string{"one", "two", "three"} {
		if _, err := w.SendMessage(alice.ID, bob.ID, text, world.SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"one", "two", "three"}; !slices.Equal(got, want) {
		t.Errorf("the other subscriber got %v, want %v", got, want)
	}
	if n := strings.Count(logs.String(), "event subscriber panicked"); n != 3 {
		t.Errorf("%d panics logged, want 3:\n%s", n, logs.String())
	}
}
