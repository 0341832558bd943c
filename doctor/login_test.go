package doctor_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/doctor"
)

// TestRun_Login: with Log in with Telegram on, doctor discovers the
// issuer and names the redirect URL to allow in BotFather; an issuer that
// does not answer, or names another issuer, is a red line.
func TestRun_Login(t *testing.T) {
	var srv *httptest.Server
	issuer := func(name func(string) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/.well-known/openid-configuration" {
				http.NotFound(w, r)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"issuer": name(srv.URL), "authorization_endpoint": srv.URL + "/auth",
				"token_endpoint": srv.URL + "/token", "jwks_uri": srv.URL + "/.well-known/jwks.json"})
		}
	}
	for _, tt := range []struct {
		name    string
		handler http.Handler
		want    doctor.Status
		detail  string
	}{
		{"discovered", issuer(func(u string) string { return u }), doctor.OK, "allow https://k.example/auth/telegram/callback"},
		{"another issuer", issuer(func(string) string { return "https://evil.example" }), doctor.Fail, "cannot be discovered"},
		{"no discovery", http.NotFoundHandler(), doctor.Fail, "cannot be discovered"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv = httptest.NewServer(tt.handler)
			defer srv.Close()
			bot, store := healthy()
			rep := doctor.Run(t.Context(), doctor.Options{Bot: bot, Store: store, Now: func() time.Time { return now },
				Login: &doctor.Login{Issuer: srv.URL, RedirectURL: "https://k.example/auth/telegram/callback"}})
			var found bool
			for _, r := range rep {
				if r.Name == "telegram login" {
					found = true
					if r.Status != tt.want || !strings.Contains(r.Detail, tt.detail) {
						t.Errorf("%+v, want %v with %q", r, tt.want, tt.detail)
					}
				}
			}
			if !found {
				t.Errorf("no telegram login line in %+v", rep)
			}
		})
	}
}
