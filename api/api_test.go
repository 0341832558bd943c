package api_test

import (
	"context"
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
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

const key = "test-key-0123456789"

type env struct {
	t      *testing.T
	srv    *httptest.Server
	store  *models.Store
	clock  *modelstest.Clock
	client *http.Client
}

func newEnv(t *testing.T, spec string) *env {
	t.Helper()
	db := modelstest.MustOpen(t, spec)
	clock := modelstest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	store := models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{Now: clock.Now})
	srv := httptest.NewServer(api.New(api.Options{Store: store, APIKey: key}))
	t.Cleanup(srv.Close)
	tr := &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &env{t: t, srv: srv, store: store, clock: clock, client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

type resp struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (e *env) do(method, path, ctype, body string, hdr ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := resp{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	json.Unmarshal(raw, &out.Body) // not every answer is a JSON object (metrics)
	return out
}

func (e *env) json(method, path, body string) resp {
	e.t.Helper()
	return e.do(method, path, "application/json", body)
}

func (e *env) form(method, path string, v url.Values) resp {
	e.t.Helper()
	return e.do(method, path, "application/x-www-form-urlencoded", v.Encode())
}

func chatState(r resp, key string) string {
	chats, _ := r.Body["chats"].([]any)
	for _, c := range chats {
		m := c.(map[string]any)
		if m["key"] == key {
			return m["state"].(string)
		}
	}
	return ""
}

func TestAPI_PutJSONAndFormAgree(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		j := e.json("PUT", "/api/v1/members/alice", `{"karma": 150, "groups": ["webmasters", "customers"], "name": "Alice", "phone": "+14155550123", "username": "@alice_tg"}`)
		if j.Status != http.StatusCreated || j.Header.Get("Location") != "/api/v1/members/alice" {
			t.Fatalf("json put = %d %s", j.Status, j.Raw)
		}
		forms := map[string]url.Values{
			"repeated": {"karma": {"150"}, "groups": {"webmasters", "customers"}, "name": {"Alice"}, "phone": {"+14155550123"}, "username": {"@alice_tg"}},
			"comma":    {"karma": {"150"}, "groups": {"customers, webmasters"}, "name": {"Alice"}, "phone": {"+14155550123"}, "username": {"@alice_tg"}},
			"php":      {"karma": {"150"}, "groups[0]": {"webmasters"}, "groups[1]": {"customers"}, "name": {"Alice"}, "phone": {"+14155550123"}, "username": {"@alice_tg"}},
		}
		for name, v := range forms {
			t.Run(name, func(t *testing.T) {
				f := e.form("PUT", "/api/v1/members/bob-"+name, v)
				if f.Status != http.StatusCreated {
					t.Fatalf("form put = %d %s", f.Status, f.Raw)
				}
				for _, k := range []string{"karma", "groups", "name", "phone", "username", "telegram", "chats"} {
					a, _ := json.Marshal(j.Body[k])
					b, _ := json.Marshal(f.Body[k])
					if k == "chats" {
						a, b = []byte(fmt.Sprint(chatState(j, "webmasters-pro"))), []byte(fmt.Sprint(chatState(f, "webmasters-pro")))
					}
					if string(a) != string(b) {
						t.Errorf("%s: json %s, form %s", k, a, b)
					}
				}
			})
		}
		g := e.json("GET", "/api/v1/members/alice", "")
		if g.Status != 200 || g.Body["username"] != "alice_tg" || g.Body["telegram"] != nil || chatState(g, "webmasters-pro") != "needs_link" {
			t.Fatalf("get = %d %s", g.Status, g.Raw)
		}
		links := g.Body["_links"].(map[string]any)
		for _, rel := range []string{"self", "link", "events"} {
			if links[rel] == nil {
				t.Errorf("missing _links.%s", rel)
			}
		}
		// A client may PUT back what it read.
		back := g.Raw
		if r := e.json("PUT", "/api/v1/members/alice", back); r.Status != 200 {
			t.Fatalf("round trip put = %d %s", r.Status, r.Raw)
		}
		// A multipart form (an HTML form with enctype multipart) works too.
		var mp strings.Builder
		mp.WriteString("--XX\r\nContent-Disposition: form-data; name=\"karma\"\r\n\r\n7\r\n--XX\r\nContent-Disposition: form-data; name=\"groups\"\r\n\r\ncustomers\r\n--XX--\r\n")
		if r := e.do("PUT", "/api/v1/members/multi", "multipart/form-data; boundary=XX", mp.String()); r.Status != 201 || r.Body["karma"] != 7.0 {
			t.Fatalf("multipart put = %d %s", r.Status, r.Raw)
		}
	})
}

func TestAPI_ConcurrentDeltas(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		if r := e.json("PUT", "/api/v1/members/carol", `{"karma": 0, "groups": ["webmasters"]}`); r.Status != 201 {
			t.Fatal(r.Raw)
		}
		const n = 1000
		var wg sync.WaitGroup
		var mu sync.Mutex
		var want int64
		failures := 0
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := int64(i%7 - 3) // -3..3
				// A 503 (the database busy past the write wait) wrote
				// nothing; the client tries again, as a website should.
				for attempt := 0; ; attempt++ {
					req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/members/carol/karma", strings.NewReader(fmt.Sprintf(`{"delta": %d}`, d)))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+key)
					res, err := e.client.Do(req)
					if err == nil && res.StatusCode == http.StatusServiceUnavailable && attempt < 20 {
						res.Body.Close()
						time.Sleep(100 * time.Millisecond)
						continue
					}
					mu.Lock()
					defer mu.Unlock()
					if err != nil || res.StatusCode != 200 {
						failures++
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					want += d
					return
				}
			}()
		}
		wg.Wait()
		if failures > 0 {
			t.Fatalf("%d of %d delta calls failed", failures, n)
		}
		r := e.json("GET", "/api/v1/members/carol", "")
		if got := int64(r.Body["karma"].(float64)); got != want {
			t.Fatalf("karma = %d, want the sum %d", got, want)
		}
	})
}

func TestAPI_BadInput(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		if r := e.json("PUT", "/api/v1/members/dora", `{"karma": 10, "groups": ["customers"]}`); r.Status != 201 {
			t.Fatal(r.Raw)
		}
		big := `{"karma": 1, "name": "` + strings.Repeat("x", api.MaxBody) + `"}`
		tests := []struct {
			name, method, path, ctype, body string
			hdr                             []string
			status                          int
			detail                          string
		}{
			{"fractional karma", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1.5}`, nil, 422, `"1.5" is not an integer`},
			{"string karma", "PUT", "/api/v1/members/dora", "application/json", `{"karma": "lots"}`, nil, 422, "not an integer"},
			{"karma out of range", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 9223372036854775808}`, nil, 422, "out of range"},
			{"form karma out of range", "PUT", "/api/v1/members/dora", "application/x-www-form-urlencoded", "karma=-9223372036854775809", nil, 422, "out of range"},
			{"missing karma", "PUT", "/api/v1/members/dora", "application/json", `{"groups": ["customers"]}`, nil, 422, "karma is required"},
			{"unknown group", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1, "groups": ["hackers"]}`, nil, 422, `unknown group "hackers"`},
			{"bad group name", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1, "groups": ["a b"]}`, nil, 422, "not a group name"},
			{"unknown field", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1, "karm": 2}`, nil, 422, `unknown field "karm"`},
			{"invalid id", "PUT", "/api/v1/members/bad%20id", "application/json", `{"karma": 1}`, nil, 400, "not a member id"},
			{"id too long", "GET", "/api/v1/members/" + strings.Repeat("a", 65), "", "", nil, 400, "not a member id"},
			{"invalid phone", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1, "phone": "555-1234"}`, nil, 422, "E.164"},
			{"invalid username", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1, "username": "a"}`, nil, 422, "Telegram username"},
			{"malformed json", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1`, nil, 400, "ends too early"},
			{"json syntax", "PUT", "/api/v1/members/dora", "application/json", `{karma: 1}`, nil, 400, "malformed JSON at byte"},
			{"json array", "PUT", "/api/v1/members/dora", "application/json", `[1]`, nil, 400, "JSON object"},
			{"empty body", "PUT", "/api/v1/members/dora", "application/json", ``, nil, 400, "empty"},
			{"trailing data", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1} {}`, nil, 400, "after the JSON object"},
			{"wrong content type", "PUT", "/api/v1/members/dora", "text/plain", `karma=1`, nil, 415, "not accepted"},
			{"no content type", "PUT", "/api/v1/members/dora", "", `{"karma": 1}`, nil, 415, "not accepted"},
			{"body over 1 MiB", "PUT", "/api/v1/members/dora", "application/json", big, nil, 413, "larger than"},
			{"missing key", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1}`, []string{"Authorization", ""}, 401, "API key"},
			{"wrong key", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1}`, []string{"Authorization", "Bearer nope"}, 401, "API key"},
			{"key prefix", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1}`, []string{"Authorization", "Bearer " + key[:5]}, 401, "API key"},
			{"basic auth", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1}`, []string{"Authorization", "Basic " + key}, 401, "API key"},
			{"unknown member", "GET", "/api/v1/members/nobody", "", "", nil, 404, "not found"},
			{"delta on unknown", "POST", "/api/v1/members/nobody/karma", "application/json", `{"delta": 1}`, nil, 404, "not found"},
			{"delete unknown", "DELETE", "/api/v1/members/nobody", "", "", nil, 404, "not found"},
			{"delta not int", "POST", "/api/v1/members/dora/karma", "application/json", `{"delta": "x"}`, nil, 422, "not an integer"},
			{"delta overflow", "POST", "/api/v1/members/dora/karma", "application/json", `{"delta": 9223372036854775807}`, nil, 422, "outside the range"},
			{"delta extra field", "POST", "/api/v1/members/dora/karma", "application/json", `{"delta": 1, "karma": 5}`, nil, 422, "exactly"},
			{"link without bot", "POST", "/api/v1/members/dora/link", "", "", nil, 503, "bot"},
			{"bad override", "PUT", "/api/v1/members/dora/overrides/webmasters-pro", "application/json", `{"mode": "sometimes"}`, nil, 422, "always, never or none"},
			{"override unknown chat", "PUT", "/api/v1/members/dora/overrides/nope", "application/json", `{"mode": "always"}`, nil, 404, "no gated chat"},
			{"unknown route", "GET", "/api/v1/nope", "", "", nil, 404, "no such API route"},
			{"bad events limit", "GET", "/api/v1/events?limit=0", "", "", nil, 400, "limit"},
		}
		before, err := e.store.Events(context.Background(), models.EventFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.do(tt.method, tt.path, tt.ctype, tt.body, tt.hdr...)
				if r.Status != tt.status {
					t.Fatalf("status = %d, want %d: %s", r.Status, tt.status, r.Raw)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("content type = %q", ct)
				}
				if d, _ := r.Body["detail"].(string); !strings.Contains(d, tt.detail) {
					t.Errorf("detail = %q, want it to mention %q", d, tt.detail)
				}
				if r.Body["status"] != float64(tt.status) || r.Body["type"] == nil || r.Body["title"] == nil {
					t.Errorf("not a problem document: %s", r.Raw)
				}
			})
		}
		// Nothing was written by any of them.
		after, err := e.store.Events(context.Background(), models.EventFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before) {
			t.Errorf("bad input wrote %d events", len(after)-len(before))
		}
		r := e.json("GET", "/api/v1/members/dora", "")
		if r.Body["karma"] != 10.0 || r.Body["phone"] != nil {
			t.Errorf("dora changed: %s", r.Raw)
		}
		if r := e.json("GET", "/api/v1/members/nobody", ""); r.Status != 404 {
			t.Errorf("a failed call created a member")
		}
	})
}

func TestAPI_ThresholdWritesOneAction(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		ctx := context.Background()
		mustStatus(t, e.json("PUT", "/api/v1/members/eve", `{"karma": 80, "groups": ["webmasters"]}`), 201, "", "")
		if _, err := e.store.LinkTelegram(ctx, "eve", 4201, "eve", "bot"); err != nil {
			t.Fatal(err)
		}
		count := func() int {
			as, err := e.store.Actions(ctx, "eve")
			if err != nil {
				t.Fatal(err)
			}
			return len(as)
		}
		r := e.json("PUT", "/api/v1/members/eve", `{"karma": 120, "groups": ["webmasters"]}`)
		if r.Status != 200 || chatState(r, "webmasters-pro") != "eligible" || count() != 1 {
			t.Fatalf("crossing: %d actions, %s", count(), r.Raw)
		}
		for i := range 3 {
			if r := e.json("PUT", "/api/v1/members/eve", `{"karma": 120, "groups": ["webmasters"]}`); r.Status != 200 || chatState(r, "webmasters-pro") != "eligible" {
				t.Fatalf("repeat %d: %d %s", i, r.Status, r.Raw)
			}
		}
		if count() != 1 {
			t.Fatalf("repeating the PUT queued %d actions", count()-1)
		}
		ev := e.json("GET", "/api/v1/events?member=eve&chat=webmasters-pro", "")
		evs := ev.Body["events"].([]any)
		if len(evs) != 1 || evs[0].(map[string]any)["to"] != "eligible" || evs[0].(map[string]any)["actor"] != "api" {
			t.Fatalf("events = %s", ev.Raw)
		}
		// The website may name who made a change.
		mustStatus(t, e.do("POST", "/api/v1/members/eve/karma", "application/json", `{"delta": 1}`, api.ActorHeader, "moderator.kim"), 200, "", "")
		ev = e.json("GET", "/api/v1/events?member=eve&kind=karma.changed", "")
		if evs := ev.Body["events"].([]any); len(evs) != 1 || evs[0].(map[string]any)["actor"] != "api:moderator.kim" {
			t.Fatalf("actor events = %s", ev.Raw)
		}
	})
}

func TestAPI_Bulk(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		r := e.json("POST", "/api/v1/members/bulk", `[{"id":"a1","karma":100,"groups":["webmasters"]},{"id":"a2","karma":60,"groups":"customers"}]`)
		if r.Status != 200 || r.Body["created"] != 2.0 {
			t.Fatalf("bulk = %d %s", r.Status, r.Raw)
		}
		nd := "{\"id\":\"a1\",\"karma\":100,\"groups\":[\"webmasters\"]}\n\n{\"id\":\"a3\",\"karma\":-4}\n"
		r = e.do("POST", "/api/v1/members/bulk", "application/x-ndjson", nd)
		if r.Status != 200 || r.Body["created"] != 1.0 || r.Body["unchanged"] != 1.0 {
			t.Fatalf("ndjson = %d %s", r.Status, r.Raw)
		}
		bad := []struct{ name, ctype, body, detail string }{
			{"invalid entries", "application/json", `[{"id":"b1","karma":1},{"id":"b 2","karma":1},{"id":"b3","karma":"x"},{"karma":1}]`, "3 of 4 members are invalid"},
			{"duplicate ids", "application/json", `[{"id":"b1","karma":1},{"id":"b1","karma":2}]`, "1 of 2"},
			{"not an array", "application/json", `{"id":"b1"}`, "array"},
			{"ndjson bad line", "application/x-ndjson", "{\"id\":\"b1\",\"karma\":1}\n{oops\n", "line 2"},
			{"empty", "application/json", `[]`, "no members"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				r := e.do("POST", "/api/v1/members/bulk", tt.ctype, tt.body)
				if r.Status < 400 || !strings.Contains(fmt.Sprint(r.Body["detail"]), tt.detail) {
					t.Fatalf("= %d %s", r.Status, r.Raw)
				}
				if g := e.json("GET", "/api/v1/members/b1", ""); g.Status != 404 {
					t.Fatal("a rejected bulk wrote b1")
				}
			})
		}
	})
}

func TestAPI_DeleteChatsHealthMetrics(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		mustStatus(t, e.json("PUT", "/api/v1/members/fay", `{"karma": 70, "groups": ["customers"]}`), 201, "", "")
		c := e.json("GET", "/api/v1/chats", "")
		chats := c.Body["chats"].([]any)
		cc := chats[1].(map[string]any)
		if len(chats) != 2 || cc["key"] != "customers-club" || cc["counts"].(map[string]any)["needs_link"] != 1.0 || cc["telegram_chat_id"] != nil {
			t.Fatalf("chats = %s", c.Raw)
		}
		if d := e.json("DELETE", "/api/v1/members/fay", ""); d.Status != 200 || d.Body["deleted"] != true {
			t.Fatalf("delete = %s", d.Raw)
		}
		if g := e.json("GET", "/api/v1/members/fay", ""); g.Status != 404 {
			t.Fatal("deleted member still there")
		}
		h := e.do("GET", "/healthz", "", "", "Authorization", "")
		if h.Status != 200 || h.Body["status"] != "ok" {
			t.Fatalf("healthz = %s", h.Raw)
		}
		m := e.do("GET", "/metrics", "", "", "Authorization", "")
		for _, want := range []string{"karmagate_http_requests_total", `karmagate_outbox_actions{status="pending"}`, `karmagate_chat_members{chat="customers-club",state="needs_link"} 0`} {
			if !strings.Contains(m.Raw, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

func TestAPI_HysteresisAndGrace(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		ctx := context.Background()
		mustStatus(t, e.json("PUT", "/api/v1/members/gil", `{"karma": 100, "groups": ["webmasters"]}`), 201, "", "")
		if _, err := e.store.LinkTelegram(ctx, "gil", 4301, "", "bot"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.SetInChat(ctx, "gil", "webmasters-pro", true, "bot"); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			delta   int64
			advance time.Duration
			want    string
		}{
			{-5, 0, "member"},            // 95: above leave_below (90)
			{-4, 0, "member"},            // 91
			{-2, 0, "grace"},             // 89: grace starts, with a warning
			{0, 23 * time.Hour, "grace"}, // still in grace
			{+5, 0, "member"},            // 94: back above leave_below in time
			{-10, 0, "grace"},            // 84: a new grace period
		}
		for i, s := range steps {
			e.clock.Advance(s.advance)
			if _, err := e.store.ExpireGrace(ctx, "grace"); err != nil {
				t.Fatal(err)
			}
			r := e.json("POST", "/api/v1/members/gil/karma", fmt.Sprintf(`{"delta": %d}`, s.delta))
			if got := chatState(r, "webmasters-pro"); got != s.want {
				t.Fatalf("step %d: state %s, want %s (%s)", i, got, s.want, r.Raw)
			}
		}
		e.clock.Advance(24 * time.Hour)
		if n, err := e.store.ExpireGrace(ctx, "grace"); err != nil || n != 1 {
			t.Fatalf("sweep = %d, %v", n, err)
		}
		r := e.json("GET", "/api/v1/members/gil", "")
		if chatState(r, "webmasters-pro") != "removing" {
			t.Fatalf("after grace: %s", r.Raw)
		}
		acts, err := e.store.Actions(ctx, "gil")
		if err != nil {
			t.Fatal(err)
		}
		// Each grace period queued a warning for gil in webmasters-pro; no
		// worker ran, so the recovery cancelled the first and the removal
		// superseded the second. One removal is pending.
		var warns, removals []string
		for _, a := range acts {
			desc := fmt.Sprintf("%s %s %s", a.MemberExt, a.ChatKey, a.Status)
			switch a.Kind {
			case "warn":
				warns = append(warns, desc)
			case "remove":
				removals = append(removals, desc)
			}
		}
		if want := []string{"gil webmasters-pro cancelled", "gil webmasters-pro cancelled"}; fmt.Sprint(warns) != fmt.Sprint(want) {
			t.Errorf("warnings = %q, want %q", warns, want)
		}
		if want := []string{"gil webmasters-pro pending"}; fmt.Sprint(removals) != fmt.Sprint(want) {
			t.Errorf("removals = %q, want %q", removals, want)
		}
	})
}

func TestAPI_ConcurrentCreates(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		const n = 50
		var wg sync.WaitGroup
		codes := make(chan int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("PUT", e.srv.URL+"/api/v1/members/hana", strings.NewReader(fmt.Sprintf(`{"karma": %d, "groups": ["customers"]}`, 100+i)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				res, err := e.client.Do(req)
				if err != nil {
					codes <- 0
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				codes <- res.StatusCode
			}()
		}
		wg.Wait()
		close(codes)
		got := map[int]int{}
		for c := range codes {
			got[c]++
		}
		if got[201] != 1 || got[200] != n-1 {
			t.Fatalf("statuses = %v, want one 201 and %d 200", got, n-1)
		}
		ev, err := e.store.Events(context.Background(), models.EventFilter{Member: "hana", Kind: models.EventMemberCreated})
		if err != nil {
			t.Fatal(err)
		}
		if len(ev) != 1 {
			t.Fatalf("created events = %d", len(ev))
		}
	})
}

func TestAPI_ListMembers(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		for i, k := range []int{150, 20, 300} {
			mustStatus(t, e.json("PUT", fmt.Sprintf("/api/v1/members/w%d", i), fmt.Sprintf(`{"karma": %d, "groups": ["webmasters"]}`, k)), 201, "", "")
		}
		r := e.json("GET", "/api/v1/members?chat=webmasters-pro&state=needs_link&limit=1", "")
		ms := r.Body["members"].([]any)
		if r.Status != 200 || len(ms) != 1 || ms[0].(map[string]any)["id"] != "w0" || ms[0].(map[string]any)["state"] != "needs_link" {
			t.Fatalf("list = %s", r.Raw)
		}
		next := r.Body["_links"].(map[string]any)["next"].(map[string]any)["href"].(string)
		r = e.json("GET", next, "")
		ms = r.Body["members"].([]any)
		if len(ms) != 1 || ms[0].(map[string]any)["id"] != "w2" {
			t.Fatalf("next page = %s", r.Raw)
		}
		for _, bad := range []struct{ q, detail string }{
			{"?state=member", "needs chat"},
			{"?chat=webmasters-pro&state=vip", "unknown state"},
			{"?limit=5000", "limit"},
			{"?after=bad%20id", "not a member id"},
			{"?chat=nope", "no gated chat"},
		} {
			r := e.json("GET", "/api/v1/members"+bad.q, "")
			if r.Status < 400 || !strings.Contains(fmt.Sprint(r.Body["detail"]), bad.detail) {
				t.Errorf("%s: %d %s", bad.q, r.Status, r.Raw)
			}
		}
	})
}
