package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineWriter collects output and signals each write.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestRunSandbox(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "sandbox.env")
	out := &lineWriter{wrote: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	begin := time.Now()
	go func() {
		done <- runSandbox(ctx, []string{"--listen", "127.0.0.1:0", "--mtproto", "127.0.0.1:0", "--seed", "7", "--env-file", envFile}, out, io.Discard)
	}()
	for !strings.Contains(out.String(), "MTProto:") {
		select {
		case <-out.wrote:
		case err := <-done:
			t.Fatalf("runSandbox returned early: %v\n%s", err, out.String())
		case <-time.After(10 * time.Second):
			t.Fatalf("not ready after 10s:\n%s", out.String())
		}
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("ready after %s, want under 2s", d)
	}
	data, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") && !strings.HasPrefix(k, " ") {
			env[k] = strings.Trim(v, "'")
		}
	}
	for _, k := range []string{"TELEGRAM_BOT_API_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_ID", "TELEGRAM_API_HASH", "TELEGRAM_DC_ADDR", "TELEGRAM_SERVER_KEY"} {
		if _, ok := env[k]; !ok {
			t.Errorf("env file lacks %s:\n%s", k, data)
		}
	}
	resp, err := http.Get(env["TELEGRAM_BOT_API_URL"] + "/bot" + env["TELEGRAM_BOT_TOKEN"] + "/getMe")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("getMe: %s", resp.Status)
	}
	if !strings.Contains(out.String(), env["TELEGRAM_DC_ADDR"]) || !strings.Contains(out.String(), env["TELEGRAM_BOT_API_URL"]) {
		t.Errorf("addresses not printed:\n%s", out.String())
	}
	// set -a; . ./sandbox.env; karmagate serve: the variables the sandbox
	// writes are ones serve accepts.
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte("chats:\n  pro:\n    title: Pro\n    groups: [webmasters]\n    min_karma: 100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env["KARMAGATE_API_KEY"] = "sandbox-api-key-0123456789"
	env["KARMAGATE_SECRET"] = strings.Repeat("k", 32)
	env["KARMAGATE_RULES"] = rules
	env["KARMAGATE_DB"] = "sqlite:" + filepath.Join(dir, "k.db")
	env["KARMAGATE_LISTEN"] = "127.0.0.1:0"
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BotAPIURL != env["TELEGRAM_BOT_API_URL"] || cfg.DCAddr != env["TELEGRAM_DC_ADDR"] || cfg.APIID == 0 {
		t.Errorf("config did not take the sandbox's variables: %+v", cfg)
	}
	m := MustRunMain(t, cfg)
	if st, body := call(t, m, "GET", "/healthz", ""); st != 200 {
		t.Errorf("serve against the sandbox: healthz %d %v", st, body)
	}
	m.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runSandbox: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runSandbox did not stop")
	}
}
