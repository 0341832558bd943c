package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestMain_Dashboard checks that serve mounts the dashboard under /admin
// beside the API, signing in with an admin's password, and with the API
// key only when KARMAGATE_DASHBOARD_API_KEY is true.
func TestMain_Dashboard(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		cfg := testConfig(t, spec)
		hash, err := bcrypt.GenerateFromPassword([]byte("admin-password"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		env, err := ConfigFromEnv(mapEnv("KARMAGATE_ADMIN_USERS", "ops:"+string(hash), "KARMAGATE_DASHBOARD_API_KEY", "true"))
		if err != nil || len(env.AdminUsers) != 1 || !env.DashboardAPIKey {
			t.Fatalf("KARMAGATE_ADMIN_USERS: %v, %d users, API key sign-in %v", err, len(env.AdminUsers), env.DashboardAPIKey)
		}
		cfg.AdminUsers, cfg.DashboardAPIKey = env.AdminUsers, env.DashboardAPIKey
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

// TestMain_DashboardAPIKeyOff is attack 7 through serve: without
// KARMAGATE_DASHBOARD_API_KEY the website's key opens no dashboard, and
// with no admin either /admin says how to turn it on.
func TestMain_DashboardAPIKeyOff(t *testing.T) {
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Run("admins, the key off", func(t *testing.T) {
		cfg := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
		hash, err := bcrypt.GenerateFromPassword([]byte("admin-password"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		cfg.AdminUsers = []dashboard.User{{Name: "ops", Hash: hash}}
		m := MustRunMain(t, cfg)
		res, err := noRedirect.PostForm("http://"+m.Addr()+"/admin/login", url.Values{"secret": {cfg.APIKey}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("sign in with the API key: %d; want 401", res.StatusCode)
		}
	})
	t.Run("no one may sign in", func(t *testing.T) {
		m := MustRunMain(t, testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db")))
		res, err := noRedirect.Get("http://" + m.Addr() + "/admin/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "KARMAGATE_ADMIN_USERS") {
			t.Errorf("/admin/ with no one to sign in: %d %s; want 404 saying how to turn it on", res.StatusCode, body)
		}
	})
}

func TestConfig_DashboardAndAdminToken(t *testing.T) {
	parse := []struct {
		name string
		env  []string
		want string // in the error; "" = fine
		ok   func(Config) bool
	}{
		{"defaults", nil, "", func(c Config) bool { return !c.DashboardAPIKey && c.AdminToken == "" && len(c.TrustedProxies) == 0 }},
		{"API key sign-in on", []string{"KARMAGATE_DASHBOARD_API_KEY", "yes"}, "", func(c Config) bool { return c.DashboardAPIKey }},
		{"API key sign-in off", []string{"KARMAGATE_DASHBOARD_API_KEY", "false"}, "", func(c Config) bool { return !c.DashboardAPIKey }},
		{"bad boolean", []string{"KARMAGATE_DASHBOARD_API_KEY", "maybe"}, `KARMAGATE_DASHBOARD_API_KEY "maybe" is not true or false`, nil},
		{"proxies", []string{"KARMAGATE_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"}, "", func(c Config) bool {
			return fmt.Sprint(c.TrustedProxies) == "[10.0.0.0/8 127.0.0.1/32]"
		}},
		{"malformed CIDR", []string{"KARMAGATE_TRUSTED_PROXIES", "10.0.0.0/33"}, `KARMAGATE_TRUSTED_PROXIES: "10.0.0.0/33" is not a CIDR`, nil},
		{"a host name", []string{"KARMAGATE_TRUSTED_PROXIES", "nginx"}, `KARMAGATE_TRUSTED_PROXIES: "nginx" is not a CIDR`, nil},
		{"admin token", []string{"KARMAGATE_ADMIN_TOKEN", "admin-token-0123456789"}, "", func(c Config) bool { return c.AdminToken == "admin-token-0123456789" }},
	}
	for _, tt := range parse {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(mapEnv(tt.env...))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("ConfigFromEnv = %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("ConfigFromEnv = %v; want %q", err, tt.want)
			case tt.ok != nil && !tt.ok(c):
				t.Errorf("config %+v", c)
			}
		})
	}
	base := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	validate := []struct {
		name  string
		token string
		want  string // "" = valid
	}{
		{"unset", "", ""},
		{"good", "admin-token-0123456789", ""},
		{"short", "short", "KARMAGATE_ADMIN_TOKEN is 5 characters; use at least 16"},
		{"the API key", base.APIKey, "KARMAGATE_ADMIN_TOKEN must differ from KARMAGATE_API_KEY"},
		{"the secret", base.Secret, "KARMAGATE_ADMIN_TOKEN must differ from KARMAGATE_SECRET"},
	}
	for _, tt := range validate {
		t.Run("validate "+tt.name, func(t *testing.T) {
			c := base
			c.AdminToken = tt.token
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}
