package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestMain_InstancesAndClock: serve registers itself (GET
// /api/v1/instances lists it alive, under the owner its leases carry), every
// clock it hands out is the database's even when the host's runs 30 s
// ahead, and a clean stop deregisters it.
func TestMain_InstancesAndClock(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		cfg := testConfig(t, spec)
		m := NewMain(cfg, slog.New(slog.DiscardHandler))
		m.Now = func() time.Time { return time.Now().Add(30 * time.Second) }
		if err := m.Run(testContext(t)); err != nil {
			m.Close()
			t.Fatalf("run: %v", err)
		}
		t.Cleanup(func() { m.Close() })
		if d := time.Until(m.Now()); d > 2*time.Second || d < -2*time.Second {
			t.Errorf("serve's clock is %s off the database's (the host's runs 30 s ahead)", d.Round(time.Millisecond))
		}
		if m.Workers.Owner() != m.Owner || m.Owner == "" {
			t.Errorf("the workers lease as %q, the instance is %q", m.Workers.Owner(), m.Owner)
		}
		st, body := call(t, m, "GET", "/api/v1/instances", "")
		list, _ := body["instances"].([]any)
		if st != 200 || body["alive"] != 1.0 || len(list) != 1 || list[0].(map[string]any)["owner"] != m.Owner {
			t.Fatalf("instances = %d %v", st, body)
		}
		if st, _ := call(t, m, "GET", "/api/v1/instances?x=1", ""); st != 400 {
			t.Errorf("an unknown parameter: %d, want 400", st)
		}
		owner := m.Owner
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		store := models.NewStore(modelstest.MustOpen(t, spec), m.Store.Rules(), models.Options{})
		vs, err := store.Instances(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if v.Owner == owner {
				t.Errorf("still registered after a clean stop: %+v", v)
			}
		}
	})
}

// TestMain_SecondServeOnSQLiteRefused: a second serve on the SQLite file a
// first one runs on is refused with a sentence (it would take work from
// the first; several instances need MariaDB), before it opens anything;
// once the first stops, it starts.
func TestMain_SecondServeOnSQLiteRefused(t *testing.T) {
	cfg := testConfig(t, modelstest.Specs(t)["sqlite"])
	first := MustRunMain(t, cfg)
	second := NewMain(cfg, slog.New(slog.DiscardHandler))
	err := second.Run(testContext(t))
	if err == nil {
		second.Close()
		t.Fatal("a second serve on the same SQLite database started")
	}
	if !strings.Contains(err.Error(), "another karmagate serve") || !strings.Contains(err.Error(), "MariaDB") {
		t.Errorf("refused with %q; want a sentence naming the other serve and MariaDB", err)
	}
	second.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third := MustRunMain(t, cfg)
	third.Close()
}

// TestMain_UncleanAPIPathRefused: serve's own mux does not redirect an API
// path with a .. segment to its clean form (a 307): the API refuses it.
func TestMain_UncleanAPIPathRefused(t *testing.T) {
	m := MustRunMain(t, testConfig(t, modelstest.Specs(t)["sqlite"]))
	if st, body := call(t, m, "PUT", "/api/v1/members/..", `{"karma": 1}`); st != 400 || body["type"] == nil {
		t.Errorf("PUT /api/v1/members/.. = %d %v, want 400", st, body)
	}
	if st, _ := call(t, m, "GET", "/healthz", ""); st != 200 {
		t.Errorf("healthz = %d", st)
	}
}

// TestRun_BadMessagesBeforeAnything (issue 17 #6): a rules file whose
// messages are broken templates (a field that does not exist, an unclosed
// action) stops serve with every problem and its line, before the database
// is created.
func TestRun_BadMessagesBeforeAnything(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	src := modelstest.Rules + `messages:
  linked:
    en: "Hello {{.Nope}}"
  access_lost:
    en: "You left {{.Chat"
`
	if err := os.WriteFile(rules, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "k.db")
	getenv := mapEnv("KARMAGATE_DB", "sqlite:"+dbPath, "KARMAGATE_RULES", rules, "KARMAGATE_API_KEY", "e2e-api-key-0123456789",
		"KARMAGATE_SECRET", "e2e-secret-0123456789abcdef-0123456789", "TELEGRAM_BOT_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi",
		"KARMAGATE_LISTEN", "127.0.0.1:0")
	var errOut strings.Builder
	err := run(testContext(t), []string{"serve"}, getenv, io.Discard, &errOut)
	if err == nil {
		t.Fatal("serve started with broken message templates")
	}
	lines := strings.Count(src[:strings.Index(src, "Hello")], "\n") + 1
	for _, want := range []string{
		fmt.Sprintf("%s:%d: messages.linked.en", rules, lines), "Nope",
		fmt.Sprintf("%s:%d: messages.access_lost.en", rules, lines+2), "unclosed action",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve created the database despite the broken rules: %v", err)
	}
}

// TestRun_FailsBeforeCreatingAnything (issue 17 #10): a busy port or a
// token the Bot API refuses stops serve before the database (or anything
// beside it) is created.
func TestRun_FailsBeforeCreatingAnything(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name, want string
		edit       func(*Config)
	}{
		{"busy port", "listen on", func(c *Config) { c.Listen = busy.Addr().String() }},
		{"refused token", "TELEGRAM_BOT_TOKEN was refused", func(c *Config) { c.BotToken = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(t, "sqlite:"+filepath.Join(dir, "k.db"))
			tc.edit(&cfg)
			m := NewMain(cfg, slog.New(slog.DiscardHandler))
			err := m.Run(testContext(t))
			m.Close()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("serve created %v before failing", entries)
			}
		})
	}
}
