package bot_test

import (
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/world"
)

// seatRules: five chats, one website group each.
const seatRules = `
groups: [g1, g2, g3, g4, g5]
chats:
  seat-1: {title: Seat 1, groups: [g1], min_karma: 100}
  seat-2: {title: Seat 2, groups: [g2], min_karma: 100}
  seat-3: {title: Seat 3, groups: [g3], min_karma: 100}
  seat-4: {title: Seat 4, groups: [g4], min_karma: 100}
  seat-5: {title: Seat 5, groups: [g5], min_karma: 100}
`

var seatLinkRE = regexp.MustCompile(`https://t\.me/\+[A-Za-z0-9_-]+`)

// BenchmarkBot_Seat (issue 9): linked members below the bar become
// eligible at once (one bulk karma change), each for one of five chats;
// the workers send each the chat's join link, the person taps it (a join
// request), the bot approves it. Wall time from the change until the last
// person is inside, against the least the sandbox's limits allow: every
// seat needs one message from the bot (the link), so the bot-wide message
// limit binds (minSendTime: GlobalBurst at once, then 1/GlobalMsgPerSec
// each; approvals and join requests are not message-limited). Aim: ≤ 1.1×
// and no 429. Size: KARMAGATE_BENCH_SEAT (10,000 in the README's figure).
func BenchmarkBot_Seat(b *testing.B) {
	n := benchSize(b, "KARMAGATE_BENCH_SEAT", 500)
	const chats = 5
	benchDatabases(b, func(b *testing.B, spec string) {
		for b.Loop() {
			b.StopTimer()
			var ps []world.User
			h := newHarness(b, spec, harnessOptions{
				rules: seatRules, sandbox: sandbox.Config{MaxCalls: 500_000}, limits: bot.Limits{PerPrivate: 1},
				beforeRun: func(h *harness) { ps = startedPeople(h, n) },
			})
			owner := h.person("Owner", "owner_tg")
			chatOf := map[int64]int64{} // Telegram chat id by person
			var groups [chats]world.Chat
			for c := range chats {
				groups[c] = h.group(owner, fmt.Sprintf("Seat %d", c+1), fmt.Sprintf("seat-%d", c+1))
			}
			put := func(karma int64) {
				ins := make([]models.MemberInput, n)
				for i := range ins {
					ins[i] = models.MemberInput{ID: fmt.Sprintf("m%d", i), Karma: karma, Groups: []string{fmt.Sprintf("g%d", i%chats+1)}}
					if err := ins[i].Normalize(h.store.Rules()); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := h.store.PutMembers(h.ctx, ins, "bench"); err != nil {
					b.Fatalf("put %d members: %v", n, err)
				}
				h.pool.Wake()
			}
			put(50)
			for i, p := range ps {
				chatOf[p.ID] = groups[i%chats].BotAPIID()
			}
			linkAll(h, ps, func(int) bool { return true }, false)
			waitFor(b, "the setup to settle", 10*time.Minute, func() bool { return settled(h) })
			refill(h)
			calls := watchCalls(h)
			lim := h.sb.World().Limits()
			least := minSendTime(lim, n)

			// The people: each taps the link in the bot's message at once.
			var mu sync.Mutex
			seated := map[int64]time.Time{}
			taps := make(chan [2]any, n)
			stop := h.sb.World().Subscribe(func(ev world.Event) {
				switch ev := ev.(type) {
				case world.MessageSent:
					m := ev.Message
					if m.FromID == h.bot.ID() && m.ToID != 0 {
						if l := seatLinkRE.FindString(m.Text); l != "" {
							taps <- [2]any{m.ToID, l}
						}
					}
				case world.MemberChanged:
					if ev.New.Status == world.StatusMember && chatOf[ev.New.User.ID] == -1000000000000-ev.ChannelID {
						mu.Lock()
						seated[ev.New.User.ID] = ev.Date
						mu.Unlock()
					}
				}
			})
			var tappers sync.WaitGroup
			tapErr := make(chan error, 1)
			for range 8 {
				tappers.Go(func() {
					for t := range taps {
						res, err := h.sb.Join(t[0].(int64), t[1].(string))
						if err == nil && res.Result != "requested" {
							err = fmt.Errorf("%d opens %s: %+v", t[0], t[1], res)
						}
						if err != nil {
							select {
							case tapErr <- err:
							default:
							}
						}
					}
				})
			}

			b.StartTimer()
			start := time.Now()
			put(150)
			eligible := time.Now()
			waitFor(b, fmt.Sprintf("%d people seated", n), 10*least+5*time.Minute, func() bool {
				select {
				case err := <-tapErr:
					b.Fatal(err)
				default:
				}
				mu.Lock()
				defer mu.Unlock()
				return len(seated) == n
			})
			b.StopTimer()
			stop()
			close(taps)
			tappers.Wait()

			var last time.Time
			for _, at := range seated {
				if at.After(last) {
					last = at
				}
			}
			waitFor(b, "the outbox to settle", 5*time.Minute, func() bool { return settled(h) })
			tally := newDMTally(ps)
			tally.add(calls.read())
			for id, got := range tally.got {
				if got != 1 {
					b.Errorf("user %d got %d messages, want 1", id, got)
				}
			}
			for c := range chats {
				if got, want := len(h.inChat(groups[c].BotAPIID())), n/chats+1; got < want-1 || got > want+1 {
					b.Errorf("chat %d holds %d, want about %d (and the owner and the bot)", c+1, got, want)
				}
			}
			wall := last.Sub(eligible)
			b.ReportMetric(wall.Seconds(), "wall-s")
			b.ReportMetric(least.Seconds(), "min-s")
			if least > 0 {
				b.ReportMetric(wall.Seconds()/least.Seconds(), "x-min")
			}
			b.ReportMetric(float64(tally.tooMany), "429s")
			b.ReportMetric(float64(n)/wall.Seconds(), "seats/s")
			b.ReportMetric(ms(eligible.Sub(start)), "karma-change-ms")
			b.ReportMetric(float64(tally.calls)/float64(n), "calls/seat")
			b.Logf("seated %d members in %d chats in %v against the %v the limits allow (%.3f×), %d 429s, %.2f calls a seat",
				n, chats, wall.Round(time.Millisecond), least.Round(time.Millisecond), wall.Seconds()/least.Seconds(), tally.tooMany, float64(tally.calls)/float64(n))
			h.stop()
			b.StartTimer() // b.Loop wants it running
		}
	})
}
