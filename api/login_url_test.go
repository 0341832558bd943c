package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/karmagate/karmagate/api"
	"github.com/karmagate/karmagate/models/modelstest"
)

type fakeLoginURLs struct{}

func (fakeLoginURLs) LoginURL(id string) (string, time.Time) {
	return "https://k.example/auth/telegram?member=" + id, time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC)
}

// TestAPI_LoginURL: POST /api/v1/members/{id}/login-url answers a signed
// link to Log in with Telegram for a member that exists, with the API key,
// without a body; 503 when the login is off.
func TestAPI_LoginURL(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnvWith(t, spec, api.Options{LoginURLs: fakeLoginURLs{}})
		e.json("PUT", "/api/v1/members/alice", `{"karma": 1, "groups": ["webmasters"]}`)
		r := e.do("POST", "/api/v1/members/alice/login-url", "", "")
		mustStatus(t, r, http.StatusOK, "", "")
		if r.Body["url"] != "https://k.example/auth/telegram?member=alice" || r.Body["expires_at"] != "2026-11-25T10:15:00Z" {
			t.Errorf("answer %s", r.Raw)
		}
		mustStatus(t, e.do("POST", "/api/v1/members/bob/login-url", "", ""), http.StatusNotFound, "", "")
		mustStatus(t, e.json("POST", "/api/v1/members/alice/login-url", `{"x":1}`), http.StatusBadRequest, "", "takes no body")
		mustStatus(t, e.do("POST", "/api/v1/members/alice/login-url?x=1", "", ""), http.StatusBadRequest, "", "")
		mustStatus(t, e.do("POST", "/api/v1/members/alice/login-url", "", "", "Authorization", "Bearer wrong-key-000000000"), http.StatusUnauthorized, "", "")

		off := newEnvWith(t, spec, api.Options{})
		off.json("PUT", "/api/v1/members/alice", `{"karma": 1, "groups": ["webmasters"]}`)
		mustStatus(t, off.do("POST", "/api/v1/members/alice/login-url", "", ""), http.StatusServiceUnavailable, "", "TELEGRAM_OIDC_CLIENT_ID")
	})
}
