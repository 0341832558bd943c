package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
)

// testConfig is a serve configuration against a sandbox of the test's own
// (Bot API only), a temporary rules file and db.
func testConfig(t *testing.T, db string) Config {
	t.Helper()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(modelstest.Rules), 0o600); err != nil {
		t.Fatal(err)
	}
	sb := sandboxtest.Start(t, sandbox.Config{NoMTProto: true})
	return Config{
		DB: db, Listen: "127.0.0.1:0", APIKey: "e2e-api-key-0123456789", Secret: "e2e-secret-0123456789abcdef-0123456789",
		RulesPath: rules, BotToken: sb.BotToken(), BotAPIURL: sb.BotAPIURL(), LinkTTL: 15 * time.Minute,
	}
}

// testTimeout bounds anything in these tests that could block: a hang
// fails the test instead of hanging CI.
const testTimeout = 2 * time.Minute

// testContext is the test's context with a deadline of testTimeout.
func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// MustRunMain boots the whole daemon and stops it when the test ends.
func MustRunMain(t *testing.T, cfg Config) *Main {
	t.Helper()
	m := NewMain(cfg, slog.New(slog.DiscardHandler))
	if err := m.Run(testContext(t)); err != nil {
		m.Close()
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// call sends one request to m with its API key and decodes the JSON answer.
func call(t *testing.T, m *Main, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, "http://"+m.Addr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+m.Config.APIKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d, body is not a JSON object: %v\n%s", method, path, res.StatusCode, err, raw)
	}
	return res.StatusCode, out
}

func TestMain_RestartKeepsEverything(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		cfg := testConfig(t, spec)
		m := MustRunMain(t, cfg)
		if st, body := call(t, m, "PUT", "/api/v1/members/alice", `{"karma": 150, "groups": ["webmasters"]}`); st != 201 {
			t.Fatalf("put = %d %v", st, body)
		}
		if st, _ := call(t, m, "POST", "/api/v1/members/alice/karma", `{"delta": -7}`); st != 200 {
			t.Fatalf("delta = %d", st)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		m2 := MustRunMain(t, cfg)
		st, body := call(t, m2, "GET", "/api/v1/members/alice", "")
		if st != 200 || body["karma"] != 143.0 {
			t.Fatalf("after restart = %d %v", st, body)
		}
		st, ev := call(t, m2, "GET", "/api/v1/events?member=alice", "")
		if st != 200 || len(ev["events"].([]any)) < 3 {
			t.Fatalf("events after restart = %v", ev)
		}
		if st, _ := call(t, m2, "GET", "/healthz", ""); st != 200 {
			t.Fatalf("healthz = %d", st)
		}
	})
}

// mapEnv is a getenv over the given key, value pairs.
func mapEnv(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// badRulesFile writes a rules file with a mistake on line 5.
func badRulesFile(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(path, []byte("chats:\n  pro:\n    title: Pro\n    groups: [webmasters]\n    min_karma: lots\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRun_CLI(t *testing.T) {
	dir := t.TempDir()
	env := mapEnv
	db := "sqlite:" + filepath.Join(dir, "k.db")
	badRules := badRulesFile(t, dir)
	goodEnv := []string{"KARMAGATE_API_KEY", "0123456789abcdef", "KARMAGATE_SECRET", "9f2c4e1a7b3d5f60a8c2e4b6d1f3a5c7",
		"TELEGRAM_BOT_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi", "KARMAGATE_LISTEN", "127.0.0.1:0"}
	tests := []struct {
		name    string
		args    []string
		env     func(string) string
		wantErr string
		wantOut string
	}{
		{"no command", nil, env(), "usage", ""},
		{"unknown command", []string{"frobnicate"}, env(), "usage", ""},
		{"version", []string{"version"}, env(), "", "karmagate"},
		{"migrate", []string{"migrate", "--db", db}, env(), "", "database schema at version "},
		{"migrate again", []string{"migrate"}, env("KARMAGATE_DB", db), "", "database schema at version "},
		{"bad flag", []string{"migrate", "--nope"}, env(), "flag provided but not defined", ""},
		{"stray argument", []string{"migrate", "extra"}, env(), "unexpected argument", ""},
		{"bad db", []string{"migrate", "--db", "oracle:x"}, env(), "unknown kind", ""},
		{"bad log level", []string{"migrate"}, env("KARMAGATE_LOG_LEVEL", "loud"), "KARMAGATE_LOG_LEVEL", ""},
		{"bad api id", []string{"migrate"}, env("TELEGRAM_API_ID", "abc"), "TELEGRAM_API_ID", ""},
		{"migrate lists every problem", []string{"migrate", "--db", "sqlite:" + filepath.Join(dir, "nope", "k.db")}, env("KARMAGATE_LOG_FORMAT", "xml"), "2 problems", ""},
		{"sync without rules", []string{"sync", "--db", db}, env(), "no rules", ""},
		{"sync with bad rules", []string{"sync", "--db", db, "--rules", filepath.Join(dir, "missing.yaml")}, env(), "no such file", ""},
		{"sync lists every problem", []string{"sync", "--db", "mysql:nonsense"}, env(), "2 problems", ""},
		{"serve without secrets", []string{"serve", "--db", db}, env(), "KARMAGATE_API_KEY is not set", ""},
		{"serve short secret", []string{"serve"}, env("KARMAGATE_API_KEY", "0123456789abcdef", "KARMAGATE_SECRET", "short", "TELEGRAM_BOT_TOKEN", "123:abc"), "use at least 32", ""},
		{"serve bad token", []string{"serve"}, env("KARMAGATE_API_KEY", "0123456789abcdef", "KARMAGATE_SECRET", "9f2c4e1a7b3d5f60a8c2e4b6d1f3a5c7", "TELEGRAM_BOT_TOKEN", "123:abc"), "does not look like a bot token", ""},
		{"serve with a bad rules file", []string{"serve", "--db", db, "--rules", badRules}, env(goodEnv...), badRules + ":5: chats.pro.min_karma must be an integer", ""},
		{"serve dc without key", []string{"serve"}, env("TELEGRAM_DC_ADDR", "127.0.0.1:8443"), "TELEGRAM_SERVER_KEY together", ""},
		{"serve http webhook", []string{"serve"}, env("KARMAGATE_WEBHOOK_URL", "http://example.com/hook"), "https://", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			// A serve that wrongly starts returns at the deadline with no
			// error, and the test fails instead of hanging.
			err := run(testContext(t), tt.args, tt.env, &out, &errOut)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("err = %v (stderr %s)", err, errOut.String())
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error()+errOut.String(), tt.wantErr)) {
				t.Fatalf("err = %v, stderr %q; want %q", err, errOut.String(), tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout = %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}

// TestRun_ServeListsEveryProblem starts serve with a mistake in every part
// of its configuration: it must name them all at once, exit non-zero and
// create nothing.
func TestRun_ServeListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	badRules := badRulesFile(t, dir)
	tests := []struct {
		name   string
		db     string
		wantDB string
	}{
		{"no kind", "karmagate.db", `KARMAGATE_DB "karmagate.db": want sqlite:PATH or mysql:DSN`},
		{"unknown kind", "postgres:user:hunter2@db/karmagate", `KARMAGATE_DB: unknown kind "postgres"`},
		{"malformed mysql DSN", "mysql:user:hunter2@tcp(127.0.0.1:3306", "KARMAGATE_DB: the MySQL DSN is malformed"},
		{"mysql DSN without a database", "mysql:user:hunter2@tcp(127.0.0.1:3306)/", "KARMAGATE_DB: the MySQL DSN names no database"},
		{"sqlite folder missing", "sqlite:" + filepath.Join(dir, "nope", "k.db"), "KARMAGATE_DB: the folder " + filepath.Join(dir, "nope") + " for the SQLite file does not exist"},
		{"sqlite path is a folder", "sqlite:" + dir, "KARMAGATE_DB: " + dir + " is a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := mapEnv("KARMAGATE_LOG_LEVEL", "loud", "KARMAGATE_LOG_FORMAT", "xml", "KARMAGATE_DB", tt.db,
				"KARMAGATE_RULES", badRules, "KARMAGATE_API_KEY", "0123456789abcdef", "KARMAGATE_SECRET", "short",
				"TELEGRAM_BOT_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi", "KARMAGATE_LISTEN", "127.0.0.1:0")
			var out, errOut bytes.Buffer
			err := run(testContext(t), []string{"serve"}, getenv, &out, &errOut)
			var cerr *ConfigError
			if !errors.As(err, &cerr) {
				t.Fatalf("err = %v (%T), want a *ConfigError", err, err)
			}
			if len(cerr.Problems) != 5 {
				t.Errorf("%d problems, want 5:\n%v", len(cerr.Problems), err)
			}
			if code := exitCode(err, &errOut); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			printed := errOut.String()
			for _, want := range []string{
				"karmagate: 5 problems in the configuration:",
				`KARMAGATE_LOG_LEVEL must be debug, info, warn or error, not "loud"`,
				`KARMAGATE_LOG_FORMAT must be text or json, not "xml"`,
				tt.wantDB,
				badRules + ":5: chats.pro.min_karma must be an integer",
				"KARMAGATE_SECRET is 5 characters; use at least 32",
			} {
				if !strings.Contains(printed, want) {
					t.Errorf("stderr lacks %q:\n%s", want, printed)
				}
			}
			if strings.Contains(printed, "hunter2") {
				t.Errorf("stderr shows the database password:\n%s", printed)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != "bad.yaml" {
				t.Errorf("serve touched %s: %v", dir, entries)
			}
		})
	}
	t.Run("only the secret wrong", func(t *testing.T) {
		good := filepath.Join(t.TempDir(), "rules.yaml")
		if err := os.WriteFile(good, []byte(modelstest.Rules), 0o600); err != nil {
			t.Fatal(err)
		}
		dbPath := filepath.Join(t.TempDir(), "k.db")
		getenv := mapEnv("KARMAGATE_DB", "sqlite:"+dbPath, "KARMAGATE_RULES", good, "KARMAGATE_API_KEY", "0123456789abcdef",
			"KARMAGATE_SECRET", "x", "TELEGRAM_BOT_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi", "KARMAGATE_LISTEN", "127.0.0.1:0")
		err := run(testContext(t), []string{"serve"}, getenv, io.Discard, io.Discard)
		if err == nil || err.Error() != "KARMAGATE_SECRET is 1 character; use at least 32 (e.g. openssl rand -hex 32)" {
			t.Errorf("err = %v", err)
		}
		if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("serve created the database despite a bad secret: %v", err)
		}
	})
}

func TestConfig_Validate(t *testing.T) {
	base := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"in-memory sqlite", func(c *Config) { c.DB = "sqlite::memory:" }, ""},
		{"sqlite with parameters", func(c *Config) { c.DB += "?_pragma=busy_timeout(5000)" }, ""},
		{"mysql", func(c *Config) { c.DB = "mysql:user:pw@tcp(127.0.0.1:3306)/karmagate" }, ""},
		{"key of 1 character", func(c *Config) { c.APIKey = "k" }, "KARMAGATE_API_KEY is 1 character; use at least 16"},
		{"key of 15 characters", func(c *Config) { c.APIKey = strings.Repeat("k", 15) }, "KARMAGATE_API_KEY is 15 characters; use at least 16"},
		{"secret of 31 characters", func(c *Config) { c.Secret = strings.Repeat("é", 31) }, "KARMAGATE_SECRET is 31 characters; use at least 32"},
		{"missing rules file", func(c *Config) { c.RulesPath = filepath.Join(t.TempDir(), "none.yaml") }, "no such file"},
		{"no rules", func(c *Config) { c.RulesPath = "" }, "no rules: create rules.yaml"},
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
			}
		})
	}
}

// TestRun_Help checks every subcommand's -h: help is not a failure, and each
// flag's argument is named by a word, not by a phrase from its usage text.
func TestRun_Help(t *testing.T) {
	tests := []struct {
		cmd  string
		want []string
	}{
		{"serve", []string{"usage: karmagate serve", "-db SPEC", "-rules FILE", "-listen ADDR"}},
		{"migrate", []string{"usage: karmagate migrate", "-db SPEC", "-rules FILE"}},
		{"sync", []string{"usage: karmagate sync", "-db SPEC", "-rules FILE"}},
		{"sandbox", []string{"usage: karmagate sandbox", "-listen ADDR", "-mtproto ADDR", "-seed N", "-env-file FILE", "-v\tlog every call"}},
	}
	flagLine := regexp.MustCompile(`^  -([a-z-]+)(?: (.*))?$`)
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(testContext(t), []string{tt.cmd, "-h"}, mapEnv(), &out, &errOut)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want flag.ErrHelp", err)
			}
			if code := exitCode(err, io.Discard); code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
			help := errOut.String()
			for _, want := range tt.want {
				if !strings.Contains(help, want) {
					t.Errorf("-h lacks %q:\n%s", want, help)
				}
			}
			flags := 0
			for _, line := range strings.Split(help, "\n") {
				m := flagLine.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				flags++
				if m[2] != "" && !regexp.MustCompile(`^[A-Z]+$`).MatchString(m[2]) {
					t.Errorf("flag -%s: argument named %q, want one upper-case word", m[1], m[2])
				}
			}
			if flags < 2 {
				t.Errorf("found %d flags in -h:\n%s", flags, help)
			}
		})
	}
}

func TestRun_SyncReplans(t *testing.T) {
	cfg := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	m := MustRunMain(t, cfg)
	if st, body := call(t, m, "PUT", "/api/v1/members/bob", `{"karma": 60, "groups": ["customers"]}`); st != 201 {
		t.Fatalf("put = %d %v", st, body)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(testContext(t), []string{"sync"}, mapEnv("KARMAGATE_DB", cfg.DB, "KARMAGATE_RULES", cfg.RulesPath), &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), "reconciled against 2 chats: 1 members planned (0 changed)") {
		t.Fatalf("sync = %v, %q", err, out.String())
	}
}
