package main

import (
	"testing"
)

// TestE2E_QuietWeek: after a week without updates Telegram starts the
// update ids again at random, lower than the last. serve, killed and
// started again across that week, still answers the next person, polling
// (it does not resume from an offset that confirms the new ids unseen)
// and by webhook (it does not take the new update for a repeat of the
// stored one that had its id).
func TestE2E_QuietWeek(t *testing.T) {
	for _, mode := range []string{"polling", "webhook"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, mode == "webhook")
			e.serve()
			for _, name := range []string{"Bob", "Carol", "Erin"} {
				u := e.user(name)
				e.say(u, 0, "/help")
				e.eventually(name+" answered", func() bool { return len(e.received(u)) == 1 })
			}
			e.kill()
			var quiet struct {
				Next int64 `json:"next_update_id"`
			}
			e.sandbox("POST", "/sandbox/bot/quiet", map[string]any{}, &quiet)
			e.serve()
			dave := e.user("Dave")
			e.say(dave, 0, "/help")
			e.eventually("Dave answered after the quiet week", func() bool { return len(e.received(dave)) == 1 })
			// And once more, running: ids go on from the new start.
			frank := e.user("Frank")
			e.say(frank, 0, "/help")
			e.eventually("Frank answered", func() bool { return len(e.received(frank)) == 1 })
			t.Logf("the ids started again at %d", quiet.Next)
		})
	}
}
