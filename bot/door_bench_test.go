package bot_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/world"
)

// BenchmarkBot_DoorJoinBurst: 1,000 join requests at once at a door: app
// chat whose guard bot is karmagate's (KARMAGATE_BENCH_JOINS), half of them
// from members who qualify (approved through the query) and half from
// people who do not (shown the Mini App with sendChatJoinRequestWebApp).
// Either answer is due within the query's 10 seconds: it reports the
// latency from the request to the answer, and how many queries expired.
func BenchmarkBot_DoorJoinBurst(b *testing.B) {
	n := benchSize(b, "KARMAGATE_BENCH_JOINS", 1000)
	benchDatabases(b, func(b *testing.B, spec string) {
		for b.Loop() {
			b.StopTimer()
			h := newHarness(b, spec, harnessOptions{rules: doorRules, doorURL: doorApp, sandbox: sandbox.Config{MaxCalls: 500_000}, limits: bot.Limits{PerPrivate: 1}})
			chat := h.group(h.person("Owner", "owner_tg"), "Webmasters Pro", "webmasters-pro")
			if err := h.sb.SetGuardBot(chat.BotAPIID(), h.bot.ID()); err != nil {
				b.Fatal(err)
			}
			ttl := h.sb.World().Limits().JoinRequestQueryTTL
			eligible := func(i int) bool { return i%2 == 0 }
			putMembers(h, n, func(i int) int64 {
				if eligible(i) {
					return 150
				}
				return 50
			})
			ps := people(h, n, "D")
			linkAll(h, ps, func(int) bool { return true }, true)
			waitFor(b, "the setup to settle", 5*time.Minute, func() bool { return settled(h) })
			link := h.joinLink("webmasters-pro")
			refill(h)

			var mu sync.Mutex
			asked := map[string]time.Time{} // query id → when the request came
			stop := h.sb.World().Subscribe(func(ev world.Event) {
				if ev, ok := ev.(world.JoinRequested); ok && ev.QueryID != "" {
					mu.Lock()
					asked[ev.QueryID] = ev.Date
					mu.Unlock()
				}
			})
			calls := watchCalls(h)
			answered := map[string]string{} // query id → method
			var lat []time.Duration
			collect := func() int {
				for _, c := range calls.read() {
					if (c.Method != "answerChatJoinRequestQuery" && c.Method != "sendChatJoinRequestWebApp") || c.Error != "" {
						continue
					}
					p, _ := c.Params.(map[string]string)
					qid := p["chat_join_request_query_id"]
					mu.Lock()
					at, ok := asked[qid]
					mu.Unlock()
					if _, seen := answered[qid]; ok && !seen {
						answered[qid] = c.Method
						lat = append(lat, c.At.Sub(at))
					}
				}
				return len(answered)
			}

			b.StartTimer()
			start := time.Now()
			for _, p := range ps {
				if res, err := h.sb.Join(p.ID, link); err != nil || res.Result != "requested" {
					b.Fatalf("%d opens the join link: %+v, %v", p.ID, res, err)
				}
			}
			waitFor(b, fmt.Sprintf("%d join requests answered", n), 10*ttl+2*time.Minute, func() bool { return collect() == n })
			wall := time.Since(start)
			b.StopTimer()
			stop()

			apps := 0
			for _, m := range answered {
				if m == "sendChatJoinRequestWebApp" {
					apps++
				}
			}
			if apps != n/2 {
				b.Errorf("%d Mini Apps shown, want %d", apps, n/2)
			}
			late := 0
			for _, d := range lat {
				if d >= ttl {
					late++
				}
			}
			slices.Sort(lat)
			b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
			b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
			b.ReportMetric(ms(percentile(lat, 100)), "max-ms")
			b.ReportMetric(float64(apps), "mini-apps")
			b.ReportMetric(float64(late), "late")
			b.ReportMetric(wall.Seconds(), "all-answered-s")
			h.stop()
			b.StartTimer()
		}
	})
}
