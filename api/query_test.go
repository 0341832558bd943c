package api_test

import (
	"net/http/httptest"
	"testing"

	"github.com/karmagate/karmagate/api"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestAPI_QueryOnEveryRoute: every route refuses an unknown or repeated
// query parameter (400, naming it), the routes that take none included,
// before it does anything.
func TestAPI_QueryOnEveryRoute(t *testing.T) {
	db := modelstest.MustOpen(t, modelstest.Specs(t)["sqlite"])
	store := models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{})
	srv := httptest.NewServer(api.New(api.Options{Store: store, APIKey: key, AdminToken: adminToken, Userbots: &fakeUserbots{}}))
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, store: store, client: srv.Client()}
	if r := e.json("PUT", "/api/v1/members/q1", `{"karma": 5, "groups": ["webmasters"]}`); r.Status != 201 {
		t.Fatalf("put: %d %s", r.Status, r.Raw)
	}
	admin := []string{"Authorization", "Bearer " + adminToken}
	for _, tc := range []struct {
		method, path, ctype, body string
		hdr                       []string
	}{
		{"GET", "/api/v1", "", "", nil},
		{"GET", "/api/v1/members/q1", "", "", nil},
		{"PUT", "/api/v1/members/q1", "application/json", `{"karma": 6}`, nil},
		{"POST", "/api/v1/members/q1/karma", "application/json", `{"delta": 1}`, nil},
		{"POST", "/api/v1/members/q1/karma", "application/x-www-form-urlencoded", "delta=1", nil},
		{"POST", "/api/v1/members/q1/link", "", "", nil},
		{"PUT", "/api/v1/members/q1/overrides/webmasters-pro", "application/json", `{"mode": "exempt"}`, nil},
		{"POST", "/api/v1/members/bulk", "application/json", `[]`, nil},
		{"GET", "/api/v1/userbots", "", "", admin},
		{"POST", "/api/v1/userbots", "application/json", `{"phone": "+31612345678"}`, admin},
		{"DELETE", "/api/v1/userbots/1", "", "", admin},
	} {
		for _, q := range []string{"?x=1", "?x=1&x=2"} {
			t.Run(tc.method+" "+tc.path+q, func(t *testing.T) {
				r := e.do(tc.method, tc.path+q, tc.ctype, tc.body, tc.hdr...)
				mustStatus(t, r, 400, "x", "unknown parameter")
			})
		}
	}
	if r := e.do("GET", "/api/v1/members/q1", "", ""); r.Status != 200 || r.Body["karma"] != 5.0 {
		t.Errorf("the member changed under refused requests: %d %s", r.Status, r.Raw)
	}
}

// TestAPI_UncleanPathRefused: a path with a . or .. segment (or an empty
// one) is refused with 400, not taken for its clean form (PUT
// /api/v1/members/.. answered as PUT /api/v1, or redirected with a 307).
func TestAPI_UncleanPathRefused(t *testing.T) {
	e := newEnv(t, modelstest.Specs(t)["sqlite"])
	for _, p := range []string{"/api/v1/members/..", "/api/v1/members/./q1", "/api/v1//members/q1", "/api/v1/members/q1/../q2"} {
		r := e.do("PUT", p, "application/json", `{"karma": 5}`)
		mustStatus(t, r, 400, "", "clean form")
	}
	if r := e.json("PUT", "/api/v1/members/q1", `{"karma": 5, "groups": ["webmasters"]}`); r.Status != 201 {
		t.Errorf("a clean path: %d %s", r.Status, r.Raw)
	}
}
