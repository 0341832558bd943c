package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

func newLineWriter() *lineWriter { return &lineWriter{wrote: make(chan struct{}, 1)} }

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

// startSandbox runs `karmagate sandbox` with args on :0 addresses until it
// says it is ready; stop cancels it and waits for it to return.
func startSandbox(tb testing.TB, args ...string) (out *lineWriter, stop func() error) {
	tb.Helper()
	out = newLineWriter()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	args = append([]string{"--listen", "127.0.0.1:0", "--mtproto", "127.0.0.1:0"}, args...)
	go func() { done <- runSandbox(ctx, args, out, io.Discard) }()
	stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(testTimeout):
			tb.Fatal("runSandbox did not stop")
			return nil
		}
	}
	deadline := time.After(testTimeout)
	for !strings.Contains(out.String(), "MTProto:") {
		select {
		case <-out.wrote:
		case err := <-done:
			cancel()
			tb.Fatalf("runSandbox returned early: %v\n%s", err, out.String())
		case <-deadline:
			cancel()
			tb.Fatalf("not ready after %s:\n%s", testTimeout, out.String())
		}
	}
	return out, stop
}

// sourceEnv sources file in a POSIX shell as the README says
// (set -a; . ./file) with only PATH and preset in the environment, and
// returns the environment the shell then has.
func sourceEnv(t testing.TB, file string, preset ...string) map[string]string {
	t.Helper()
	cmd := exec.CommandContext(testContext(t), "sh", "-c", `set -a; . ./"$0"; exec env -0`, filepath.Base(file))
	cmd.Dir = filepath.Dir(file)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, preset...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, stderr.String())
	}
	env := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// TestRunSandbox_EnvFile runs the real sandbox subcommand, sources the env
// file it writes in a fresh shell, and starts serve with nothing else.
func TestRunSandbox_EnvFile(t *testing.T) {
	moduleRoot, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		wd        string // "" = this package's folder, which has no rules.example.yaml
		wantRules func(envDir string) string
		wantChats int
	}{
		{"writes rules beside the env file", "", func(dir string) string { return filepath.Join(dir, "sandbox.rules.yaml") }, 2},
		{"points at rules.example.yaml", moduleRoot, func(string) string { return filepath.Join(moduleRoot, "rules.example.yaml") }, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wd != "" {
				t.Chdir(tt.wd)
			}
			dir := t.TempDir()
			envFile := filepath.Join(dir, "sandbox.env")
			out, stop := startSandbox(t, "--seed", "7", "--env-file", envFile)
			defer func() {
				if err := stop(); err != nil {
					t.Errorf("runSandbox: %v", err)
				}
			}()

			env := sourceEnv(t, envFile)
			for _, k := range []string{"TELEGRAM_BOT_API_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_ID", "TELEGRAM_API_HASH", "TELEGRAM_DC_ADDR", "TELEGRAM_SERVER_KEY"} {
				if env[k] == "" {
					t.Errorf("env file gives no %s", k)
				}
			}
			if !strings.HasPrefix(env["TELEGRAM_SERVER_KEY"], "-----BEGIN") {
				t.Errorf("TELEGRAM_SERVER_KEY = %q, want PEM", env["TELEGRAM_SERVER_KEY"])
			}
			checks := []struct{ key, pattern string }{
				{"KARMAGATE_API_KEY", `^[0-9a-f]{32}$`},
				{"KARMAGATE_SECRET", `^[0-9a-f]{64}$`},
				{"KARMAGATE_ADMIN_TOKEN", `^[0-9a-f]{32}$`},
				{"KARMAGATE_DASHBOARD_API_KEY", `^true$`},
				{"KARMAGATE_RULES", "^" + regexp.QuoteMeta(tt.wantRules(dir)) + "$"},
				{"KARMAGATE_DB", "^" + regexp.QuoteMeta("sqlite:"+filepath.Join(dir, "sandbox.db")) + "$"},
			}
			for _, c := range checks {
				if !regexp.MustCompile(c.pattern).MatchString(env[c.key]) {
					t.Errorf("%s = %q, want %s", c.key, env[c.key], c.pattern)
				}
			}
			if !strings.Contains(out.String(), env["TELEGRAM_DC_ADDR"]) || !strings.Contains(out.String(), env["TELEGRAM_BOT_API_URL"]) || !strings.Contains(out.String(), ". "+envFile+"; ./karmagate serve") {
				t.Errorf("addresses or the serve line not printed:\n%s", out.String())
			}

			t.Run("the environment wins", func(t *testing.T) {
				mine := "sqlite:" + filepath.Join(t.TempDir(), "mine.db")
				got := sourceEnv(t, envFile, "KARMAGATE_API_KEY=my-own-key-0123456789", "KARMAGATE_DB="+mine)
				if got["KARMAGATE_API_KEY"] != "my-own-key-0123456789" || got["KARMAGATE_DB"] != mine {
					t.Errorf("preset values replaced: key %q, db %q", got["KARMAGATE_API_KEY"], got["KARMAGATE_DB"])
				}
				if got["KARMAGATE_SECRET"] != env["KARMAGATE_SECRET"] || got["KARMAGATE_RULES"] != env["KARMAGATE_RULES"] {
					t.Errorf("values not preset changed: secret %q, rules %q", got["KARMAGATE_SECRET"], got["KARMAGATE_RULES"])
				}
			})

			req, err := http.NewRequestWithContext(testContext(t), "GET", env["TELEGRAM_BOT_API_URL"]+"/bot"+env["TELEGRAM_BOT_TOKEN"]+"/getMe", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("getMe: %s", resp.Status)
			}

			// set -a; . ./sandbox.env; karmagate serve: nothing but the
			// file's variables (and a free port).
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
			st, body := call(t, m, "GET", "/api/v1/chats", "")
			if chats, _ := body["chats"].([]any); st != 200 || len(chats) != tt.wantChats {
				t.Errorf("chats = %d %v, want %d chats", st, body, tt.wantChats)
			}
			if err := m.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}

// TestDevDefaults_EnvFile checks the shell quoting of the development
// values: sourced, each comes back exactly as written.
func TestDevDefaults_EnvFile(t *testing.T) {
	tests := []struct {
		name  string
		value string
	}{
		{"plain", "/srv/karmagate/rules.yaml"},
		{"space", "/home/me/my rules.yaml"},
		{"single quote", "/home/o'brien/rules.yaml"},
		{"shell characters", "/tmp/$HOME/`id`/\"x\"/\\n/*"},
		{"closing brace", "/tmp/a}b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := devDefaults{APIKey: "k" + tt.value, Secret: "s", Rules: tt.value, DB: "sqlite:" + tt.value}
			file := filepath.Join(t.TempDir(), "env")
			if err := os.WriteFile(file, []byte(d.envFile()), 0o600); err != nil {
				t.Fatal(err)
			}
			env := sourceEnv(t, file)
			if env["KARMAGATE_RULES"] != tt.value || env["KARMAGATE_DB"] != "sqlite:"+tt.value || env["KARMAGATE_API_KEY"] != "k"+tt.value {
				t.Errorf("sourced rules %q, db %q, key %q; want %q", env["KARMAGATE_RULES"], env["KARMAGATE_DB"], env["KARMAGATE_API_KEY"], tt.value)
			}
		})
	}
}

// BenchmarkRunSandbox measures `karmagate sandbox` from start until it
// prints its addresses (ms-to-ready), and then stopping it.
func BenchmarkRunSandbox(b *testing.B) {
	var ready time.Duration
	runs := 0
	for b.Loop() {
		begin := time.Now()
		_, stop := startSandbox(b, "--seed", "7")
		ready += time.Since(begin)
		runs++
		if err := stop(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ready)/float64(time.Millisecond)/float64(runs), "ms-to-ready")
}

// TestRunSandbox_EnvFileMode: the env file holds the bot token, the API
// key and the master secret; it is 0600 even when an earlier, looser file
// of that name was there.
func TestRunSandbox_EnvFileMode(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "sandbox.env")
	if err := os.WriteFile(envFile, []byte("# an older one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(envFile, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stop := startSandbox(t, "--seed", "7", "--env-file", envFile)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("runSandbox: %v", err)
		}
	}()
	for _, f := range []string{envFile, filepath.Join(dir, "sandbox.rules.yaml")} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if mode := st.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %#o, want 0600", filepath.Base(f), mode)
		}
	}
}
