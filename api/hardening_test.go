package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
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

// newEnvWith is newEnv with API options of the test's choosing.
func newEnvWith(t *testing.T, spec string, opts api.Options) *env {
	t.Helper()
	db := modelstest.MustOpen(t, spec)
	clock := modelstest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	store := models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{Now: clock.Now})
	opts.Store, opts.APIKey = store, key
	srv := httptest.NewServer(api.New(opts))
	t.Cleanup(srv.Close)
	tr := &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &env{t: t, srv: srv, store: store, clock: clock, client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// mustStatus fails the test unless r has the status; a problem must be
// problem+json and, when field is given, name it.
func mustStatus(t *testing.T, r resp, status int, field, detail string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %s", r.Status, status, r.Raw)
	}
	if status < 400 {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type = %q, want application/problem+json: %s", ct, r.Raw)
	}
	if r.Body["status"] != float64(status) || r.Body["type"] == nil || r.Body["title"] == nil {
		t.Errorf("not a problem document: %s", r.Raw)
	}
	if d, _ := r.Body["detail"].(string); !strings.Contains(d, detail) {
		t.Errorf("detail = %q, want it to mention %q", d, detail)
	}
	if field != "" && r.Body["field"] != field {
		t.Errorf("field = %v, want %q", r.Body["field"], field)
	}
}

// countEvents counts a member's events of a kind.
func countEvents(t *testing.T, e *env, member, kind string) int {
	t.Helper()
	evs, err := e.store.Events(context.Background(), models.EventFilter{Member: member, Kind: kind, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func TestAPI_SetOverride(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		const path = "/api/v1/members/olga/overrides/webmasters-pro"
		mustStatus(t, e.json("PUT", "/api/v1/members/olga", `{"karma": 150, "groups": ["webmasters"]}`), 201, "", "")
		mustStatus(t, e.json("PUT", path, `{"mode": "never"}`), 200, "", "")
		if n := countEvents(t, e, "olga", models.EventOverrideSet); n != 1 {
			t.Fatalf("override events = %d, want 1", n)
		}
		never := e.json("GET", "/api/v1/members/olga", "")
		bad := []struct {
			name, ctype, body, field, detail string
		}{
			{"form typo", "application/x-www-form-urlencoded", "mdoe=never", "mdoe", `unknown field "mdoe"`},
			{"form typo beside mode", "application/x-www-form-urlencoded", "mode=never&mdoe=none", "mdoe", `unknown field "mdoe"`},
			{"form empty", "application/x-www-form-urlencoded", "mode=", "mode", "empty"},
			{"form none given", "application/x-www-form-urlencoded", "", "mode", "required"},
			{"form twice", "application/x-www-form-urlencoded", "mode=never&mode=none", "mode", "once"},
			{"json null", "application/json", `{"mode": null}`, "mode", "required"},
			{"json empty", "application/json", `{"mode": ""}`, "mode", "empty"},
			{"json missing", "application/json", `{}`, "mode", "required"},
			{"json typo", "application/json", `{"mdoe": "none"}`, "mdoe", `unknown field "mdoe"`},
			{"json extra field", "application/json", `{"mode": "none", "why": "x"}`, "why", `unknown field "why"`},
			{"json number", "application/json", `{"mode": 0}`, "mode", "string"},
			{"json twice", "application/json", `{"mode": "never", "mode": "none"}`, "mode", "given twice"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				mustStatus(t, e.do("PUT", path, tt.ctype, tt.body), 422, tt.field, tt.detail)
			})
		}
		if g := e.json("GET", "/api/v1/members/olga", ""); chatState(g, "webmasters-pro") != chatState(never, "webmasters-pro") {
			t.Fatalf("a refused call changed the override: %s", g.Raw)
		}
		// Repeating an override changes nothing and records nothing.
		mustStatus(t, e.json("PUT", path, `{"mode": "never"}`), 200, "", "")
		mustStatus(t, e.form("PUT", path, url.Values{"mode": {"never"}}), 200, "", "")
		if n := countEvents(t, e, "olga", models.EventOverrideSet); n != 1 {
			t.Fatalf("override events after repeats = %d, want 1", n)
		}
		mustStatus(t, e.json("PUT", path, `{"mode": "none"}`), 200, "", "")
		mustStatus(t, e.json("PUT", path, `{"mode": "none"}`), 200, "", "")
		if n := countEvents(t, e, "olga", models.EventOverrideSet); n != 2 {
			t.Fatalf("override events after lifting twice = %d, want 2", n)
		}
		if g := e.json("GET", "/api/v1/members/olga", ""); chatState(g, "webmasters-pro") != "needs_link" {
			t.Fatalf("lifted override: %s", g.Raw)
		}
	})
}

func TestAPI_RefusedInput(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		mustStatus(t, e.json("PUT", "/api/v1/members/dora", `{"karma": 10, "groups": ["customers"]}`), 201, "", "")
		const form = "application/x-www-form-urlencoded"
		tests := []struct {
			name, method, path, ctype, body string
			hdr                             []string
			status                          int
			field, detail                   string
		}{
			{"invalid UTF-8 in a JSON string", "PUT", "/api/v1/members/dora", "application/json", "{\"karma\": 1, \"name\": \"Caf\xe9\"}", nil, 422, "name", "not valid UTF-8"},
			{"invalid UTF-8 in a form", "PUT", "/api/v1/members/dora", form, "karma=1&name=Caf%E9", nil, 422, "name", "UTF-8"},
			{"lone surrogate", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1, "name": "\ud800"}`, nil, 422, "name", "surrogate"},
			{"invalid UTF-8 in a name", "PUT", "/api/v1/members/dora", "application/json", "{\"karma\": 1, \"n\xe9\": 1}", nil, 400, "", "field name must be UTF-8"},
			{"byte order mark, JSON", "PUT", "/api/v1/members/dora", "application/json", "\xef\xbb\xbf{\"karma\": 1}", nil, 400, "", "byte order mark"},
			{"byte order mark, form", "PUT", "/api/v1/members/dora", form, "\xef\xbb\xbfkarma=1", nil, 400, "", "byte order mark"},
			{"duplicate karma", "PUT", "/api/v1/members/dora", "application/json", `{"karma":100,"karma":-5}`, nil, 422, "karma", "given twice"},
			{"duplicate delta", "POST", "/api/v1/members/dora/karma", "application/json", `{"delta":-5,"delta":-7}`, nil, 422, "delta", "given twice"},
			{"delta form extra field", "POST", "/api/v1/members/dora/karma", form, "delta=1&karma=5", nil, 422, "karma", `unknown field "karma"`},
			{"id .", "PUT", "/api/v1/members/%2E", "application/json", `{"karma": 1}`, nil, 400, "id", "not a member id"},
			{"id ..", "PUT", "/api/v1/members/%2E%2E", "application/json", `{"karma": 1}`, nil, 400, "id", "not a member id"},
			{"body id differs", "PUT", "/api/v1/members/dora", "application/json", `{"id": "eve", "karma": 1}`, nil, 422, "id", "differs"},
			{"body id not a string", "PUT", "/api/v1/members/dora", "application/json", `{"id": 7, "karma": 1}`, nil, 422, "id", "string"},
			{"form id differs", "PUT", "/api/v1/members/dora", form, "id=eve&karma=1", nil, 422, "id", "differs"},
			{"JSON sent as a form", "PUT", "/api/v1/members/dora", form, `{"karma": 1}`, nil, 415, "", "send Content-Type: application/json"},
			{"JSON sent without a type", "PUT", "/api/v1/members/dora", "", `{"karma": 1}`, nil, 415, "", "send Content-Type: application/json"},
			{"invalid actor", "PUT", "/api/v1/members/dora", "application/json", `{"karma": 1}`, []string{api.ActorHeader, "moderator kim"}, 400, api.ActorHeader, api.ActorHeader},
			{"field for link", "POST", "/api/v1/members/dora/link", "application/json", `{"ttl": 60}`, nil, 422, "ttl", `unknown field "ttl"`},
			{"form field for link", "POST", "/api/v1/members/dora/link", form, "ttl=60", nil, 422, "ttl", `unknown field "ttl"`},
			{"invalid actor on delete", "DELETE", "/api/v1/members/dora", "", "", []string{api.ActorHeader, strings.Repeat("a", 65)}, 400, api.ActorHeader, api.ActorHeader},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				mustStatus(t, e.do(tt.method, tt.path, tt.ctype, tt.body, tt.hdr...), tt.status, tt.field, tt.detail)
			})
		}
		r := e.json("GET", "/api/v1/members/dora", "")
		if r.Status != 200 || r.Body["karma"] != 10.0 || r.Body["name"] != nil {
			t.Errorf("dora changed: %s", r.Raw)
		}
		if n := countEvents(t, e, "dora", ""); n != 1 {
			t.Errorf("refused calls wrote %d events", n-1)
		}
		// The same id as the URL's, as GET returns it, is fine.
		mustStatus(t, e.json("PUT", "/api/v1/members/dora", `{"id": "dora", "karma": 11}`), 200, "", "")
		mustStatus(t, e.form("PUT", "/api/v1/members/dora", url.Values{"id": {"dora"}, "karma": {"12"}}), 200, "", "")
	})
}

func TestAPI_Routes(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		mustStatus(t, e.json("PUT", "/api/v1/members/pia", `{"karma": 1}`), 201, "", "")
		tests := []struct {
			name, method, path string
			auth               bool
			status             int
			allow, detail      string
		}{
			{"PUT on bulk", "PUT", "/api/v1/members/bulk", true, 405, "POST", "not allowed"},
			{"GET on bulk", "GET", "/api/v1/members/bulk", true, 405, "POST", "not allowed"},
			{"PATCH on bulk", "PATCH", "/api/v1/members/bulk", true, 405, "POST", "not allowed"},
			{"POST on a member", "POST", "/api/v1/members/pia", true, 405, "GET, HEAD, PUT, DELETE", "not allowed"},
			{"DELETE on chats", "DELETE", "/api/v1/chats", true, 405, "GET, HEAD", "not allowed"},
			{"GET on karma", "GET", "/api/v1/members/pia/karma", true, 405, "POST", "not allowed"},
			{"POST on health", "POST", "/healthz", false, 405, "GET, HEAD", "not allowed"},
			{"POST on metrics", "POST", "/metrics", false, 405, "GET, HEAD", "not allowed"},
			{"unknown API route", "GET", "/api/v1/nope", true, 404, "", "no such API route"},
			{"unknown API route without key", "GET", "/api/v1/nope", false, 401, "", "API key"},
			{"unknown route", "GET", "/favicon.ico", false, 404, "", "no such route"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var hdr []string
				if !tt.auth {
					hdr = []string{"Authorization", ""}
				}
				r := e.do(tt.method, tt.path, "", "", hdr...)
				mustStatus(t, r, tt.status, "", tt.detail)
				if got := r.Header.Get("Allow"); got != tt.allow {
					t.Errorf("Allow = %q, want %q", got, tt.allow)
				}
			})
		}
		if r := e.json("GET", "/api/v1/members/bulk", ""); r.Status != 405 {
			t.Fatalf("a member named bulk: %s", r.Raw)
		}
		mustStatus(t, e.json("POST", "/api/v1/members/bulk", `[{"id": "bulk", "karma": 1}]`), 422, "", "1 of 1")
		// The problem echoes the path, within bounds.
		long := "/api/v1/" + strings.Repeat("x", 5000)
		r := e.json("GET", long, "")
		mustStatus(t, r, 404, "", "no such API route")
		if in, _ := r.Body["instance"].(string); len(in) > 300 || !strings.HasPrefix(in, "/api/v1/xxx") {
			t.Errorf("instance of %d bytes: %.80q", len(in), in)
		}
		if len(r.Raw) > 1000 {
			t.Errorf("a problem of %d bytes for a long path", len(r.Raw))
		}
	})
}

func TestAPI_Queries(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		for i := range 3 {
			mustStatus(t, e.json("PUT", fmt.Sprintf("/api/v1/members/q%d", i), `{"karma": 150, "groups": ["webmasters"]}`), 201, "", "")
		}
		tests := []struct {
			name, path, field, detail string
		}{
			{"bad member id in events", "/api/v1/events?member=bad%20id", "member", "not a member id"},
			{"bad after id in members", "/api/v1/members?after=bad%20id", "after", "not a member id"},
			{"unknown chat in members", "/api/v1/members?chat=nope", "chat", "no gated chat"},
			{"unknown chat in events", "/api/v1/events?chat=nope", "chat", "no gated chat"},
			{"unknown kind in events", "/api/v1/events?kind=member.eaten", "kind", "no event kind"},
			{"unknown state", "/api/v1/members?chat=webmasters-pro&state=vip", "state", "unknown state"},
			{"repeated limit in members", "/api/v1/members?limit=1&limit=2", "limit", "more than once"},
			{"repeated limit in events", "/api/v1/events?limit=1&limit=2", "limit", "more than once"},
			{"limit out of range", "/api/v1/members?limit=0", "limit", "1 to 1000"},
			{"unknown parameter", "/api/v1/events?membr=q1", "membr", "unknown parameter"},
			{"bad escape in the query", "/api/v1/events?member=%zz", "", "cannot be parsed"},
			{"parameter on chats", "/api/v1/chats?x=1", "x", "unknown parameter"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				mustStatus(t, e.json("GET", tt.path, ""), 400, tt.field, tt.detail)
			})
		}
		// Known filters that match nothing are fine: a quiet chat, a kind
		// not written yet, a member gone (its trail outlives it).
		for _, q := range []string{"?chat=customers-club", "?kind=chat.bound", "?member=gone", "?chat=webmasters-pro&kind=override.set"} {
			if r := e.json("GET", "/api/v1/events"+q, ""); r.Status != 200 || len(r.Body["events"].([]any)) != 0 {
				t.Errorf("%s: %d %s", q, r.Status, r.Raw)
			}
		}
		// One limit, one cursor in next.
		r := e.json("GET", "/api/v1/members?limit=1", "")
		next := r.Body["_links"].(map[string]any)["next"].(map[string]any)["href"].(string)
		if next != "/api/v1/members?after=q0&limit=1" {
			t.Fatalf("next = %q", next)
		}
		mustStatus(t, e.json("GET", next, ""), 200, "", "")
	})
}

func TestAPI_ChatsGrace(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		r := e.json("GET", "/api/v1/chats", "")
		mustStatus(t, r, 200, "", "")
		chats := r.Body["chats"].([]any)
		wp := chats[0].(map[string]any)
		if wp["key"] != "webmasters-pro" || wp["grace"] != "24h" || wp["grace_seconds"] != 86400.0 {
			t.Fatalf("chat = %v", wp)
		}
		if cc := chats[1].(map[string]any); cc["grace"] != "0s" || cc["grace_seconds"] != 0.0 {
			t.Fatalf("chat without grace = %v", cc)
		}
	})
}

func TestAPI_BulkRefusals(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		longName := strings.Repeat("x", api.MaxBody)
		tests := []struct {
			name, ctype, body string
			status            int
			detail            string
			items             []string // each listed error: "index field"
		}{
			{"duplicate names", "application/json", `[{"id":"b1","karma":100,"karma":-5},{"id":"b2","id":"b3","karma":1},{"id":"b4","karma":1}]`,
				422, "2 of 3", []string{"0 karma", "1 id"}},
			{"invalid UTF-8", "application/json", "[{\"id\":\"b1\",\"karma\":1,\"name\":\"Caf\xe9\"},{\"id\":\"b2\",\"karma\":1}]",
				422, "1 of 2", []string{"0 name"}},
			{"dot ids", "application/x-ndjson", "{\"id\":\".\",\"karma\":1}\n{\"id\":\"..\",\"karma\":1}\n{\"id\":\"b1\",\"karma\":1}\n",
				422, "2 of 3", []string{"0 id", "1 id"}},
			{"line over the limit", "application/x-ndjson", "{\"id\":\"b1\",\"karma\":1}\n{\"id\":\"b2\",\"karma\":1,\"name\":\"" + longName + "\"}\n",
				413, "line 2 is longer than 1048576 bytes", nil},
			{"entry over the limit", "application/json", `[{"id":"b1","karma":1},{"id":"b2","karma":1,"name":"` + longName + `"}]`,
				413, "entry 1", nil},
			{"NDJSON sent as JSON", "application/json", "{\"id\":\"b1\",\"karma\":1}\n{\"id\":\"b2\",\"karma\":1}\n",
				400, "Content-Type: application/x-ndjson", nil},
			{"JSON array sent as NDJSON", "application/x-ndjson", `[{"id":"b1","karma":1}]`,
				400, "Content-Type: application/json", nil},
			{"object over two lines", "application/x-ndjson", "{\"id\":\"b1\",\n\"karma\":1}\n",
				400, "line 1", nil},
			{"malformed entry", "application/json", `[{"id":"b1","karma":1},{"id":"b2" "karma":1}]`,
				400, "entry 1: malformed JSON at byte", nil},
			{"trailing comma", "application/json", `[{"id":"b1","karma":1},]`,
				400, "malformed JSON", nil},
			{"byte order mark", "application/x-ndjson", "\xef\xbb\xbf{\"id\":\"b1\",\"karma\":1}\n",
				400, "byte order mark", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.do("POST", "/api/v1/members/bulk", tt.ctype, tt.body)
				mustStatus(t, r, tt.status, "", tt.detail)
				var got []string
				errs, _ := r.Body["errors"].([]any)
				for _, it := range errs {
					m := it.(map[string]any)
					got = append(got, fmt.Sprintf("%v %v", m["index"], m["field"]))
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.items) {
					t.Errorf("errors = %v, want %v", got, tt.items)
				}
				if g := e.json("GET", "/api/v1/members/b1", ""); g.Status != 404 {
					t.Fatal("a refused bulk wrote b1")
				}
			})
		}
		// NDJSON errors carry their line.
		r := e.do("POST", "/api/v1/members/bulk", "application/x-ndjson", "\n{\"id\":\"b1\",\"karma\":1}\n\n{\"id\":\"b2\",\"karma\":\"x\"}\n")
		mustStatus(t, r, 422, "", "1 of 2")
		if it := r.Body["errors"].([]any)[0].(map[string]any); it["line"] != 4.0 || it["index"] != 1.0 || it["id"] != "b2" {
			t.Fatalf("item error = %v", it)
		}
	})
}

func TestAPI_Healthz(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		var logs syncBuffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		fresh, err := models.Open(context.Background(), spec, models.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fresh.Close() })
		rules := modelstest.MustRules(t, modelstest.Rules)
		serve := func(db *models.DB) resp {
			srv := httptest.NewServer(api.New(api.Options{Store: models.NewStore(db, rules, models.Options{}), APIKey: key, Logger: logger}))
			defer srv.Close()
			e := &env{t: t, srv: srv, client: srv.Client()}
			return e.do("GET", "/healthz", "", "", "Authorization", "")
		}
		check := func(r resp, status int, wantErr string) {
			t.Helper()
			if r.Status != status || r.Body["error"] != wantErr && !(wantErr == "" && r.Body["error"] == nil) {
				t.Fatalf("healthz = %d %s, want %d %q", r.Status, r.Raw, status, wantErr)
			}
			for k := range r.Body {
				if k != "status" && k != "database" && k != "version" && k != "error" {
					t.Errorf("healthz shows %s: %s", k, r.Raw)
				}
			}
		}
		check(serve(fresh), 503, "schema behind: run karmagate migrate")
		if !strings.Contains(logs.String(), "this build needs") {
			t.Errorf("the log lacks the detail: %s", logs.String())
		}
		if _, err := fresh.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		check(serve(fresh), 200, "")
		fresh.Close()
		check(serve(fresh), 503, "database unreachable")
		if !strings.Contains(logs.String(), "closed") {
			t.Errorf("the log lacks the detail: %s", logs.String())
		}
	})
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAPI_MetricsLogScrapeErrors(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		var logs syncBuffer
		db, err := models.Open(context.Background(), spec, models.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		store := models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{})
		srv := httptest.NewServer(api.New(api.Options{Store: store, APIKey: key, Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
		t.Cleanup(srv.Close)
		e := &env{t: t, srv: srv, client: srv.Client()}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			m := e.do("GET", "/metrics", "", "", "Authorization", "")
			if m.Status != 200 || !strings.Contains(m.Raw, "karmagate_database_up 0") {
				t.Fatalf("metrics = %d %.300s", m.Status, m.Raw)
			}
		}
		if n := strings.Count(logs.String(), "level=WARN msg=\"metrics: cannot read"); n != 1 {
			t.Fatalf("%d warnings for three failed scrapes, want one a minute: %s", n, logs.String())
		}
	})
}

// holdWrites makes the database busy for the member id: SQLite's one write
// connection, or the member's row on MySQL. It returns a function that
// lets go.
func holdWrites(t *testing.T, e *env, id string) (release func()) {
	t.Helper()
	tx := e.store.DB().Gorm().Begin()
	if tx.Error != nil {
		t.Fatal(tx.Error)
	}
	if e.store.DB().Dialect() == models.MySQL {
		var ids []int64
		if err := tx.Raw("SELECT id FROM members WHERE external_id = ? FOR UPDATE", id).Scan(&ids).Error; err != nil || len(ids) != 1 {
			t.Fatalf("lock %s: %v %v", id, ids, err)
		}
	} else if err := tx.Exec("UPDATE members SET karma = karma WHERE external_id = ?", id).Error; err != nil {
		// The transaction holds SQLite's one write connection.
		t.Fatal(err)
	}
	return func() {
		if err := tx.Rollback().Error; err != nil {
			t.Error(err)
		}
	}
}

func TestAPI_WriteWait(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnvWith(t, spec, api.Options{WriteWait: 200 * time.Millisecond})
		mustStatus(t, e.json("PUT", "/api/v1/members/rita", `{"karma": 1}`), 201, "", "")
		release := holdWrites(t, e, "rita")
		for _, c := range []struct{ method, path, body string }{
			{"PUT", "/api/v1/members/rita", `{"karma": 2}`},
			{"POST", "/api/v1/members/rita/karma", `{"delta": 1}`},
		} {
			r := e.json(c.method, c.path, c.body)
			mustStatus(t, r, 503, "", "database is busy with other writes")
			if r.Header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
			}
		}
		release()
		r := e.json("POST", "/api/v1/members/rita/karma", `{"delta": 1}`)
		mustStatus(t, r, 200, "", "")
		if r.Body["karma"] != 2.0 {
			t.Fatalf("karma = %v after the busy calls, want 2", r.Body["karma"])
		}
	})
}

func TestAPI_BulkTurns(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnvWith(t, spec, api.Options{WriteWait: 200 * time.Millisecond, MaxBulk: 1})
		// The first import holds the only turn while its body trickles in.
		pr, pw := io.Pipe()
		first := make(chan resp, 1)
		go func() {
			req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/members/bulk", pr)
			if err != nil {
				first <- resp{}
				return
			}
			req.Header.Set("Content-Type", "application/x-ndjson")
			req.Header.Set("Authorization", "Bearer "+key)
			res, err := e.client.Do(req)
			if err != nil {
				first <- resp{}
				return
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			first <- resp{Status: res.StatusCode, Raw: string(raw)}
		}()
		if _, err := pw.Write([]byte("{\"id\":\"s1\",\"karma\":1}\n")); err != nil {
			t.Fatal(err)
		}
		// Once the first import holds the turn (it is reading its body),
		// a second one waits WriteWait and is refused. Until then the
		// second may get in first.
		deadline := time.Now().Add(20 * time.Second)
		for {
			r := e.do("POST", "/api/v1/members/bulk", "application/x-ndjson", "{\"id\":\"s2\",\"karma\":1}\n")
			if r.Status == 503 {
				mustStatus(t, r, 503, "", "bulk imports are running")
				if r.Header.Get("Retry-After") != "1" {
					t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
				}
				break
			}
			mustStatus(t, r, 200, "", "")
			if time.Now().After(deadline) {
				t.Fatal("the first import never took its turn")
			}
		}
		if _, err := pw.Write([]byte("{\"id\":\"s3\",\"karma\":1}\n")); err != nil {
			t.Fatal(err)
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case f := <-first:
			if f.Status != 200 || !strings.Contains(f.Raw, `"created":2`) {
				t.Fatalf("first import = %d %s", f.Status, f.Raw)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the first import did not finish")
		}
		mustStatus(t, e.do("POST", "/api/v1/members/bulk", "application/x-ndjson", "{\"id\":\"s2\",\"karma\":1}\n"), 200, "", "")
	})
}
