package bot_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_OneJoinLinkAcrossInstances: two instances that both find a
// chat without its join link make one between them (a lease in the
// database, not a lock in one process): Telegram's budget of links per
// chat is not spent on orphans, and members are not sent two.
func TestBot_OneJoinLinkAcrossInstances(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		h.group(owner, "Webmasters Pro", "webmasters-pro")
		h.idle()
		ctx := context.Background()
		// Two instances (the harness's bot has spent its pace on the bind).
		var bots []*bot.Bot
		for _, owner := range []string{"instance-a", "instance-b"} {
			b, err := bot.New(ctx, bot.Options{Token: h.sb.BotToken(), ServerURL: h.sb.BotAPIURL(), Store: h.store, Tokens: h.tokens,
				Secret: secret, Now: h.clock.Now, Owner: owner, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			bots = append(bots, b)
		}
		if err := h.store.SetJoinLink(ctx, "webmasters-pro", ""); err != nil {
			t.Fatal(err)
		}
		row, err := h.store.ChatRow(ctx, "webmasters-pro")
		if err != nil {
			t.Fatal(err)
		}
		before := countCalls(h, "createChatInviteLink")
		var wg sync.WaitGroup
		links := make([]string, 8)
		for i := range links {
			b := bots[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				l, err := bot.EnsureJoinLink(cctx, b, row)
				if err != nil {
					t.Errorf("ensure the join link: %v", err)
				}
				links[i] = l
			}()
		}
		wg.Wait()
		if n := countCalls(h, "createChatInviteLink") - before; n != 1 {
			t.Errorf("createChatInviteLink called %d times by two instances, want 1", n)
		}
		for _, l := range links {
			if l != links[0] {
				t.Errorf("the instances answered different links: %q", links)
				break
			}
		}
	})
}

// countCalls counts the Bot API calls of method that Telegram took.
func countCalls(h *harness, method string) int {
	n := 0
	for _, c := range h.sb.Calls() {
		if c.API == "bot" && c.Method == method && c.Error == "" {
			n++
		}
	}
	return n
}
