package bot_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/api"
	"github.com/karmagate/karmagate/callback"
	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
	"github.com/karmagate/karmagate/worker"
)

const breakerAPIKey = "breaker-test-api-key-0123456789abcdef"

var breakerCallbackSecret = []byte("breaker-callback-secret-0123456789abcdef")

// website receives karmagate's signed callbacks, as a website would.
type website struct {
	mu     sync.Mutex
	events []models.Callback
}

func (w *website) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	err = callback.Verify(breakerCallbackSecret, r.Header.Get(callback.HeaderTimestamp), r.Header.Get(callback.HeaderSignature), body, time.Now(), time.Hour)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusUnauthorized)
		return
	}
	var cb models.Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.events = append(w.events, cb)
	w.mu.Unlock()
}

func (w *website) ofType(typ string) []models.Callback {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []models.Callback
	for _, e := range w.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// breakerWorld is a harness whose store tells the site admin and the
// website, with a REST API over it, and a bound group of n linked members
// inside (karma 150; the bar is 100).
type breakerWorld struct {
	*harness
	admin world.User
	group world.Chat
	site  *website
	api   *httptest.Server
	users []world.User
}

func newBreakerWorld(t *testing.T, spec string, n int) *breakerWorld {
	t.Helper()
	h := newHarness(t, spec, harnessOptions{})
	w := &breakerWorld{site: &website{}}
	w.admin = h.person("Sam", "site_admin")
	siteSrv := httptest.NewServer(w.site)
	t.Cleanup(siteSrv.Close)
	sender, err := callback.New(callback.Options{URL: siteSrv.URL, Secret: breakerCallbackSecret, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	h.opts.admins = []int64{w.admin.ID}
	h.opts.executors = func(m map[string]worker.Executor) { m[models.ActionCallback] = sender }
	h.store = models.NewStore(h.store.DB(), h.store.Rules(), models.Options{Now: h.clock.Now, Admins: []int64{w.admin.ID}, Callbacks: true})
	h = h.restart()
	w.harness = h
	w.startAPI()
	h.reply(w.admin.ID, "/start") // the bot may write to the admin

	owner := h.person("Owner", "owner_tg")
	w.group = h.group(owner, "Webmasters Pro", "webmasters-pro")
	primary, ok := h.sb.World().PrimaryInvite(w.group.ID)
	if !ok {
		t.Fatal("no primary link")
	}
	ins := make([]models.MemberInput, n)
	for i := range ins {
		name := fmt.Sprintf("Person %03d", i)
		ins[i] = models.MemberInput{ID: fmt.Sprintf("m%03d", i), Karma: 150, Groups: []string{"webmasters"}, Name: &name}
		if err := ins[i].Normalize(h.store.Rules()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.store.PutMembers(h.ctx, ins, "website"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		u := h.person(fmt.Sprintf("P%03d", i), "")
		w.users = append(w.users, u)
		if _, err := h.store.LinkTelegram(h.ctx, ins[i].ID, u.ID, "", "test"); err != nil {
			t.Fatal(err)
		}
		if res, err := h.sb.Join(u.ID, primary.Link); err != nil || res.Result != "joined" {
			t.Fatalf("%s joins: %+v, %v", ins[i].ID, res, err)
		}
	}
	h.eventuallyWithin(2*time.Minute, fmt.Sprintf("%d members recorded inside", n), func() bool {
		st, err := h.store.ChatBreaker(h.ctx, "webmasters-pro")
		return err == nil && st.Inside == int64(n)
	})
	h.idle()
	return w
}

// startAPI serves the REST API and the dashboard over the store, as serve
// mounts them.
func (w *breakerWorld) startAPI() {
	d, err := dashboard.New(dashboard.Options{Store: w.store, Sessions: w.store, Removals: w.store, APIKey: breakerAPIKey, APIKeySignIn: true,
		Secret: secret, Now: w.clock.Now})
	if err != nil {
		w.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", d)
	mux.Handle("/", api.New(api.Options{Store: w.store, APIKey: breakerAPIKey, WakeWorkers: w.pool.Wake}))
	srv := httptest.NewServer(mux)
	w.t.Cleanup(srv.Close)
	w.api = srv
}

// overview signs in to the dashboard with the API key and returns the
// overview page.
func (w *breakerWorld) overview() string {
	w.t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(w.api.URL+"/admin/login", url.Values{"name": {""}, "secret": {breakerAPIKey}})
	if err != nil {
		w.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || len(res.Cookies()) == 0 {
		w.t.Fatalf("dashboard sign-in: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("GET", w.api.URL+"/admin/", nil)
	for _, c := range res.Cookies() {
		req.AddCookie(c)
	}
	res, err = noRedirect.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		w.t.Fatalf("overview: %d %s", res.StatusCode, body)
	}
	return string(body)
}

// call sends a REST call and decodes its JSON answer.
func (w *breakerWorld) call(method, path, body string) (int, map[string]any) {
	w.t.Helper()
	req, err := http.NewRequest(method, w.api.URL+path, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+breakerAPIKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		w.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

// inside counts the members still in the group, as Telegram has it.
func (w *breakerWorld) inside() int {
	in := w.inChat(w.group.BotAPIID())
	n := 0
	for _, u := range w.users {
		if in[u.ID] {
			n++
		}
	}
	return n
}

// checkTripped checks the story after dropped of 100 fell below the bar:
// 10 removed in Telegram, the others held with the reason "breaker", the
// admin told, the website told, the dashboard's banner, /pending says so.
func (w *breakerWorld) checkTripped(t *testing.T, dropped int) {
	t.Helper()
	held := dropped - 10
	w.eventually("10 removed", func() bool { return w.inside() <= 90 })
	w.idle()
	time.Sleep(200 * time.Millisecond) // nothing more may go
	w.idle()
	if n := w.inside(); n != 90 {
		t.Fatalf("%d of 100 inside, want 90: the cap is 10", n)
	}
	status, p := w.call("GET", "/api/v1/chats/webmasters-pro/pending", "")
	if status != 200 || p["count"] != float64(held) {
		t.Fatalf("GET pending = %d %v", status, p)
	}
	for _, r := range p["removals"].([]any) {
		if r := r.(map[string]any); r["hold_reason"] != "breaker" || !strings.Contains(r["reason"].(string), "karma") {
			t.Fatalf("held removal %v, want hold_reason breaker", r)
		}
	}
	br := p["breaker"].(map[string]any)
	if br["open"] != true || br["held"] != float64(held) || br["limit"] != 10.0 || br["max_removals"] != "10%/24h" || br["opened_at"] == nil {
		t.Errorf("breaker = %v", br)
	}
	defer func() {
		if t.Failed() {
			t.Logf("admin received %q", w.received(w.admin.ID))
		}
	}()
	w.eventually("the admin's DM", func() bool {
		for _, m := range w.received(w.admin.ID) {
			if strings.Contains(m, "Removal breaker open in Webmasters Pro") {
				return strings.Contains(m, "10 removal(s) started within 24h") && strings.Contains(m, fmt.Sprintf("%d more are held", held)) &&
					strings.Contains(m, "Person 0") && strings.Contains(m, fmt.Sprintf("and %d more", held-10))
			}
		}
		return false
	})
	w.eventually("the website's breaker.opened", func() bool {
		cbs := w.site.ofType(models.CallbackBreakerOpened)
		return len(cbs) == 1 && cbs[0].Chat == "webmasters-pro" && cbs[0].Breaker != nil && cbs[0].Breaker.Held == int64(held) && cbs[0].Breaker.Limit == 10
	})
	if rm := w.site.ofType(models.CallbackRemoved); len(rm) != 10 {
		t.Errorf("%d member.removed callbacks, want 10", len(rm))
	}
	body := w.overview()
	for _, want := range []string{`class="alert bad breaker"`, `data-breaker="webmasters-pro"`, "Removal breaker open in Webmasters Pro", fmt.Sprintf(`data-held="%d"`, held)} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard's overview lacks %q", want)
		}
	}
	pending := w.reply(w.admin.ID, "/pending")
	for _, want := range []string{fmt.Sprintf("%d removal(s) held", held), "removal breaker is open", "(held: breaker)", "/confirm"} {
		if !strings.Contains(pending, want) {
			t.Errorf("/pending = %q, want %q", pending, want)
		}
	}
}

// checkConfirmed confirms over REST (or with the site admin's /confirm)
// and checks the held ones go.
func (w *breakerWorld) checkConfirmed(t *testing.T, dropped int, byBot bool) {
	t.Helper()
	held := dropped - 10
	if byBot {
		got := w.reply(w.admin.ID, "/confirm")
		if !strings.Contains(got, fmt.Sprintf("%d removal(s) confirmed", held)) || !strings.Contains(got, "removal breaker is closed") {
			t.Fatalf("/confirm = %q", got)
		}
	} else {
		status, p := w.call("POST", "/api/v1/chats/webmasters-pro/pending/confirm", "")
		if status != 200 || p["confirmed"] != float64(held) || p["breaker"].(map[string]any)["open"] != false {
			t.Fatalf("confirm = %d %v", status, p)
		}
	}
	w.eventuallyWithin(2*time.Minute, "the held removed", func() bool { return w.inside() == 100-dropped })
	w.idle()
	if st, err := w.store.ChatBreaker(w.ctx, "webmasters-pro"); err != nil || st.Open || st.Held != 0 {
		t.Errorf("breaker after confirm = %+v, %v", st, err)
	}
	if strings.Contains(w.overview(), "data-breaker") {
		t.Error("the banner stays after the confirmation")
	}
}

// TestBot_RemovalBreaker_BulkPush: 100 members inside, one bulk REST push
// sets 60 of them below the bar: 10 are removed, 50 held with the reason
// "breaker"; the admin gets a DM, the website breaker.opened, /pending
// and GET …/pending list them; a REST confirm removes them.
func TestBot_RemovalBreaker_BulkPush(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		w := newBreakerWorld(t, spec, 100)
		var push []map[string]any
		for i := range 60 {
			push = append(push, map[string]any{"id": fmt.Sprintf("m%03d", i), "karma": 5, "groups": []string{"webmasters"}, "name": fmt.Sprintf("Person %03d", i)})
		}
		body, _ := json.Marshal(push)
		if status, p := w.call("POST", "/api/v1/members/bulk", string(body)); status != 200 {
			t.Fatalf("bulk = %d %v", status, p)
		}
		w.pool.Wake()
		w.checkTripped(t, 60)
		w.checkConfirmed(t, 60, false)
	})
}

// TestBot_RemovalBreaker_RulesReload: the same when a rules reload raises
// min_karma over everyone: only 10 of the 100 go until the site admin's
// /confirm.
func TestBot_RemovalBreaker_RulesReload(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		w := newBreakerWorld(t, spec, 100)
		raised, err := gate.ParseRules("rules.yaml", []byte(strings.Replace(testRules, "min_karma: 100", "min_karma: 200", 1)))
		if err != nil {
			t.Fatal(err)
		}
		w.store = models.NewStore(w.store.DB(), raised, models.Options{Now: w.clock.Now, Admins: []int64{w.admin.ID}, Callbacks: true})
		w.harness = w.restart()
		w.startAPI()
		if changed, err := w.store.SyncRules(w.ctx, "test"); err != nil || !changed {
			t.Fatalf("SyncRules = %v, %v", changed, err)
		}
		w.pool.Wake()
		w.checkTripped(t, 100)
		w.checkConfirmed(t, 100, true)
	})
}
