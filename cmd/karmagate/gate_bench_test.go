package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"
)

// sandboxCall is a call of the sandbox's call log.
type sandboxCall struct {
	Seq    int               `json:"seq"`
	Method string            `json:"method"`
	Params map[string]string `json:"params"`
	Error  string            `json:"error"`
	At     time.Time         `json:"at"`
}

// callsSince reads the Bot API calls numbered seq and later.
func callsSince(e *e2e, seq int) ([]sandboxCall, error) {
	var raw json.RawMessage
	q := url.Values{"api": {"bot"}, "since": {strconv.Itoa(seq)}}
	if _, err := callJSON("GET", e.sandboxURL("/sandbox/calls?"+q.Encode()), "", nil, &raw); err != nil {
		return nil, err
	}
	var calls []sandboxCall
	if err := json.Unmarshal(raw, &calls); err != nil {
		var wrapped struct {
			Calls []sandboxCall `json:"calls"`
		}
		if err := json.Unmarshal(raw, &wrapped); err != nil {
			return nil, fmt.Errorf("calls: %w", err)
		}
		calls = wrapped.Calls
	}
	return calls, nil
}

// actionCall reports whether c carries out an action of the outbox (not
// serve's start-up: getMe, setWebhook, the join links' check, polling).
func actionCall(c sandboxCall) bool {
	switch c.Method {
	case "banChatMember", "unbanChatMember", "approveChatJoinRequest", "declineChatJoinRequest":
		return true
	case "sendMessage":
		id, err := strconv.ParseInt(c.Params["chat_id"], 10, 64)
		return err == nil && id > 0 // to a person, not a group
	}
	return false
}

// BenchmarkRecovery (issue 9): karmagate serve (the real binary) works
// through a backlog of removals (members whose karma dropped, each a ban,
// an unban and a message, paced at Telegram's 30 messages a second) and is
// killed with SIGKILL at a random moment; it is restarted at once. The
// figure is the time from the kill to the first action the restarted
// process carries out (the sandbox's call log), over several kills: its
// median and max, and the time until /healthz answers. Work the killed
// process had claimed waits for its lease (1 minute) and is not counted:
// the backlog's other actions go first. Sizes:
// KARMAGATE_BENCH_RECOVERY_MEMBERS (300), KARMAGATE_BENCH_RECOVERY_SAMPLES
// (5).
func BenchmarkRecovery(b *testing.B) {
	n := envInt(b, "KARMAGATE_BENCH_RECOVERY_MEMBERS", 300)
	samples := max(envInt(b, "KARMAGATE_BENCH_RECOVERY_SAMPLES", 5), 1)
	for b.Loop() {
		b.StopTimer()
		e := newE2E(b, false, crashEnv(b)...)
		w := newCrashWorkload(b, e, n)
		for _, m := range w.members {
			m.karma, m.change, m.probe = max(m.karma, 150), 0, false
		}
		w.setup()
		w.start(0, n)
		w.converge(5 * time.Minute)
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
		var recov, health []time.Duration
		seq := 0
		for s := range samples {
			// A fresh slice of members drops below every bar: removals.
			var bulk []map[string]any
			for i := s; i < n; i += samples {
				m := w.members[i]
				m.karma = 10
				bulk = append(bulk, map[string]any{"id": m.id, "karma": m.karma, "groups": m.groups})
			}
			if _, err := callJSON("POST", e.apiURL("/api/v1/members/bulk"), e.apiKey(), bulk, nil); err != nil {
				b.Fatal(err)
			}
			time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
			cs, err := callsSince(e, seq)
			if err != nil {
				b.Fatal(err)
			}
			if len(cs) > 0 {
				seq = cs[len(cs)-1].Seq + 1
			}
			b.StartTimer()
			e.kill()
			killed := time.Now()
			e.serve()
			healthy := time.Now()
			var first time.Time
			deadline := time.Now().Add(2 * time.Minute)
			for first.IsZero() {
				cs, err := callsSince(e, seq)
				if err != nil {
					b.Fatal(err)
				}
				for _, c := range cs {
					seq = c.Seq + 1
					if !c.At.Before(killed) && actionCall(c) {
						first = c.At
						break
					}
				}
				if time.Now().After(deadline) {
					b.Fatalf("no action carried out within 2 minutes of the restart\n%s", tail(e.logs.String(), 8000))
				}
				time.Sleep(5 * time.Millisecond)
			}
			b.StopTimer()
			recov = append(recov, first.Sub(killed))
			health = append(health, healthy.Sub(killed))
		}
		slices.Sort(recov)
		slices.Sort(health)
		med := recov[len(recov)/2]
		b.ReportMetric(ms(med), "median-ms")
		b.ReportMetric(ms(recov[len(recov)-1]), "max-ms")
		b.ReportMetric(ms(health[len(health)/2]), "healthz-median-ms")
		b.Logf("kill -9 → first action after the restart, %d samples: median %v, max %v (all %v); /healthz median %v",
			len(recov), med.Round(time.Millisecond), recov[len(recov)-1].Round(time.Millisecond), recov, health[len(health)/2].Round(time.Millisecond))
		e.kill()
		b.StartTimer() // b.Loop wants it running
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
