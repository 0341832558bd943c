package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/karmagate/karmagate/callback"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestMain_SourceAndCallbacks boots the daemon with KARMAGATE_SOURCE on a
// MariaDB table and KARMAGATE_CALLBACK_URL on a test website: the table's
// members arrive with the first poll, and linking one through the Login
// Widget reaches the website as a signed member.linked callback.
func TestMain_SourceAndCallbacks(t *testing.T) {
	site, ok := modelstest.Specs(t)["mysql"]
	if !ok {
		t.Skipf("the pull source reads MariaDB: set %s", modelstest.EnvMySQL)
	}
	sdb, err := sql.Open("mysql", strings.TrimPrefix(site, "mysql:"))
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	for _, q := range []string{
		"CREATE TABLE users (id INT PRIMARY KEY, karma INT NOT NULL, grp VARCHAR(255) NOT NULL)",
		"INSERT INTO users VALUES (1, 150, 'webmasters'), (2, 60, 'customers'), (3, -4, 'webmasters,staff')",
	} {
		if _, err := sdb.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	const cbSecret = "callback-secret-0123456789abcdef0123"
	var mu sync.Mutex
	var got []models.Callback
	website := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if err := callback.Verify([]byte(cbSecret), r.Header.Get(callback.HeaderTimestamp), r.Header.Get(callback.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("callback %s: %v", body, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var cb models.Callback
		if err := json.Unmarshal(body, &cb); err != nil {
			t.Errorf("callback %s: %v", body, err)
		}
		mu.Lock()
		got = append(got, cb)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer website.Close()

	modelstest.Each(t, func(t *testing.T, spec string) {
		mu.Lock()
		got = nil
		mu.Unlock()
		cfg := testConfig(t, spec)
		rules := modelstest.Rules + "source:\n  query: SELECT id, karma, grp AS `groups` FROM users\n  every: 10s\n"
		if err := os.WriteFile(cfg.RulesPath, []byte(rules), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Source, cfg.CallbackURL, cfg.CallbackSecret = site, website.URL+"/karmagate/callback", cbSecret
		m := MustRunMain(t, cfg)
		if m.Source == nil || m.Callbacks == nil {
			t.Fatalf("source %v, callbacks %v: want both wired", m.Source, m.Callbacks)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if st, _ := call(t, m, "GET", "/api/v1/members/3", ""); st == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the source's members did not arrive")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if _, body := call(t, m, "GET", "/api/v1/members/1", ""); body["karma"] != 150.0 {
			t.Fatalf("member 1 = %v", body)
		}

		// Member 1 links through the Login Widget.
		var person struct{ ID int64 }
		res, err := http.Post(cfg.BotAPIURL+"/sandbox/users", "application/json", strings.NewReader(`{"first_name":"One","username":"one_tg"}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.NewDecoder(res.Body).Decode(&person); err != nil || person.ID == 0 {
			t.Fatalf("sandbox user: %v", err)
		}
		res.Body.Close()
		form := widgetForm(cfg.BotToken, map[string]string{"id": fmt.Sprint(person.ID), "first_name": "One", "username": "one_tg",
			"auth_date": fmt.Sprint(time.Now().Unix())})
		req, err := http.NewRequest("POST", "http://"+m.Addr()+"/api/v1/members/1/telegram-login", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+cfg.APIKey)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		_, _ = out.ReadFrom(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("telegram-login = %d %s", res.StatusCode, out.String())
		}
		deadline = time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			types := []string{}
			for _, cb := range got {
				types = append(types, cb.Member+" "+cb.Type)
			}
			mu.Unlock()
			if slices.Contains(types, "1 "+models.CallbackLinked) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("callbacks so far %q: no member.linked for 1", types)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// widgetForm signs Login Widget fields as Telegram does.
func widgetForm(token string, fields map[string]string) url.Values {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + "=" + fields[k]
	}
	secret := sha256.Sum256([]byte(token))
	mac := hmac.New(sha256.New, secret[:])
	mac.Write([]byte(strings.Join(lines, "\n")))
	v := url.Values{"hash": {hex.EncodeToString(mac.Sum(nil))}}
	for k, x := range fields {
		v.Set(k, x)
	}
	return v
}

// writeRules writes a rules file into dir.
func writeRules(t *testing.T, dir, src string) string {
	t.Helper()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfig_SourceAndCallbacks(t *testing.T) {
	base := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	withSource := writeRules(t, t.TempDir(), modelstest.Rules+"source:\n  query: SELECT id, karma, groups FROM users\n")
	const site = "mysql:ro:pw@tcp(127.0.0.1:3306)/website"
	secret := "cb-secret-0123456789abcdefghijkl"
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // "" = valid
	}{
		{"neither", func(*Config) {}, ""},
		{"source", func(c *Config) { c.Source, c.RulesPath = site, withSource }, ""},
		{"source that is not mysql", func(c *Config) { c.Source, c.RulesPath = "postgres:ro:hunter2@db/site", withSource }, `KARMAGATE_SOURCE must be mysql:DSN`},
		{"source DSN malformed", func(c *Config) { c.Source, c.RulesPath = "mysql:ro:hunter2@tcp(db:3306", withSource }, "KARMAGATE_SOURCE: the MySQL DSN is malformed"},
		{"source without a database", func(c *Config) { c.Source, c.RulesPath = "mysql:ro:hunter2@tcp(db:3306)/", withSource }, "names no database"},
		{"source without source: in the rules", func(c *Config) { c.Source = site }, "has no source: section"},
		{"source: in the rules without KARMAGATE_SOURCE", func(c *Config) { c.RulesPath = withSource }, "KARMAGATE_SOURCE is not set"},
		{"callbacks over https", func(c *Config) { c.CallbackURL, c.CallbackSecret = "https://example.org/cb?site=1", secret }, ""},
		{"callbacks over http to a private address", func(c *Config) { c.CallbackURL, c.CallbackSecret = "http://10.0.0.5/cb", secret }, ""},
		{"callbacks over http to a compose service", func(c *Config) { c.CallbackURL, c.CallbackSecret = "http://website/cb", secret }, ""},
		{"callbacks over http to the internet", func(c *Config) { c.CallbackURL, c.CallbackSecret = "http://example.org/cb", secret }, "plain http is only for"},
		{"callback URL not a URL", func(c *Config) { c.CallbackURL, c.CallbackSecret = "example.org/cb", secret }, "must be an https:// URL"},
		{"callback URL with a password", func(c *Config) { c.CallbackURL, c.CallbackSecret = "https://u:p@example.org/cb", secret }, "no user:password@"},
		{"callback URL without a secret", func(c *Config) { c.CallbackURL = "https://example.org/cb" }, "KARMAGATE_CALLBACK_SECRET is not set"},
		{"callback secret of 31", func(c *Config) { c.CallbackURL, c.CallbackSecret = "https://example.org/cb", secret[1:] }, "KARMAGATE_CALLBACK_SECRET is 31 characters; use at least 32"},
		{"callback secret is the master secret", func(c *Config) { c.CallbackURL, c.CallbackSecret = "https://example.org/cb", c.Secret }, "must differ from KARMAGATE_SECRET"},
		{"callback secret without a URL", func(c *Config) { c.CallbackSecret = secret }, "KARMAGATE_CALLBACK_URL is not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.modify(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Errorf("Validate shows the source's password: %v", err)
			}
		})
	}
	t.Run("from the environment", func(t *testing.T) {
		c, err := ConfigFromEnv(mapEnv("KARMAGATE_SOURCE", site, "KARMAGATE_CALLBACK_URL", "https://example.org/cb", "KARMAGATE_CALLBACK_SECRET", secret))
		if err != nil {
			t.Fatal(err)
		}
		if c.Source != site || c.CallbackURL != "https://example.org/cb" || c.CallbackSecret != secret {
			t.Errorf("config = %+v", c)
		}
	})
}
