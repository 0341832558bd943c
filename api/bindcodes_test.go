package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestAPI_BindCodes: POST /api/v1/chats/{key}/bind-codes issues a one-time
// code for the chat, shown once, that the bot takes once (issue 13 #1).
func TestAPI_BindCodes(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		ctx := context.Background()
		const path = "/api/v1/chats/webmasters-pro/bind-codes"

		for _, tc := range []struct {
			name   string
			path   string
			ctype  string
			body   string
			hdr    []string
			status int
		}{
			{"no API key", path, "", "", []string{"Authorization", ""}, http.StatusUnauthorized},
			{"a wrong API key", path, "", "", []string{"Authorization", "Bearer nope-nope-nope-nope"}, http.StatusUnauthorized},
			{"an unknown chat", "/api/v1/chats/nosuch/bind-codes", "", "", nil, http.StatusNotFound},
			{"a query parameter", path + "?ttl=1h", "", "", nil, http.StatusBadRequest},
			{"a field", path, "application/json", `{"ttl": "1h"}`, nil, http.StatusUnprocessableEntity},
			{"a form field", path, "application/x-www-form-urlencoded", "ttl=1h", nil, http.StatusUnprocessableEntity},
			{"malformed JSON", path, "application/json", `{"ttl":`, nil, http.StatusBadRequest},
			{"a bad actor header", path, "", "", []string{"X-Karmagate-Actor", "no spaces allowed"}, http.StatusBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do("POST", tc.path, tc.ctype, tc.body, tc.hdr...)
				if r.Status != tc.status {
					t.Errorf("POST %s %q = %d %s, want %d", tc.path, tc.body, r.Status, r.Raw, tc.status)
				}
			})
		}
		if r := e.do("GET", path, "", ""); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("GET %s = %d, want 405", path, r.Status)
		}
		evs, err := e.store.Events(ctx, models.EventFilter{Kind: models.EventBindCodeIssued})
		if err != nil || len(evs) != 0 {
			t.Fatalf("refused calls issued %d codes (%v)", len(evs), err)
		}

		issue := func(t *testing.T, body string) string {
			t.Helper()
			ctype := ""
			if body != "" {
				ctype = "application/json"
			}
			r := e.do("POST", path, ctype, body, "X-Karmagate-Actor", "root@site")
			if r.Status != http.StatusCreated {
				t.Fatalf("POST %s = %d %s", path, r.Status, r.Raw)
			}
			code, _ := r.Body["code"].(string)
			if len(code) < 20 || r.Body["command"] != "/bind webmasters-pro "+code || r.Body["expires_at"] != "2026-11-25T10:15:00Z" || r.Body["chat"] != "webmasters-pro" {
				t.Fatalf("answer %s", r.Raw)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", r.Header.Get("Cache-Control"))
			}
			return code
		}
		t.Run("issued, taken once", func(t *testing.T) {
			code := issue(t, "")
			if strings.Contains(issue(t, "{}"), code) {
				t.Fatal("two calls gave one code")
			}
			if err := e.store.TakeBindCode(ctx, "customers-club", code, 7); !errors.Is(err, models.ErrBindCode) {
				t.Errorf("the code for another chat: %v", err)
			}
			if err := e.store.TakeBindCode(ctx, "webmasters-pro", code, 7); err != nil {
				t.Fatalf("the code: %v", err)
			}
			if err := e.store.TakeBindCode(ctx, "webmasters-pro", code, 7); !errors.Is(err, models.ErrBindCode) {
				t.Errorf("the code again: %v", err)
			}
			evs, err := e.store.Events(ctx, models.EventFilter{Chat: "webmasters-pro", Kind: models.EventBindCodeIssued})
			if err != nil || len(evs) != 2 || evs[0].Actor != "api:root@site" || strings.Contains(evs[0].Detail, code) {
				t.Errorf("issue events %+v (%v): want two by api:root@site, without the code", evs, err)
			}
		})
		t.Run("concurrent uses of one code: one succeeds", func(t *testing.T) {
			code := issue(t, "")
			var wg sync.WaitGroup
			var mu sync.Mutex
			won := 0
			for i := range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := e.store.TakeBindCode(ctx, "webmasters-pro", code, int64(i+1))
					if err != nil && !errors.Is(err, models.ErrBindCode) {
						t.Errorf("use %d: %v", i, err)
					}
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						won++
					}
				}()
			}
			wg.Wait()
			if won != 1 {
				t.Errorf("%d of 10 concurrent uses succeeded, want 1", won)
			}
		})
		t.Run("expired", func(t *testing.T) {
			code := issue(t, "")
			e.clock.Advance(15*60e9 + 1)
			if err := e.store.TakeBindCode(ctx, "webmasters-pro", code, 7); !errors.Is(err, models.ErrBindCode) {
				t.Errorf("a code after 15 minutes: %v", err)
			}
		})
	})
}
