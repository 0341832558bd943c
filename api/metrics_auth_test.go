package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/api"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestServer_MetricsToken: with KARMAGATE_METRICS_TOKEN set, /metrics
// (chat keys, counts per state, the outbox) answers only a scraper that
// sends it as a bearer token; the website's API key is not it.
func TestServer_MetricsToken(t *testing.T) {
	const token = "metrics-token-0123456789abcdef"
	db := modelstest.MustOpen(t, "sqlite:"+t.TempDir()+"/k.db")
	clock := modelstest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	store := models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{Now: clock.Now})
	srv := httptest.NewServer(api.New(api.Options{Store: store, APIKey: key, MetricsToken: token}))
	defer srv.Close()
	get := func(auth string) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, res.Body)
		return res.StatusCode, b.String(), res.Header
	}
	for _, tt := range []struct {
		name, auth string
		want       int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"the API key", "Bearer " + key, http.StatusUnauthorized},
		{"a wrong token", "Bearer " + token[:len(token)-1] + "x", http.StatusUnauthorized},
		{"basic auth", "Basic " + token, http.StatusUnauthorized},
		{"the token", "Bearer " + token, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body, hdr := get(tt.auth)
			if code != tt.want {
				t.Fatalf("GET /metrics with %q = %d, want %d: %.200s", tt.name, code, tt.want, body)
			}
			if code == http.StatusOK && !strings.Contains(body, "karmagate_database_up") {
				t.Errorf("metrics lack karmagate_database_up: %.300s", body)
			}
			if code == http.StatusUnauthorized {
				if strings.Contains(body, "karmagate_") {
					t.Errorf("a refusal shows metrics: %.300s", body)
				}
				if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want Bearer", hdr.Get("WWW-Authenticate"))
				}
			}
		})
	}
	t.Run("without a token metrics stay open (nginx must not expose them)", func(t *testing.T) {
		e := newEnv(t, "sqlite:"+t.TempDir()+"/k.db")
		if m := e.do("GET", "/metrics", "", "", "Authorization", ""); m.Status != http.StatusOK {
			t.Errorf("metrics without a token configured = %d", m.Status)
		}
	})
}
