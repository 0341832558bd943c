package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models/modelstest"
)

// TestE2E_TwoInstances: two karmagate serve processes on one MariaDB
// database, both in polling mode, work through a backlog of 300 members
// (linked through the bot, let in through the chat's join-request link,
// 100 of them taken out again). One instance polls getUpdates (elected
// by the poller lease; Telegram would answer a second poller with 409),
// both process updates and actions. The sandbox's call log shows no
// effect twice, and nobody ineligible is in the chat at the end. Then the
// poller is killed with kill -9 and the other instance takes over polling.
func TestE2E_TwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("a 300-member backlog on two processes")
	}
	spec := mysqlSpec(t)
	a := newE2E(t, false, "KARMAGATE_DB="+spec)
	b := newE2EFromEnvFile(t, filepath.Join(a.dir, "sandbox.env"), "KARMAGATE_DB="+spec)
	a.serve()
	b.serve()
	f := newFleet(t, spec, a, b)
	const n, drop = 300, 100
	start := time.Now()
	f.bind()
	f.linkAll(n)
	f.joinAll()
	f.waitFor("all 300 in the chat", 5*time.Minute, func() bool { return f.inChat() == n })
	t.Logf("%d members linked and let in through two instances in %s", n, time.Since(start).Round(time.Millisecond))
	mid := time.Now()
	f.setKarma(f.ids[:drop], 10)
	f.waitFor("the 100 taken out", 5*time.Minute, func() bool { return f.inChat() == n-drop })
	f.waitSettled()
	t.Logf("%d removals through two instances in %s", drop, time.Since(mid).Round(time.Millisecond))

	f.checkOnce()
	f.checkNoLeak()
	done := map[string]int{}
	for _, e := range []*e2e{a, b} {
		done[e.listen] = actionsDone(t, e)
	}
	t.Logf("actions done per instance: %v", done)
	for addr, k := range done {
		if k == 0 {
			t.Errorf("instance %s executed no action: the backlog was not shared", addr)
		}
	}
	if got := countMatches(a.logs.String(), "this instance polls getUpdates") + countMatches(b.logs.String(), "this instance polls getUpdates"); got != 1 {
		t.Errorf("%d elections to poll, want 1 while both instances ran", got)
	}

	// kill -9 the poller: the other instance takes over getUpdates within
	// seconds (it marks the process dead, or its heart stops), and updates
	// flow again.
	leader, standby := a, b
	if !strings.Contains(a.logs.String(), "this instance polls getUpdates") {
		leader, standby = b, a
	}
	killed := time.Now()
	leader.kill()
	f.live = []*e2e{standby}
	late := f.ids[:20] // karma back: they may come in again
	f.setKarma(late, 150)
	f.joinSome(f.ids[:40]) // 20 now eligible, 20 still not
	f.waitFor("the other instance polling", 2*time.Minute, func() bool {
		return strings.Contains(standby.logs.String(), "this instance polls getUpdates")
	})
	took := time.Since(killed)
	t.Logf("polling taken over %s after the kill -9", took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("polling taken over %s after the kill -9, want within 3 s", took.Round(time.Millisecond))
	}
	f.waitFor("the 20 back in", 3*time.Minute, func() bool { return f.inChat() == n-drop+len(late) })
	f.waitSettled()
	f.checkOnce()
	f.checkNoLeak()
}

// TestE2E_TwoInstancesWebhook: the same two instances in webhook mode
// behind a load balancer that sends each delivery to the next instance
// (and to the other when one fails), with Telegram delivering 30% of the
// updates twice. Each update is processed once: nobody gets an answer
// twice, nothing is done twice, nobody ineligible is let in.
func TestE2E_TwoInstancesWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("a backlog on two processes")
	}
	spec := mysqlSpec(t)
	a := newE2E(t, false, "KARMAGATE_DB="+spec)
	b := newE2EFromEnvFile(t, filepath.Join(a.dir, "sandbox.env"), "KARMAGATE_DB="+spec)
	lb := newBalancer(t, a.listen, b.listen)
	for _, e := range []*e2e{a, b} {
		e.env = append(e.env, "KARMAGATE_WEBHOOK_URL="+lb.URL+"/telegram/webhook")
		e.serve()
	}
	a.sandbox("POST", "/sandbox/faults", map[string]any{"rate": 0.3, "seed": 9, "kinds": "duplicate"}, nil)
	f := newFleet(t, spec, a, b)
	const n, drop = 100, 30
	f.bind()
	f.linkAll(n)
	f.joinAll()
	f.waitFor("all in the chat", 5*time.Minute, func() bool { return f.inChat() == n })
	f.setKarma(f.ids[:drop], 10)
	f.waitFor("the 30 taken out", 5*time.Minute, func() bool { return f.inChat() == n-drop })
	f.waitSettled()
	f.checkOnce()
	f.checkNoLeak()
	var stored int64
	for _, e := range []*e2e{a, b} {
		k := metricSum(t, e, `karmagate_webhook_requests_total{outcome="stored"}`)
		if k == 0 {
			t.Errorf("instance %s was delivered no update", e.listen)
		}
		stored += k
	}
	var distinct int64
	if err := f.db.QueryRow("SELECT COUNT(*) FROM updates").Scan(&distinct); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d deliveries through the balancer for %d distinct updates", stored, distinct)
	if stored <= distinct {
		t.Errorf("%d deliveries for %d updates: the sandbox duplicated none, so the test shows nothing", stored, distinct)
	}
}

// newBalancer is a load balancer in front of backends: each request goes
// to the next backend in turn, and to the next one again when a backend
// cannot be reached or answers 5xx (as nginx's proxy_next_upstream does).
func newBalancer(t *testing.T, backends ...string) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	turn := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		first := turn
		turn++
		mu.Unlock()
		var last *http.Response
		for i := range backends {
			req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+backends[(first+i)%len(backends)]+r.URL.RequestURI(), bytes.NewReader(body))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			req.Header = r.Header.Clone()
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				continue
			}
			if res.StatusCode >= 500 && i < len(backends)-1 {
				res.Body.Close()
				continue
			}
			last = res
			break
		}
		if last == nil {
			http.Error(w, "no backend answered", http.StatusBadGateway)
			return
		}
		defer last.Body.Close()
		for k, v := range last.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(last.StatusCode)
		_, _ = io.Copy(w, last.Body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// metricSum adds up the samples of an instance's metric whose line starts
// with prefix (a name and, optionally, some of its labels).
func metricSum(t *testing.T, e *e2e, prefix string) int64 {
	t.Helper()
	res, err := http.Get("http://" + e.listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var sum int64
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += int64(v)
		}
	}
	return sum
}

// mysqlSpec is a throwaway database on the test server; the test is
// skipped without one (and fails under CI, through modelstest).
func mysqlSpec(t *testing.T) string {
	t.Helper()
	spec, ok := modelstest.Specs(t)["mysql"]
	if !ok {
		t.Skipf("%s is not set: this test runs karmagate on MariaDB", modelstest.EnvMySQL)
	}
	return spec
}

// fleet drives a workload through one or more karmagate instances on one
// sandbox and one database, and checks the outcome against the sandbox
// and the database.
type fleet struct {
	t     *testing.T
	live  []*e2e // instances the workload's API calls go to, in turn
	first *e2e   // owns the sandbox
	db    *sql.DB
	chat  int64
	link  string
	ids   []string         // member ids, in order
	users map[string]int64 // member id → sandbox user id
	calls []callRecord     // the sandbox's call log, collected as it grows
	seen  int
	turn  int
	// logErr is the last failure to read the call log, nil once read.
	logErr error
}

type callRecord struct {
	Seq    int             `json:"seq"`
	API    string          `json:"api"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Error  string          `json:"error"`
	Fault  string          `json:"fault"`
}

// param is a call's parameter as text.
func (c callRecord) param(name string) string {
	var ps map[string]any
	if json.Unmarshal(c.Params, &ps) != nil {
		return "" // not an object (a webhook delivery's update, say)
	}
	switch v := ps[name].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

func newFleet(t *testing.T, spec string, es ...*e2e) *fleet {
	t.Helper()
	db, err := sql.Open("mysql", strings.TrimPrefix(spec, "mysql:"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &fleet{t: t, live: es, first: es[0], db: db, users: map[string]int64{}}
}

// next is the instance the next API call goes to (a load balancer's turn).
func (f *fleet) next() *e2e {
	e := f.live[f.turn%len(f.live)]
	f.turn++
	return e
}

// parallel runs fn for each item on 8 goroutines and fails the test with
// the first error.
func parallel[T any](t *testing.T, items []T, fn func(T) error) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	ch := make(chan T)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if err := fn(it); err != nil {
					mu.Lock()
					first = cmpOr(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// retryCall is call, again while the instance answers 5xx or not at all
// (a load balancer retrying, the database away): up to a minute.
func retryCall(method, rawURL, auth string, body, out any) error {
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := callJSON(method, rawURL, auth, body, out)
		if err == nil || (st != 0 && st < 500) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// bind makes a group by hand, makes the bot its admin, binds it to
// webmasters-pro with /bind, and waits for the bound chat.
func (f *fleet) bind() {
	f.t.Helper()
	e := f.first
	owner := e.user("Owner")
	var c struct {
		ID int64 `json:"id"`
	}
	e.sandbox("POST", "/sandbox/chats", map[string]any{"title": "Webmasters Pro", "creator": owner}, &c)
	e.sandbox("POST", fmt.Sprintf("/sandbox/chats/%d/admins", c.ID), map[string]any{}, nil)
	e.say(owner, c.ID, e.bindCommand("webmasters-pro"))
	f.chat = c.ID
	f.waitFor("the chat bound", time.Minute, func() bool {
		var out struct {
			Chats []struct {
				Key  string `json:"key"`
				TgID *int64 `json:"telegram_chat_id"`
			} `json:"chats"`
		}
		if _, err := callJSON("GET", "http://"+f.next().listen+"/api/v1/chats", e.vars["KARMAGATE_API_KEY"], nil, &out); err != nil {
			return false
		}
		for _, ch := range out.Chats {
			if ch.Key == "webmasters-pro" && ch.TgID != nil && *ch.TgID == c.ID {
				return true
			}
		}
		return false
	})
}

// linkAll creates n eligible members (bulk), a Telegram user each, and
// links each through a deep link the API hands out and /start in the bot.
func (f *fleet) linkAll(n int) {
	f.t.Helper()
	base := len(f.ids)
	var ids []string
	var bulk []map[string]any
	for i := range n {
		id := fmt.Sprintf("m%04d", base+i)
		ids = append(ids, id)
		bulk = append(bulk, map[string]any{"id": id, "karma": 150, "groups": []string{"webmasters"}})
	}
	key := f.first.vars["KARMAGATE_API_KEY"]
	if err := retryCall("POST", "http://"+f.next().listen+"/api/v1/members/bulk", key, bulk, nil); err != nil {
		f.t.Fatal(err)
	}
	var mu sync.Mutex
	targets := make([]string, len(ids))
	for i := range ids {
		targets[i] = "http://" + f.next().listen
	}
	idx := make([]int, len(ids))
	for i := range idx {
		idx[i] = i
	}
	parallel(f.t, idx, func(i int) error {
		id := ids[i]
		var u sbUser
		if _, err := callJSON("POST", f.first.control+"/sandbox/users", "", map[string]any{"first_name": "Person " + id}, &u); err != nil {
			return err
		}
		var link struct {
			URL string `json:"url"`
		}
		if err := retryCall("POST", targets[i]+"/api/v1/members/"+id+"/link", key, nil, &link); err != nil {
			return err
		}
		lu, err := url.Parse(link.URL)
		if err != nil {
			return err
		}
		if _, err := callJSON("POST", fmt.Sprintf("%s/sandbox/users/%d/messages", f.first.control, u.ID), "", map[string]any{"text": "/start " + lu.Query().Get("start")}, nil); err != nil {
			return err
		}
		mu.Lock()
		f.users[id] = u.ID
		mu.Unlock()
		return nil
	})
	f.ids = append(f.ids, ids...)
	f.waitFor(fmt.Sprintf("%d members linked", len(f.ids)), 5*time.Minute, func() bool {
		var k int
		err := f.db.QueryRow("SELECT COUNT(*) FROM members WHERE tg_user_id IS NOT NULL").Scan(&k)
		return err == nil && k == len(f.ids)
	})
	if f.link == "" {
		var m struct {
			Chats []struct {
				JoinURL string `json:"join_url"`
			} `json:"chats"`
		}
		if err := retryCall("GET", "http://"+f.next().listen+"/api/v1/members/"+ids[0], key, nil, &m); err != nil {
			f.t.Fatal(err)
		}
		for _, c := range m.Chats {
			if c.JoinURL != "" {
				f.link = c.JoinURL
			}
		}
		if f.link == "" {
			f.t.Fatalf("no join_url for %s", ids[0])
		}
	}
}

// joinAll has every member open the chat's join-request link.
func (f *fleet) joinAll() { f.joinSome(f.ids) }

func (f *fleet) joinSome(ids []string) {
	f.t.Helper()
	parallel(f.t, ids, func(id string) error {
		_, err := callJSON("POST", fmt.Sprintf("%s/sandbox/users/%d/join", f.first.control, f.users[id]), "", map[string]any{"invite_link": f.link}, nil)
		return err
	})
}

// setKarma sets members' karma in one bulk call.
func (f *fleet) setKarma(ids []string, karma int) {
	f.t.Helper()
	var bulk []map[string]any
	for _, id := range ids {
		bulk = append(bulk, map[string]any{"id": id, "karma": karma, "groups": []string{"webmasters"}})
	}
	if err := retryCall("POST", "http://"+f.next().listen+"/api/v1/members/bulk", f.first.vars["KARMAGATE_API_KEY"], bulk, nil); err != nil {
		f.t.Fatal(err)
	}
}

// members is the chat's real member list (members only, not admins).
func (f *fleet) members() (map[int64]bool, error) {
	var raw struct {
		Members []struct {
			User   sbUser `json:"user"`
			Status string `json:"status"`
		} `json:"members"`
	}
	var list json.RawMessage
	if _, err := callJSON("GET", fmt.Sprintf("%s/sandbox/chats/%d/members", f.first.control, f.chat), "", nil, &list); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(list, &raw); err != nil || raw.Members == nil {
		if err := json.Unmarshal(list, &raw.Members); err != nil {
			return nil, fmt.Errorf("members: %s", list)
		}
	}
	out := map[int64]bool{}
	for _, m := range raw.Members {
		if m.Status == "member" {
			out[m.User.ID] = true
		}
	}
	return out, nil
}

// inChat is how many of the workload's members are in the chat.
func (f *fleet) inChat() int {
	in, err := f.members()
	if err != nil {
		return -1
	}
	k := 0
	for _, id := range f.ids {
		if in[f.users[id]] {
			k++
		}
	}
	return k
}

// waitFor polls cond until it holds, collecting the call log as it goes.
func (f *fleet) waitFor(what string, limit time.Duration, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		f.collect()
		if time.Now().After(deadline) {
			var logs []string
			for _, e := range f.live {
				logs = append(logs, tail(e.logs.String(), 60))
			}
			f.t.Fatalf("timed out after %s waiting for %s\n--- logs:\n%s", limit, what, strings.Join(logs, "\n---\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.collect()
}

// waitSettled waits until the outbox holds nothing due or running and
// every stored update is processed.
func (f *fleet) waitSettled() {
	f.t.Helper()
	f.waitFor("the outbox and the updates settled", 3*time.Minute, func() bool {
		var busy int
		err := f.db.QueryRow(`SELECT (SELECT COUNT(*) FROM actions WHERE status = 'running' OR (status = 'pending' AND not_before <= UTC_TIMESTAMP(6)))
			+ (SELECT COUNT(*) FROM updates WHERE status IN ('pending', 'running'))`).Scan(&busy)
		return err == nil && busy == 0
	})
}

// collect appends the calls the sandbox logged since the last look.
func (f *fleet) collect() {
	var cs []callRecord
	if _, err := callJSON("GET", fmt.Sprintf("%s/sandbox/calls?api=bot&since=%d", f.first.control, f.seen), "", nil, &cs); err != nil {
		f.logErr = err
		return
	}
	f.logErr = nil
	for _, c := range cs {
		if c.Seq >= f.seen {
			f.calls = append(f.calls, c)
			f.seen = c.Seq + 1
		}
	}
}

// checkOnce reads the call log: no user approved into, banned from or
// unbanned in the chat twice by one decision, no message sent twice to
// anyone, no getUpdates cut off by another (two pollers).
func (f *fleet) checkOnce() {
	f.t.Helper()
	f.collect()
	if f.logErr != nil {
		f.t.Fatalf("read the call log: %v", f.logErr)
	}
	if len(f.calls) == 0 || f.calls[0].Seq != 0 {
		f.t.Fatalf("the call log lost its start (first seq %v): raise the sandbox's MaxCalls", f.calls[:min(1, len(f.calls))])
	}
	type key struct{ method, user string }
	effects := map[key]int{}
	messages := map[string]int{}
	conflicts := 0
	for _, c := range f.calls {
		if c.Error != "" || c.Fault != "" {
			if c.Method == "getUpdates" && strings.Contains(c.Error, "Conflict") {
				conflicts++
			}
			continue
		}
		switch c.Method {
		case "approveChatJoinRequest", "banChatMember":
			effects[key{c.Method, c.param("user_id")}]++
		case "sendMessage":
			messages[c.param("chat_id")+"\x00"+c.param("text")]++
		}
	}
	// Members were let in once each, and taken out at most once per
	// removal decision: a member removed, let in and not removed again has
	// one ban; none was removed twice in this workload.
	for k, n := range effects {
		if n > 1 && k.method == "banChatMember" {
			f.t.Errorf("%s for user %s succeeded %d times", k.method, k.user, n)
		}
	}
	approvals := map[string]int{}
	for k, n := range effects {
		if k.method == "approveChatJoinRequest" {
			approvals[k.user] = n
		}
	}
	for _, id := range f.ids {
		u := strconv.FormatInt(f.users[id], 10)
		if approvals[u] > 2 {
			f.t.Errorf("%s approved into the chat %d times", id, approvals[u])
		}
	}
	for m, n := range messages {
		if n > 1 {
			chat, text, _ := strings.Cut(m, "\x00")
			f.t.Errorf("the same message went to %s %d times: %q", chat, n, text)
		}
	}
	if conflicts > 0 {
		f.t.Errorf("%d getUpdates calls ended in 409 Conflict: two instances polled at once", conflicts)
	}
	f.t.Logf("call log: %d Bot API calls checked", len(f.calls))
}

// checkNoLeak: everyone in the chat (but its admins) is a linked member
// who qualifies (karma >= 100).
func (f *fleet) checkNoLeak() {
	f.t.Helper()
	in, err := f.members()
	if err != nil {
		f.t.Fatal(err)
	}
	rows, err := f.db.Query("SELECT tg_user_id FROM members WHERE tg_user_id IS NOT NULL AND karma >= 100")
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	eligible := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			f.t.Fatal(err)
		}
		eligible[id] = true
	}
	leaks := 0
	for id := range in {
		if !eligible[id] {
			leaks++
			f.t.Errorf("leak: Telegram user %d is in the chat and does not qualify", id)
		}
	}
	f.t.Logf("leak check: %d members in the chat, %d ineligible", len(in), leaks)
}

var doneRE = regexp.MustCompile(`(?m)^karmagate_actions_total\{kind="[^"]*",outcome="done"\} (\d+)`)

// actionsDone reads how many actions an instance executed (its metrics).
func actionsDone(t *testing.T, e *e2e) int {
	t.Helper()
	res, err := http.Get("http://" + e.listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	k := 0
	for _, m := range doneRE.FindAllStringSubmatch(string(raw), -1) {
		n, _ := strconv.Atoi(m[1])
		k += n
	}
	return k
}

func countMatches(s, sub string) int { return strings.Count(s, sub) }

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	return strings.Join(ls[max(0, len(ls)-lines):], "\n")
}
