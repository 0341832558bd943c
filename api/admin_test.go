package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/api"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

const adminToken = "test-admin-token-0123456789"

// TestServer_UserbotsNeedAdminToken is attack 7: the website's API key
// cannot add its own Telegram account to the userbot pool; only
// KARMAGATE_ADMIN_TOKEN reaches the pool's routes.
func TestServer_UserbotsNeedAdminToken(t *testing.T) {
	db := modelstest.MustOpen(t, modelstest.Specs(t)["sqlite"])
	store := models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{})
	start := func(opts api.Options) *env {
		opts.Store, opts.APIKey, opts.Userbots = store, key, &fakeUserbots{}
		srv := httptest.NewServer(api.New(opts))
		t.Cleanup(srv.Close)
		return &env{t: t, srv: srv, store: store, client: srv.Client()}
	}
	withToken := start(api.Options{AdminToken: adminToken})
	without := start(api.Options{})
	routes := []struct{ method, path, body string }{
		{"GET", "/api/v1/userbots", ""},
		{"POST", "/api/v1/userbots", `{"phone": "+31612345678"}`},
		{"POST", "/api/v1/userbots/1/code", `{"code": "12345"}`},
		{"POST", "/api/v1/userbots/1/password", `{"password": "pw"}`},
		{"DELETE", "/api/v1/userbots/1", ""},
	}
	tests := []struct {
		name   string
		e      *env
		auth   string // the Authorization header; "-" for none
		status int
		want   string // in the body
	}{
		{"the website's API key", withToken, "Bearer " + key, 403, "urn:karmagate:problem:api-key-refused"},
		{"no credential", withToken, "-", 401, "KARMAGATE_ADMIN_TOKEN"},
		{"a wrong token", withToken, "Bearer " + strings.ToUpper(adminToken), 401, "KARMAGATE_ADMIN_TOKEN"},
		{"the token without Bearer", withToken, adminToken, 401, "KARMAGATE_ADMIN_TOKEN"},
		{"no token configured, the API key", without, "Bearer " + key, 403, "urn:karmagate:problem:admin-token-unset"},
		{"no token configured, nothing", without, "-", 403, "KARMAGATE_ADMIN_TOKEN is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, rt := range routes {
				auth := tt.auth
				if auth == "-" {
					auth = ""
				}
				r := tt.e.do(rt.method, rt.path, "application/json", rt.body, "Authorization", auth)
				if r.Status != tt.status || !strings.Contains(r.Raw, tt.want) || r.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s %s: %d %s %s; want %d with %s", rt.method, rt.path, r.Status, r.Header.Get("Content-Type"), r.Raw, tt.status, tt.want)
				}
			}
		})
	}
	t.Run("the admin token", func(t *testing.T) {
		for i, rt := range routes {
			r := withToken.do(rt.method, rt.path, "application/json", rt.body, "Authorization", "Bearer "+adminToken)
			if want := []int{200, 201, 200, 200, 204}[i]; r.Status != want {
				t.Errorf("%s %s: %d %s; want %d", rt.method, rt.path, r.Status, r.Raw, want)
			}
		}
	})
	t.Run("the admin token opens nothing else", func(t *testing.T) {
		if r := withToken.do("GET", "/api/v1/members", "", "", "Authorization", "Bearer "+adminToken); r.Status != 401 {
			t.Errorf("GET /api/v1/members with the admin token: %d; want 401", r.Status)
		}
	})
}
