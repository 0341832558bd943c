package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
)

// TestConfig_WeakSecrets: plainly weak keys and secrets (fewer than 8
// distinct characters, such as sixteen a's) are refused, each with a line
// that says how to make a good one.
func TestConfig_WeakSecrets(t *testing.T) {
	base := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	const good = "9f2c4e1a7b3d5f60a8c2e4b6d1f3a5c7"
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // "" = valid
	}{
		{"good values", func(*Config) {}, ""},
		{"API key of sixteen a's", func(c *Config) { c.APIKey = strings.Repeat("a", 16) }, "KARMAGATE_API_KEY is too weak"},
		{"API key of two characters repeated", func(c *Config) { c.APIKey = strings.Repeat("ab", 16) }, "KARMAGATE_API_KEY is too weak"},
		{"API key of 7 distinct characters", func(c *Config) { c.APIKey = strings.Repeat("abcdefg", 4) }, "KARMAGATE_API_KEY is too weak"},
		{"API key of 8 distinct characters", func(c *Config) { c.APIKey = strings.Repeat("abcdefgh", 2) }, ""},
		{"secret of 44 a's", func(c *Config) { c.Secret = strings.Repeat("a", 44) }, "KARMAGATE_SECRET is too weak"},
		{"secret of 32 zeros", func(c *Config) { c.Secret = strings.Repeat("0", 32) }, "KARMAGATE_SECRET is too weak"},
		{"callback secret of 32 c's", func(c *Config) { c.CallbackURL, c.CallbackSecret = "https://example.org/cb", strings.Repeat("c", 32) }, "KARMAGATE_CALLBACK_SECRET is too weak"},
		{"good callback secret", func(c *Config) { c.CallbackURL, c.CallbackSecret = "https://example.org/cb", good }, ""},
		{"metrics token of 20 m's", func(c *Config) { c.MetricsToken = strings.Repeat("m", 20) }, "KARMAGATE_METRICS_TOKEN is too weak"},
		{"short metrics token", func(c *Config) { c.MetricsToken = "a1b2c3d4e5" }, "KARMAGATE_METRICS_TOKEN is 10 characters; use at least 16"},
		{"metrics token is the API key", func(c *Config) { c.MetricsToken = c.APIKey }, "KARMAGATE_METRICS_TOKEN must differ from KARMAGATE_API_KEY"},
		{"good metrics token", func(c *Config) { c.MetricsToken = good }, ""},
		{"admin token of twenty b's", func(c *Config) { c.AdminToken = strings.Repeat("b", 20) }, "KARMAGATE_ADMIN_TOKEN is too weak"},
		{"good admin token", func(c *Config) { c.AdminToken = "admin-" + good }, ""},
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
			case tt.want != "" && !strings.Contains(err.Error(), "openssl rand -hex 32"):
				t.Errorf("Validate = %v: does not say how to make a good one (openssl rand -hex 32)", err)
			}
		})
	}
	t.Run("the userbot commands' secret", func(t *testing.T) {
		c := Config{Secret: strings.Repeat("a", 44)}
		if err := c.ValidateSecret(); err == nil || !strings.Contains(err.Error(), "too weak") {
			t.Errorf("ValidateSecret of 44 a's = %v, want refused", err)
		}
	})
}

// TestConfig_MetricsTokenAndRetention: KARMAGATE_METRICS_TOKEN and
// KARMAGATE_RETENTION are read from the environment.
func TestConfig_MetricsTokenAndRetention(t *testing.T) {
	c, err := ConfigFromEnv(mapEnv("KARMAGATE_METRICS_TOKEN", "9f2c4e1a7b3d5f60", "KARMAGATE_RETENTION", "events=30d,updates=2d"))
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsToken != "9f2c4e1a7b3d5f60" {
		t.Errorf("MetricsToken = %q", c.MetricsToken)
	}
	if c.Retention.Events != 30*24*time.Hour || c.Retention.Updates != 48*time.Hour || c.Retention.Notifications != 14*24*time.Hour {
		t.Errorf("Retention = %s", c.Retention)
	}
	if c, err := ConfigFromEnv(mapEnv()); err != nil || c.Retention.Events != 90*24*time.Hour {
		t.Errorf("default retention = %s, %v; want events=90d", c.Retention, err)
	}
	if _, err := ConfigFromEnv(mapEnv("KARMAGATE_RETENTION", "events=forever")); err == nil || !strings.Contains(err.Error(), "KARMAGATE_RETENTION") {
		t.Errorf("a bad KARMAGATE_RETENTION = %v, want refused", err)
	}
}

// TestRun_MigrateFileModes: `karmagate migrate` creates the SQLite
// database, -wal and -shm readable by karmagate's user only, whatever the
// umask; serve refuses a weak API key before it creates anything.
func TestRun_MigrateFileModes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.db")
	var out, errOut bytes.Buffer
	if err := run(testContext(t), []string{"migrate", "--db", "sqlite:" + path}, mapEnv(), &out, &errOut); err != nil {
		t.Fatalf("migrate: %v (%s)", err, errOut.String())
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(f)
		if errors.Is(err, os.ErrNotExist) && f != path {
			continue // a clean close may remove -wal and -shm
		}
		if err != nil {
			t.Fatal(err)
		}
		if mode := st.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %#o after migrate, want 0600", filepath.Base(f), mode)
		}
	}

	weak := filepath.Join(dir, "weak.db")
	err := run(testContext(t), []string{"serve", "--db", "sqlite:" + weak}, mapEnv("KARMAGATE_API_KEY", strings.Repeat("a", 16),
		"KARMAGATE_SECRET", strings.Repeat("a", 44), "TELEGRAM_BOT_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi", "KARMAGATE_LISTEN", "127.0.0.1:0"), &out, &errOut)
	for _, want := range []string{"KARMAGATE_API_KEY is too weak", "KARMAGATE_SECRET is too weak", "openssl rand -hex 32"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("serve with sixteen a's and 44 a's: %v, want %q", err, want)
		}
	}
	if _, err := os.Stat(weak); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve with weak secrets created its database: %v", err)
	}
}

// TestMain_PrunesAndGuardsMetrics: serve prunes what outlived
// KARMAGATE_RETENTION on start (an old notification goes, a young one
// stays), and its /metrics answers only the metrics token.
func TestMain_PrunesAndGuardsMetrics(t *testing.T) {
	spec := "sqlite:" + filepath.Join(t.TempDir(), "k.db")
	cfg := testConfig(t, spec)
	cfg.MetricsToken = "metrics-9f2c4e1a7b3d5f60"
	cfg.Retention = models.DefaultRetention()
	cfg.Retention.Notifications = 7 * 24 * time.Hour
	ctx := testContext(t)
	db, err := models.Open(ctx, spec, models.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for key, at := range map[string]time.Time{"old": now.Add(-8 * 24 * time.Hour), "young": now.Add(-6 * 24 * time.Hour)} {
		if err := db.Gorm().Create(&models.Notice{IdemKey: key, TgUserID: 4101, Kind: "reply", Status: models.NoticeSent, CreatedAt: at}).Error; err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	m := MustRunMain(t, cfg)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ns, err := m.Store.Notices(ctx, 4101)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) == 1 && ns[0].IdemKey == "young" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifications after start: %+v, want only the young one", ns)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The prune's counter is added once the whole round (every table) is
	// done, a moment after the notification is gone.
	for {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+m.Addr()+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+cfg.MetricsToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(body), "karmagate_pruned_rows_total") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, tt := range []struct {
		auth string
		want int
	}{{"", http.StatusUnauthorized}, {"Bearer " + cfg.APIKey, http.StatusUnauthorized}, {"Bearer " + cfg.MetricsToken, http.StatusOK}} {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+m.Addr()+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.want {
			t.Errorf("GET /metrics with %q: %d, want %d", tt.auth, res.StatusCode, tt.want)
		}
		if tt.want == http.StatusOK && !strings.Contains(string(body), "karmagate_pruned_rows_total") {
			t.Errorf("metrics lack karmagate_pruned_rows_total")
		}
	}
}
