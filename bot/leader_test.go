package bot_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_PollerElection: two bots on one store poll in turn, never at
// once (the sandbox, like Telegram, cuts a second getUpdates off with 409
// Conflict); when the poller stops, the other takes over and updates flow
// again.
func TestBot_PollerElection(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		// The harness's bot polls; a second instance stands by.
		var b2 *bot.Bot
		h.eventually("the first bot elected", func() bool {
			l, err := h.store.Leases().Holder(h.ctx, bot.PollerLease)
			return err == nil && l.Owner != "" && l.Until.After(l.At)
		})
		first, err := h.store.Leases().Holder(h.ctx, bot.PollerLease)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		b2, err = bot.New(ctx, bot.Options{Token: h.sb.BotToken(), ServerURL: h.sb.BotAPIURL(), Store: h.store, Tokens: h.tokens,
			Secret: secret, Now: h.clock.Now, PollTimeout: time.Second, PollLease: time.Second, Owner: "standby", Logger: testLogger(t)})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); _ = b2.Run(ctx) }()
		t.Cleanup(func() { cancel(); wg.Wait() })

		p := h.person("Pat", "pat_tg")
		h.makeMember(p, "pat") // every message of a member is answered
		if got := h.reply(p.ID, "/help"); got == "" {
			t.Fatal("no answer while the first bot polls")
		}
		time.Sleep(2 * time.Second) // the standby looks at the lease several times
		if l, err := h.store.Leases().Holder(h.ctx, bot.PollerLease); err != nil || l.Owner != first.Owner {
			t.Fatalf("the lease moved while its holder ran: %+v %v", l, err)
		}

		// The poller stops (and hands the lease back): the standby polls.
		h.stop()
		h.eventually("the standby elected", func() bool {
			l, err := h.store.Leases().Holder(context.Background(), bot.PollerLease)
			return err == nil && l.Owner == "standby"
		})
		before := len(h.sb.Received(p.ID))
		if _, err := h.sb.SendMessage(p.ID, 0, "/help"); err != nil {
			t.Fatal(err)
		}
		h.eventually("an answer through the standby", func() bool { return len(h.sb.Received(p.ID)) > before })
		for _, c := range h.sb.Calls() {
			if c.Method == "getUpdates" && strings.Contains(c.Error, "Conflict") {
				t.Errorf("getUpdates cut off by another poller: %s", c.Error)
			}
		}
	})
}
