package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/models/modelstest"
)

func testConfig(t *testing.T, db string) Config {
	t.Helper()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(modelstest.Rules), 0o600); err != nil {
		t.Fatal(err)
	}
	return Config{
		DB: db, Listen: "127.0.0.1:0", APIKey: "e2e-api-key-0123456789", Secret: strings.Repeat("s", 32),
		RulesPath: rules, BotToken: "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi", BotAPIURL: "https://api.telegram.org",
	}
}

// MustRunMain boots the whole daemon and stops it when the test ends.
func MustRunMain(t *testing.T, cfg Config) *Main {
	t.Helper()
	m := NewMain(cfg, slog.New(slog.DiscardHandler))
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func call(t *testing.T, m *Main, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+m.Addr()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+m.Config.APIKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	json.Unmarshal(raw, &out)
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

func TestRun_CLI(t *testing.T) {
	dir := t.TempDir()
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	db := "sqlite:" + filepath.Join(dir, "k.db")
	badRules := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badRules, []byte("chats:\n  pro:\n    title: Pro\n    groups: [webmasters]\n    min_karma: lots\n"), 0o600)
	goodEnv := []string{"KARMAGATE_API_KEY", "0123456789abcdef", "KARMAGATE_SECRET", strings.Repeat("x", 32),
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
		{"migrate", []string{"migrate", "--db", db}, env(), "", "version 2"},
		{"migrate again", []string{"migrate"}, env("KARMAGATE_DB", db), "", "version 2"},
		{"bad flag", []string{"migrate", "--nope"}, env(), "flag provided but not defined", ""},
		{"stray argument", []string{"migrate", "extra"}, env(), "unexpected argument", ""},
		{"bad db", []string{"migrate", "--db", "oracle:x"}, env(), "unknown kind", ""},
		{"bad log level", []string{"migrate"}, env("KARMAGATE_LOG_LEVEL", "loud"), "KARMAGATE_LOG_LEVEL", ""},
		{"bad api id", []string{"migrate"}, env("TELEGRAM_API_ID", "abc"), "TELEGRAM_API_ID", ""},
		{"sync without rules", []string{"sync", "--db", db}, env(), "no rules", ""},
		{"sync with bad rules", []string{"sync", "--db", db, "--rules", filepath.Join(dir, "missing.yaml")}, env(), "no such file", ""},
		{"serve without secrets", []string{"serve", "--db", db}, env(), "KARMAGATE_API_KEY is not set", ""},
		{"serve short secret", []string{"serve"}, env("KARMAGATE_API_KEY", "0123456789abcdef", "KARMAGATE_SECRET", "short", "TELEGRAM_BOT_TOKEN", "123:abc"), "use at least 32", ""},
		{"serve bad token", []string{"serve"}, env("KARMAGATE_API_KEY", "0123456789abcdef", "KARMAGATE_SECRET", strings.Repeat("x", 32), "TELEGRAM_BOT_TOKEN", "123:abc"), "does not look like a bot token", ""},
		{"serve with a bad rules file", []string{"serve", "--db", db, "--rules", badRules}, env(goodEnv...), badRules + ":5: chats.pro.min_karma must be an integer", ""},
		{"serve dc without key", []string{"serve"}, env("TELEGRAM_DC_ADDR", "127.0.0.1:8443"), "TELEGRAM_SERVER_KEY together", ""},
		{"serve http webhook", []string{"serve"}, env("KARMAGATE_WEBHOOK_URL", "http://example.com/hook"), "https://", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, tt.env, &out, &errOut)
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

func TestRun_SyncReplans(t *testing.T) {
	cfg := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	m := MustRunMain(t, cfg)
	call(t, m, "PUT", "/api/v1/members/bob", `{"karma": 60, "groups": ["customers"]}`)
	m.Close()
	var out bytes.Buffer
	err := run(context.Background(), []string{"sync"}, func(k string) string {
		return map[string]string{"KARMAGATE_DB": cfg.DB, "KARMAGATE_RULES": cfg.RulesPath}[k]
	}, &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), "re-planned 1 members against 2 chats") {
		t.Fatalf("sync = %v, %q", err, out.String())
	}
}
