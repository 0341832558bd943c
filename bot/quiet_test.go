package bot_test

import (
	"testing"

	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_UpdatesAfterAQuietWeek: after a week without updates Telegram
// picks the next update_id at random, lower than the last. The /start that
// comes then is neither confirmed unseen by an offset left from before
// (the running poller's, or the one a restart resumes from) nor taken for
// a repeat of the stored update that had its id a week ago.
func TestBot_UpdatesAfterAQuietWeek(t *testing.T) {
	for _, restart := range []bool{false, true} {
		name := "running"
		if restart {
			name = "restarted"
		}
		t.Run(name, func(t *testing.T) {
			modelstest.Each(t, func(t *testing.T, spec string) {
				h := newHarness(t, spec, harnessOptions{})
				// A few updates, stored and done: ids 1, 2, 3, …
				for i, id := range []string{"m1", "m2", "m3"} {
					h.put(id, 10*int64(i+1), "webmasters")
				}
				for _, id := range []string{"m1", "m2", "m3"} {
					h.link(id, h.person("P"+id, ""))
				}
				h.idle()
				if restart {
					h.stop()
				}
				next := h.sb.BotAPI().Quiet(h.sb.Bot().ID)
				if restart {
					h = h.restart()
				}
				h.put("alice", 150, "webmasters")
				alice := h.person("Alice", "alice_tg")
				if got := h.link("alice", alice); got == "" {
					t.Fatal("no answer to /start")
				}
				if v := h.member("alice"); v.Member.TgUserID == nil || *v.Member.TgUserID != alice.ID {
					t.Fatalf("alice not linked after the quiet week (next update_id %d)", next)
				}
			})
		})
	}
}
