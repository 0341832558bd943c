package bot_test

// The bot's benchmarks (issue 7): bursts of work against the sandbox's
// rate limits, measured on the sandbox's call log, whose timestamps are on
// the world's clock (real time here). Each compares what it measures with
// the least time the sandbox's configured limits allow, so a change of
// limits changes the aim with it.
//
// Sizes are full by default and can be lowered for a quick run, e.g.
// KARMAGATE_BENCH_DMS=200 (see the README's Benchmarks table).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// benchSize reads a benchmark's size from env, def when unset.
func benchSize(b *testing.B, env string, def int) int {
	b.Helper()
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", env, v)
	}
	return n
}

// benchDatabases runs fn as a sub-benchmark per database: SQLite always,
// MariaDB when KARMAGATE_TEST_MYSQL is set.
func benchDatabases(b *testing.B, fn func(b *testing.B, spec string)) {
	for _, kind := range []string{"sqlite", "mysql"} {
		b.Run(kind, func(b *testing.B) {
			spec, ok := modelstest.Specs(b)[kind]
			if !ok {
				b.Skipf("%s not configured (set %s)", kind, modelstest.EnvMySQL)
			}
			fn(b, spec)
		})
	}
}

// benchHarness is the tests' harness with a call log long enough for a
// benchmark and the bot's own default limits. beforeRun may be nil.
func benchHarness(b *testing.B, spec string, beforeRun func(*harness)) *harness {
	b.Helper()
	return newHarness(b, spec, harnessOptions{
		sandbox:   sandbox.Config{MaxCalls: 500_000},
		limits:    bot.Limits{PerPrivate: 1},
		beforeRun: beforeRun,
	})
}

// minSendTime is the least time the sandbox's message limits allow for n
// messages from one bot, each to a different chat, starting with full
// buckets: the per-chat limits do not bind, the bot-wide one does, GlobalBurst
// at once and then one every 1/GlobalMsgPerSec (with StrictPacing, at most
// GlobalMsgPerSec in any second).
func minSendTime(lim world.Limits, n int) time.Duration {
	if n <= 0 {
		return 0
	}
	if lim.StrictPacing {
		return time.Duration((n-1)/lim.GlobalMsgPerSec) * time.Second
	}
	extra := max(0, n-lim.GlobalBurst)
	return time.Duration(float64(extra) / float64(lim.GlobalMsgPerSec) * float64(time.Second))
}

// refill waits until the sandbox's bot-wide bucket is full again after
// whatever the setup sent.
func refill(h *harness) {
	lim := h.sb.World().Limits()
	time.Sleep(time.Duration(float64(lim.GlobalBurst)/float64(lim.GlobalMsgPerSec)*float64(time.Second)) + 100*time.Millisecond)
}

// waitFor polls cond until it holds, failing the benchmark after timeout.
func waitFor(b *testing.B, what string, timeout time.Duration, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settled reports whether the outbox holds nothing due and every stored
// update is processed (harness.idle, without its 30 s deadline).
func settled(h *harness) bool {
	as, err := h.store.Actions(h.ctx, "")
	if err != nil {
		return false
	}
	now := h.clock.Now()
	for _, a := range as {
		if a.Status == models.ActionRunning || (a.Status == models.ActionPending && !a.NotBefore.After(now)) {
			return false
		}
	}
	u, err := h.store.UpdateCounts(h.ctx)
	return err == nil && u[models.UpdatePending] == 0 && u[models.UpdateRunning] == 0
}

// callReader reads the sandbox's call log from a mark on.
type callReader struct {
	w    *world.World
	next int
}

// watchCalls starts reading the call log after the calls made so far.
func watchCalls(h *harness) *callReader {
	r := &callReader{w: h.sb.World()}
	if cs := r.w.Calls(); len(cs) > 0 {
		r.next = cs[len(cs)-1].Seq + 1
	}
	return r
}

// read returns the calls made since the last read.
func (r *callReader) read() []world.Call {
	cs := r.w.CallsSince(r.next)
	if len(cs) > 0 {
		r.next = cs[len(cs)-1].Seq + 1
	}
	return cs
}

// is429 reports whether the sandbox answered a call with 429.
func is429(c world.Call) bool { return strings.HasPrefix(c.Error, "Too Many Requests") }

// dmTally counts the bot's messages to a set of people as the call log
// shows them.
type dmTally struct {
	to          map[int64]bool // the people counted
	got         map[int64]int  // messages delivered, by person
	first, last time.Time
	tooMany     int // 429 answers to any call
	calls       int // calls other than getUpdates
}

func newDMTally(people []world.User) *dmTally {
	t := &dmTally{to: map[int64]bool{}, got: map[int64]int{}}
	for _, p := range people {
		t.to[p.ID] = true
	}
	return t
}

func (t *dmTally) add(cs []world.Call) {
	for _, c := range cs {
		if is429(c) {
			t.tooMany++
		}
		if c.Method != "getUpdates" {
			t.calls++
		}
		if c.Method != "sendMessage" || c.Error != "" {
			continue
		}
		p, _ := c.Params.(map[string]string)
		id, err := strconv.ParseInt(p["chat_id"], 10, 64)
		if err != nil || !t.to[id] {
			continue
		}
		t.got[id]++
		if t.first.IsZero() || c.At.Before(t.first) {
			t.first = c.At
		}
		if c.At.After(t.last) {
			t.last = c.At
		}
	}
}

// people creates n sandbox users.
func people(h *harness, n int, prefix string) []world.User {
	out := make([]world.User, n)
	for i := range out {
		out[i] = sandboxtest.MustUser(h.t, h.sb, world.UserSpec{FirstName: fmt.Sprintf("%s%d", prefix, i)})
	}
	return out
}

// startedPeople creates n users who have each written to the bot once (so
// it may message them) and drops those messages from the bot's backlog, as
// if they had been answered long ago. Call it before the bot runs.
func startedPeople(h *harness, n int) []world.User {
	ps := people(h, n, "P")
	for _, p := range ps {
		if _, err := h.sb.SendMessage(p.ID, 0, "hello"); err != nil {
			h.t.Fatalf("%d writes to the bot: %v", p.ID, err)
		}
	}
	res, err := http.Post(h.sb.BotAPIURL()+"/bot"+h.sb.BotToken()+"/deleteWebhook", "application/json",
		strings.NewReader(`{"drop_pending_updates":true}`))
	if err != nil {
		h.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		h.t.Fatalf("drop the pending updates: %d %s", res.StatusCode, body)
	}
	return ps
}

// putMembers creates or updates members m0…m(n-1) of the webmasters group
// with the given karma, in one bulk transaction.
func putMembers(h *harness, n int, karma func(i int) int64) {
	ins := make([]models.MemberInput, n)
	for i := range ins {
		ins[i] = models.MemberInput{ID: fmt.Sprintf("m%d", i), Karma: karma(i), Groups: []string{"webmasters"}}
		if err := ins[i].Normalize(h.store.Rules()); err != nil {
			h.t.Fatal(err)
		}
	}
	if _, err := h.store.PutMembers(h.ctx, ins, "bench"); err != nil {
		h.t.Fatalf("put %d members: %v", n, err)
	}
}

// linkAll links member mi to ps[i] for every i with link(i) set, a few at a
// time. relink goes through RelinkTelegram, as /start does for a member not
// linked elsewhere (the invites it announces send no second message);
// otherwise LinkTelegram.
func linkAll(h *harness, ps []world.User, link func(i int) bool, relink bool) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ps) {
					return
				}
				if !link(i) {
					continue
				}
				id := fmt.Sprintf("m%d", i)
				var err error
				if relink {
					_, err = h.store.RelinkTelegram(h.ctx, id, models.TelegramUser{ID: ps[i].ID}, "bench")
				} else {
					_, err = h.store.LinkTelegram(h.ctx, id, ps[i].ID, "", "bench")
				}
				if err != nil {
					errs <- fmt.Errorf("link %s: %w", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		h.t.Fatal(err)
	}
	h.pool.Wake()
}

// percentile is the p-th percentile (0–100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkBot_AccessDMs: members linked while below the bar become
// eligible at once (one bulk karma change); the workers send each an
// access-gained DM. Wall time from the change to the last DM against the
// least the sandbox's limits allow (aim: ≤ 1.1×), and the 429s the sandbox
// answered (aim: none; the bot's own pacing must avoid them).
func BenchmarkBot_AccessDMs(b *testing.B) {
	n := benchSize(b, "KARMAGATE_BENCH_DMS", 2000)
	benchDatabases(b, func(b *testing.B, spec string) {
		for b.Loop() {
			b.StopTimer()
			var ps []world.User
			h := benchHarness(b, spec, func(h *harness) { ps = startedPeople(h, n) })
			h.group(h.person("Owner", "owner_tg"), "Webmasters Pro", "webmasters-pro")
			putMembers(h, n, func(int) int64 { return 50 })
			linkAll(h, ps, func(int) bool { return true }, false)
			waitFor(b, "the setup to settle", 5*time.Minute, func() bool { return settled(h) })
			refill(h)
			calls := watchCalls(h)
			tally := newDMTally(ps)
			lim := h.sb.World().Limits()
			least := minSendTime(lim, n)

			b.StartTimer()
			start := time.Now()
			putMembers(h, n, func(int) int64 { return 150 })
			eligible := time.Now()
			h.pool.Wake()
			waitFor(b, fmt.Sprintf("%d access DMs", n), 10*least+2*time.Minute, func() bool {
				tally.add(calls.read())
				return len(tally.got) == n
			})
			b.StopTimer()

			waitFor(b, "the outbox to settle", 2*time.Minute, func() bool { return settled(h) })
			tally.add(calls.read())
			for id, got := range tally.got {
				if got != 1 {
					b.Errorf("user %d got %d access DMs, want 1", id, got)
				}
			}
			wall := tally.last.Sub(eligible)
			b.ReportMetric(wall.Seconds(), "wall-s")
			b.ReportMetric(least.Seconds(), "min-s")
			if least > 0 {
				b.ReportMetric(wall.Seconds()/least.Seconds(), "x-min")
			}
			b.ReportMetric(float64(tally.tooMany), "429s")
			b.ReportMetric(float64(n)/wall.Seconds(), "dms/s")
			b.ReportMetric(ms(tally.first.Sub(eligible)), "first-dm-ms")
			b.ReportMetric(ms(eligible.Sub(start)), "karma-change-ms")
			b.ReportMetric(float64(tally.calls)/float64(n), "calls/member")
			h.stop()
			b.StartTimer() // b.Loop wants it running
		}
	})
}

// BenchmarkBot_StartBurst: members send /start <token> at once; time until
// every one is linked and answered against the least the limits allow for
// the answers.
func BenchmarkBot_StartBurst(b *testing.B) {
	n := benchSize(b, "KARMAGATE_BENCH_STARTS", 1000)
	benchDatabases(b, func(b *testing.B, spec string) {
		for b.Loop() {
			b.StopTimer()
			h := benchHarness(b, spec, nil)
			h.group(h.person("Owner", "owner_tg"), "Webmasters Pro", "webmasters-pro")
			putMembers(h, n, func(int) int64 { return 150 })
			ps := people(h, n, "S")
			toks := make([]string, n)
			for i := range toks {
				toks[i] = h.token(fmt.Sprintf("m%d", i))
			}
			waitFor(b, "the setup to settle", 5*time.Minute, func() bool { return settled(h) })
			refill(h)
			calls := watchCalls(h)
			tally := newDMTally(ps)
			least := minSendTime(h.sb.World().Limits(), n)

			b.StartTimer()
			start := time.Now()
			for i, p := range ps {
				if _, err := h.sb.SendMessage(p.ID, 0, "/start "+toks[i]); err != nil {
					b.Fatalf("/start from %d: %v", p.ID, err)
				}
			}
			sent := time.Now()
			waitFor(b, fmt.Sprintf("%d answers", n), 10*least+2*time.Minute, func() bool {
				tally.add(calls.read())
				return len(tally.got) == n
			})
			b.StopTimer()

			for i, p := range ps {
				v := h.member(fmt.Sprintf("m%d", i))
				if v.Member.TgUserID == nil || *v.Member.TgUserID != p.ID {
					b.Fatalf("m%d linked to %v, want %d", i, v.Member.TgUserID, p.ID)
				}
			}
			waitFor(b, "the outbox to settle", 2*time.Minute, func() bool { return settled(h) })
			tally.add(calls.read())
			extra := 0
			for _, got := range tally.got {
				extra += got - 1
			}
			wall := tally.last.Sub(start)
			b.ReportMetric(wall.Seconds(), "wall-s")
			b.ReportMetric(least.Seconds(), "min-s")
			if least > 0 {
				b.ReportMetric(wall.Seconds()/least.Seconds(), "x-min")
			}
			b.ReportMetric(float64(tally.tooMany), "429s")
			b.ReportMetric(float64(n)/wall.Seconds(), "links/s")
			b.ReportMetric(ms(tally.first.Sub(start)), "first-answer-ms")
			b.ReportMetric(ms(sent.Sub(start)), "send-starts-ms")
			b.ReportMetric(float64(extra), "extra-dms")
			b.ReportMetric(float64(tally.calls)/float64(n), "calls/member")
			h.stop()
			b.StartTimer() // b.Loop wants it running
		}
	})
}

// BenchmarkBot_WebhookIngest: updates posted to the real webhook handler
// over real HTTP by as many connections as the bot asks Telegram for
// (max_connections 40), each stored before it is acknowledged. Only the
// ingest runs (no processor), so the figure is the handler's and the
// database's.
func BenchmarkBot_WebhookIngest(b *testing.B) {
	n := benchSize(b, "KARMAGATE_BENCH_UPDATES", 5000)
	conns := benchSize(b, "KARMAGATE_BENCH_CONNS", 40)
	benchDatabases(b, func(b *testing.B, spec string) {
		ctx := context.Background()
		sb := sandboxtest.Start(b, sandbox.Config{NoMTProto: true})
		store := models.NewStore(modelstest.MustOpen(b, spec), modelstest.MustRules(b, testRules), models.Options{})
		tokens, err := linking.NewTokens(linking.TokenOptions{Secret: secret, Store: store.Tokens()})
		if err != nil {
			b.Fatal(err)
		}
		bt, err := bot.New(ctx, bot.Options{Token: sb.BotToken(), ServerURL: sb.BotAPIURL(), Store: store, Tokens: tokens, Secret: secret})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(bt.WebhookHandler())
		defer srv.Close()
		tr := &http.Transport{MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: time.Minute}
		secretToken := bt.WebhookSecret()

		// Half /start messages, half join requests, each from its own user.
		body := func(id int64) []byte {
			user := 500000 + id
			if id%2 == 0 {
				return startUpdate(id, world.User{ID: user, FirstName: "U"}, "/start")
			}
			return fmt.Appendf(nil, `{"update_id":%d,"chat_join_request":{"chat":{"id":-1001800000001,"type":"supergroup","title":"Webmasters Pro"},"from":{"id":%d,"is_bot":false,"first_name":"U"},"user_chat_id":%d,"date":%d,"query_id":"q%d"}}`,
				id, user, user, time.Now().Unix(), id)
		}
		post := func(raw []byte) (time.Duration, error) {
			req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(raw))
			if err != nil {
				return 0, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secretToken)
			start := time.Now()
			res, err := client.Do(req)
			if err != nil {
				return 0, err
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return 0, fmt.Errorf("update answered %d", res.StatusCode)
			}
			return time.Since(start), nil
		}

		var lat []time.Duration
		var elapsed time.Duration
		total := 0
		for b.Loop() {
			b.StopTimer()
			bodies := make([][]byte, n)
			for i := range bodies {
				bodies[i] = body(int64(total + i + 1))
			}
			one := make([]time.Duration, n)
			var next atomic.Int64
			var wg sync.WaitGroup
			var firstErr atomic.Value
			b.StartTimer()
			start := time.Now()
			for range conns {
				wg.Go(func() {
					for {
						i := int(next.Add(1)) - 1
						if i >= n {
							return
						}
						d, err := post(bodies[i])
						if err != nil {
							firstErr.CompareAndSwap(nil, err)
							return
						}
						one[i] = d
					}
				})
			}
			wg.Wait()
			elapsed += time.Since(start)
			b.StopTimer()
			if err, _ := firstErr.Load().(error); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, one...)
			total += n
			b.StartTimer() // b.Loop wants it running
		}
		counts, err := store.UpdateCounts(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if got := counts[models.UpdatePending]; got != int64(total) {
			b.Fatalf("%d updates stored, want %d", got, total)
		}
		slices.Sort(lat)
		b.ReportMetric(float64(total)/elapsed.Seconds(), "updates/s")
		b.ReportMetric(ms(percentile(lat, 50)), "p50-ack-ms")
		b.ReportMetric(ms(percentile(lat, 99)), "p99-ack-ms")
		b.ReportMetric(float64(n), "updates/op")
	})
}

// BenchmarkBot_GuardJoinBurst: join requests arrive at once on a chat whose
// guard bot is karmagate's, each a join-request query to answer within the
// sandbox's JoinRequestQueryTTL (10 s). Half are eligible members, a
// quarter members below the bar, a quarter strangers. Every request must be
// decided; the time from each request to the bot's answer (the request's
// time against the answerChatJoinRequestQuery call's, in the call log) is
// reported as p50, p99 and max, with the queries that expired unanswered.
func BenchmarkBot_GuardJoinBurst(b *testing.B) {
	n := benchSize(b, "KARMAGATE_BENCH_JOINS", 1000)
	benchDatabases(b, func(b *testing.B, spec string) {
		for b.Loop() {
			b.StopTimer()
			h := benchHarness(b, spec, nil)
			chat := h.group(h.person("Owner", "owner_tg"), "Webmasters Pro", "webmasters-pro")
			if err := h.sb.SetGuardBot(chat.BotAPIID(), h.bot.ID()); err != nil {
				b.Fatal(err)
			}
			ttl := h.sb.World().Limits().JoinRequestQueryTTL
			eligible := func(i int) bool { return i%4 < 2 }
			putMembers(h, n, func(i int) int64 {
				if eligible(i) {
					return 150
				}
				return 50
			})
			ps := people(h, n, "J")
			linkAll(h, ps, func(i int) bool { return i%4 != 3 }, true)
			waitFor(b, "the setup to settle", 5*time.Minute, func() bool { return settled(h) })
			link := h.joinLink("webmasters-pro")
			refill(h)

			type query struct {
				user int64
				at   time.Time
			}
			var mu sync.Mutex
			queries := map[string]query{}
			decided := map[int64]bool{} // user → approved
			stop := h.sb.World().Subscribe(func(ev world.Event) {
				mu.Lock()
				defer mu.Unlock()
				switch ev := ev.(type) {
				case world.JoinRequested:
					if ev.QueryID != "" {
						queries[ev.QueryID] = query{user: ev.UserID, at: ev.Date}
					}
				case world.JoinRequestResolved:
					decided[ev.UserID] = ev.Approved
				}
			})
			calls := watchCalls(h)

			b.StartTimer()
			start := time.Now()
			for _, p := range ps {
				res, err := h.sb.Join(p.ID, link)
				if err != nil || res.Result != "requested" {
					b.Fatalf("%d opens the join link: %+v, %v", p.ID, res, err)
				}
			}
			waitFor(b, fmt.Sprintf("%d join requests decided", n), 10*ttl+2*time.Minute, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(decided) == n
			})
			wall := time.Since(start)
			b.StopTimer()
			stop()

			mu.Lock()
			for i, p := range ps {
				if approved, want := decided[p.ID], eligible(i); approved != want {
					b.Errorf("J%d: approved %v, want %v", i, approved, want)
				}
			}
			if len(queries) != n {
				b.Errorf("%d join-request queries, want %d", len(queries), n)
			}
			var lat []time.Duration
			answered := map[string]bool{}
			tooMany, direct := 0, 0
			for _, c := range calls.read() {
				if is429(c) {
					tooMany++
				}
				if (c.Method == "approveChatJoinRequest" || c.Method == "declineChatJoinRequest") && c.Error == "" {
					direct++ // a query that expired, decided the old way
				}
				if c.Method != "answerChatJoinRequestQuery" {
					continue
				}
				p, _ := c.Params.(map[string]string)
				qid := p["chat_join_request_query_id"]
				q, ok := queries[qid]
				if !ok {
					continue
				}
				lat = append(lat, c.At.Sub(q.at))
				if c.Error == "" {
					answered[qid] = true
				}
			}
			mu.Unlock()
			expired := n - len(answered)
			slices.Sort(lat)
			b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
			b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
			b.ReportMetric(ms(percentile(lat, 100)), "max-ms")
			b.ReportMetric(float64(expired), "expired")
			b.ReportMetric(float64(direct), "decided-directly")
			b.ReportMetric(float64(tooMany), "429s")
			b.ReportMetric(wall.Seconds(), "all-decided-s")
			b.ReportMetric(ttl.Seconds(), "deadline-s")
			h.stop()
			b.StartTimer() // b.Loop wants it running
		}
	})
}
