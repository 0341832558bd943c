package bot_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_StrangerThrottle is attack 8 of issue 13: 200 "/start junk" from
// one stranger get at most an answer a minute, the rest dropped without a
// notifications row or a send (and counted); a member's answers are not
// held back.
func TestBot_StrangerThrottle(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		reg := prometheus.NewRegistry()
		h := newHarness(t, spec, harnessOptions{registry: reg})
		h.put("alice", 150, "webmasters")
		alice := h.person("Alice", "alice_tg")
		contains(t, "alice links", h.link("alice", alice), "Linked")
		stranger := h.person("Stranger", "")
		h.idle()
		counts, err := h.store.UpdateCounts(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		done := counts[models.UpdateDone]

		const n = 200
		for range n {
			if _, err := h.sb.SendMessage(stranger.ID, 0, "/start junk"); err != nil {
				t.Fatal(err)
			}
		}
		// Answered at Telegram's pace of about one a second, 200 answers
		// would take minutes; dropped, they take no time.
		h.eventuallyWithin(60*time.Second, "the stranger's 200 updates handled", func() bool {
			c, err := h.store.UpdateCounts(h.ctx)
			return err == nil && c[models.UpdateDone] >= done+n
		})
		h.idle()
		if got := len(h.received(stranger.ID)); got < 1 || got > 2 {
			t.Errorf("the stranger got %d answers, want 1 or 2", got)
		}
		notices, err := h.store.Notices(h.ctx, stranger.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(notices) > 2 {
			t.Errorf("%d notifications rows for the stranger, want at most 2", len(notices))
		}
		dropped := counterSum(t, reg, "karmagate_replies_dropped_total")
		if dropped < n-2 {
			t.Errorf("karmagate_replies_dropped_total = %v, want at least %d", dropped, n-2)
		}

		// A minute later the stranger is answered once more.
		h.clock.Advance(61 * time.Second)
		before := len(h.received(stranger.ID))
		h.reply(stranger.ID, "/start junk")
		if got := len(h.received(stranger.ID)); got != before+1 {
			t.Errorf("after a minute: %d new answers, want 1", got-before)
		}

		// The member is answered every time.
		for i := range 3 {
			before := len(h.received(alice.ID))
			h.reply(alice.ID, "/start")
			if got := len(h.received(alice.ID)); got != before+1 {
				t.Errorf("member's message %d: %d answers", i, got-before)
			}
		}
	})
}

// counterSum adds up every series of a counter in reg (0 when it has none).
func counterSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
