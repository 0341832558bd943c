package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestMain_Dashboard checks that serve mounts the dashboard under /admin
// beside the API, signing in with the API key or an admin's password.
func TestMain_Dashboard(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		cfg := testConfig(t, spec)
		hash, err := bcrypt.GenerateFromPassword([]byte("admin-password"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		env, err := ConfigFromEnv(mapEnv("KARMAGATE_ADMIN_USERS", "ops:"+string(hash)))
		if err != nil || len(env.AdminUsers) != 1 {
			t.Fatalf("KARMAGATE_ADMIN_USERS: %v, %d users", err, len(env.AdminUsers))
		}
		cfg.AdminUsers = env.AdminUsers
		m := MustRunMain(t, cfg)
		if st, _ := call(t, m, "PUT", "/api/v1/members/alice", `{"karma": 150, "groups": ["webmasters"]}`); st != 201 {
			t.Fatalf("put = %d", st)
		}
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		base := "http://" + m.Addr()
		res, err := noRedirect.Get(base + "/admin/")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/admin/login") {
			t.Fatalf("/admin/ signed out: %d to %q; want the sign-in page", res.StatusCode, res.Header.Get("Location"))
		}
		for _, form := range []url.Values{{"secret": {cfg.APIKey}}, {"name": {"ops"}, "secret": {"admin-password"}}} {
			res, err := noRedirect.PostForm(base+"/admin/login", form)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			var session *http.Cookie
			for _, c := range res.Cookies() {
				if c.Name == dashboard.LocalCookieName {
					session = c
				}
			}
			if res.StatusCode != http.StatusSeeOther || session == nil {
				t.Fatalf("sign in with %v: %d", form["name"], res.StatusCode)
			}
			req, err := http.NewRequest("GET", base+"/admin/members", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.AddCookie(session)
			res, err = noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK || !strings.Contains(string(body), `data-member="alice"`) {
				t.Errorf("members page: %d, %v", res.StatusCode, err)
			}
		}
	})
}

func TestConfig_AdminUsers(t *testing.T) {
	_, err := ConfigFromEnv(mapEnv("KARMAGATE_ADMIN_USERS", "ops:not-a-hash"))
	if err == nil || !strings.Contains(err.Error(), "KARMAGATE_ADMIN_USERS") {
		t.Errorf("a bad KARMAGATE_ADMIN_USERS: %v; want an error naming it", err)
	}
}
