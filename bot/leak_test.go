package bot_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestBot_LeakedLink: a chat's join link leaks to many people who do not
// qualify — strangers, and linked members below the bar or in the wrong
// group. Every request is declined; nobody gets in. KARMAGATE_TEST_LEAK
// sets how many (1,000 by default).
func TestBot_LeakedLink(t *testing.T) {
	n := 1000
	if v := os.Getenv("KARMAGATE_TEST_LEAK"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
		link := h.joinLink("webmasters-pro")
		// A tenth are linked members who do not qualify; the rest strangers.
		linked := n / 10
		in := make([]world.User, 0, n)
		for i := range n {
			u := h.person(fmt.Sprint("Leak", i), "")
			in = append(in, u)
			if i < linked {
				id := fmt.Sprintf("low%04d", i)
				if i%2 == 0 {
					h.put(id, 10, "webmasters")
				} else {
					h.put(id, 1000, "customers")
				}
				if _, err := h.store.RelinkTelegram(h.ctx, id, models.TelegramUser{ID: u.ID}, "test"); err != nil {
					t.Fatal(err)
				}
			}
		}
		start := time.Now()
		for _, u := range in {
			res, err := h.sb.Join(u.ID, link)
			if err != nil || res.Result != "requested" {
				t.Fatalf("join: %+v, %v", res, err)
			}
		}
		h.eventuallyWithin(3*time.Minute, "every request decided", func() bool { return len(h.sb.World().JoinRequests(chat.ID)) == 0 })
		t.Logf("%d requests decided in %s", n, time.Since(start).Round(time.Millisecond))
		members := h.inChat(chat.BotAPIID())
		admitted := 0
		for _, u := range in {
			if members[u.ID] {
				admitted++
			}
		}
		if admitted != 0 || len(members) != 2 {
			t.Errorf("%d of %d admitted through the leaked link; chat holds %d, want only the owner and the bot", admitted, n, len(members))
		}
	})
}
