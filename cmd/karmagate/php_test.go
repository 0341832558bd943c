package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var phpExampleDir = filepath.Join("..", "..", "examples", "php")

// needPHP finds Debian's php-cli with the curl extension, as needTool does.
func needPHP(t *testing.T) string {
	t.Helper()
	const apt = "apt-get install -y php-cli php-curl"
	bin := needTool(t, "php", apt)
	if err := exec.CommandContext(testContext(t), bin, "-r", `exit(function_exists("curl_init") ? 0 : 1);`).Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but PHP has no curl extension: %s", apt)
		}
		t.Skipf("PHP has no curl extension (%s); skipping", apt)
	}
	return bin
}

// phpSite is examples/php served by PHP's built-in server, with
// testdata/php/router.php standing in for the website's sign-in.
type phpSite struct {
	t    *testing.T
	base string
	logs *lockedBuffer
}

func startPHPSite(t *testing.T, bin string, env []string) *phpSite {
	t.Helper()
	docroot, err := filepath.Abs(phpExampleDir)
	if err != nil {
		t.Fatal(err)
	}
	router, err := filepath.Abs(filepath.Join("testdata", "php", "router.php"))
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "-d", "session.save_path="+t.TempDir(), "-d", "display_errors=stderr", "-S", addr, "-t", docroot, router)
	cmd.Env = env
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("php -S did not stop")
		}
	})
	s := &phpSite{t: t, base: "http://" + addr, logs: logs}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("php -S exited: %v\n%s", err, logs.String())
		default:
		}
		res, err := http.Get(s.base + "/nonexistent")
		if err == nil {
			res.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("php -S did not answer: %v\n%s", err, logs.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// get fetches a page as the member signed in ("" for nobody), without
// following redirects.
func (s *phpSite) get(t *testing.T, member, pathAndQuery string) response {
	t.Helper()
	h := http.Header{}
	if member != "" {
		h.Set("X-Test-Member", member)
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return fetch(t, client, "GET", s.base+pathAndQuery, h, nil)
}

// phpComplaint matches what PHP prints for an error, a warning, a notice
// or a deprecation (display_errors=stderr, or on a page).
var phpComplaint = regexp.MustCompile(`(?i)PHP (Fatal error|Parse error|Warning|Notice|Deprecated)|<b>(Fatal error|Warning|Notice|Deprecated)</b>`)

// checkQuiet fails t if PHP complained while serving.
func (s *phpSite) checkQuiet(t *testing.T) {
	t.Helper()
	if phpComplaint.MatchString(s.logs.String()) {
		t.Errorf("PHP complained while serving the pages:\n%s", s.logs.String())
	}
}

// signWidget signs Login Widget fields as Telegram does
// (core.telegram.org/widgets/login): the sorted key=value lines but hash,
// HMAC-SHA256 keyed by SHA-256 of the bot token, in hex.
func signWidget(botToken string, fields map[string]string) url.Values {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	q := url.Values{}
	for i, k := range keys {
		lines[i] = k + "=" + fields[k]
		q.Set(k, fields[k])
	}
	key := sha256.Sum256([]byte(botToken))
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(strings.Join(lines, "\n")))
	q.Set("hash", hex.EncodeToString(m.Sum(nil)))
	return q
}

// apiMember is what these tests read of GET /api/v1/members/{id}.
type apiMember struct {
	Karma    int64    `json:"karma"`
	Groups   []string `json:"groups"`
	Telegram *struct {
		UserID int64 `json:"user_id"`
	} `json:"telegram"`
	Chats []struct {
		Key     string `json:"key"`
		State   string `json:"state"`
		Reason  string `json:"reason"`
		JoinURL string `json:"join_url"`
	} `json:"chats"`
}

// chat is the member's state in the gated chat key (zero when absent).
func (m apiMember) chat(key string) (c struct{ Key, State, Reason, JoinURL string }) {
	for _, ch := range m.Chats {
		if ch.Key == key {
			c.Key, c.State, c.Reason, c.JoinURL = ch.Key, ch.State, ch.Reason, ch.JoinURL
		}
	}
	return c
}

// waitFor polls cond until it holds, failing t after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestExample_PHP runs examples/php with Debian's php-cli against karmagate
// serve on the sandbox: push.php pushes members as JSON and as a form,
// changes karma and reads them back (checked in karmagate's API); the
// profile page shows the chats with state and reason, the Connect
// Telegram button and the Login Widget; connect.php's deep link, tapped in
// the sandbox, links the member and the page then shows the join link; and
// telegram-login.php forwards a widget payload signed with the sandbox
// bot's token as Telegram would sign it, and refuses a replayed or forged one.
func TestExample_PHP(t *testing.T) {
	bin := needPHP(t)
	e := newE2E(t, false)
	e.serve()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"KARMAGATE_URL=http://" + e.listen,
		"KARMAGATE_API_KEY=" + e.vars["KARMAGATE_API_KEY"],
		"KARMAGATE_BOT_USERNAME=karmagate_sandbox_bot",
	}
	push := func(t *testing.T, args ...string) (string, string, error) {
		t.Helper()
		cmd := exec.CommandContext(testContext(t), bin, append([]string{filepath.Join(phpExampleDir, "push.php")}, args...)...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	member := func(t *testing.T, id string) apiMember {
		t.Helper()
		var m apiMember
		if st := e.api("GET", "/api/v1/members/"+id, nil, &m); st != 200 {
			t.Fatalf("GET member %s: %d", id, st)
		}
		return m
	}

	t.Run("push.php", func(t *testing.T) {
		tests := []struct {
			name       string
			args       []string
			id         string
			wantKarma  int64
			wantGroups []string
		}{
			{name: "put as JSON", args: []string{"put", "alice", "150", "webmasters"}, id: "alice", wantKarma: 150, wantGroups: []string{"webmasters"}},
			{name: "put as a form", args: []string{"put-form", "bob", "60", "customers", "staff"}, id: "bob", wantKarma: 60, wantGroups: []string{"customers", "staff"}},
			{name: "karma delta", args: []string{"karma", "alice", "-2"}, id: "alice", wantKarma: 148, wantGroups: []string{"webmasters"}},
			{name: "put carol", args: []string{"put", "carol", "200", "webmasters"}, id: "carol", wantKarma: 200, wantGroups: []string{"webmasters"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out, stderr, err := push(t, tt.args...)
				if err != nil || stderr != "" {
					t.Fatalf("php push.php %s: %v\n%s", strings.Join(tt.args, " "), err, stderr)
				}
				var printed apiMember
				if err := json.Unmarshal([]byte(out), &printed); err != nil {
					t.Fatalf("push.php printed %q: %v", out, err)
				}
				got := member(t, tt.id)
				for _, m := range []apiMember{printed, got} {
					if m.Karma != tt.wantKarma || strings.Join(m.Groups, ",") != strings.Join(tt.wantGroups, ",") {
						t.Errorf("%s: karma %d groups %v; want %d %v", tt.id, m.Karma, m.Groups, tt.wantKarma, tt.wantGroups)
					}
				}
			})
		}
		t.Run("show reads back", func(t *testing.T) {
			out, stderr, err := push(t, "show", "alice")
			if err != nil {
				t.Fatalf("show: %v\n%s", err, stderr)
			}
			var m apiMember
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatal(err)
			}
			if c := m.chat("webmasters-pro"); m.Karma != 148 || c.State != "needs_link" || !strings.HasPrefix(c.Reason, "karma 148 >= 100") {
				t.Errorf("show alice: %+v; want karma 148, webmasters-pro needs_link with a reason", m)
			}
		})
		t.Run("chats", func(t *testing.T) {
			out, stderr, err := push(t, "chats", "alice")
			if err != nil {
				t.Fatalf("chats: %v\n%s", err, stderr)
			}
			if !strings.HasPrefix(out, "webmasters-pro\tneeds_link\t-\tkarma 148") {
				t.Errorf("chats alice printed %q", out)
			}
		})
		t.Run("refusal reported", func(t *testing.T) {
			_, stderr, err := push(t, "put", "no spaces", "1")
			if err == nil || !strings.Contains(stderr, " 400 ") {
				t.Errorf("a bad id: err %v, stderr %q; want exit 1 with karmagate's 400", err, stderr)
			}
			if _, _, err := push(t, "show", "nobody"); err == nil {
				t.Errorf("show of an unknown member succeeded")
			}
		})
	})

	site := startPHPSite(t, bin, env)
	t.Run("signed out", func(t *testing.T) {
		for _, page := range []string{"/profile.php", "/connect.php", "/telegram-login.php"} {
			if res := site.get(t, "", page); res.status != http.StatusForbidden {
				t.Errorf("%s signed out: %d, want 403", page, res.status)
			}
		}
	})

	t.Run("profile before linking", func(t *testing.T) {
		res := site.get(t, "alice", "/profile.php")
		for _, want := range []string{
			`href="connect.php"`, "telegram-widget.js", `data-telegram-login="karmagate_sandbox_bot"`, `data-auth-url="telegram-login.php"`,
			"Webmasters Pro", `data-state="needs_link"`, "Connect Telegram to join", "karma 148",
		} {
			if !strings.Contains(res.body, want) {
				t.Errorf("profile.php lacks %q:\n%s", want, res.body)
			}
		}
		if strings.Contains(res.body, ">Join</a>") {
			t.Errorf("a join link before linking:\n%s", res.body)
		}
	})

	// A group bound with /bind, so that a linked member gets a join link.
	owner := e.user("Owner")
	var chat struct {
		ID int64 `json:"id"`
	}
	e.sandbox("POST", "/sandbox/chats", map[string]any{"title": "Webmasters Pro", "creator": owner}, &chat)
	e.sandbox("POST", fmt.Sprintf("/sandbox/chats/%d/admins", chat.ID), map[string]any{}, nil)
	e.say(owner, chat.ID, e.bindCommand("webmasters-pro"))

	t.Run("connect Telegram", func(t *testing.T) {
		res := site.get(t, "alice", "/connect.php")
		loc, err := url.Parse(res.header.Get("Location"))
		if res.status != http.StatusSeeOther || err != nil || loc.Host != "t.me" || loc.Path != "/karmagate_sandbox_bot" || loc.Query().Get("start") == "" {
			t.Fatalf("connect.php: %d to %q; want 303 to the bot's deep link\n%s", res.status, res.header.Get("Location"), site.logs.String())
		}
		person := e.user("Alice")
		e.say(person, 0, "/start "+loc.Query().Get("start"))
		waitFor(t, "alice linked with a join link", func() bool {
			m := member(t, "alice")
			return m.Telegram != nil && m.Telegram.UserID == person && m.chat("webmasters-pro").JoinURL != ""
		})
		joinURL := member(t, "alice").chat("webmasters-pro").JoinURL
		page := site.get(t, "alice", "/profile.php")
		for _, want := range []string{"Telegram: linked as @alice_tg", `href="` + joinURL + `">Join</a>`} {
			if !strings.Contains(page.body, want) {
				t.Errorf("profile.php after linking lacks %q:\n%s", want, page.body)
			}
		}
		if strings.Contains(page.body, "telegram-widget.js") {
			t.Errorf("the Login Widget is still shown to a linked member")
		}
	})

	t.Run("Login Widget", func(t *testing.T) {
		carol := e.user("Carol")
		fields := map[string]string{
			"id": strconv.FormatInt(carol, 10), "first_name": "Carol", "username": "carol_tg",
			"auth_date": strconv.FormatInt(time.Now().Unix(), 10),
		}
		signed := signWidget(e.vars["TELEGRAM_BOT_TOKEN"], fields)
		res := site.get(t, "carol", "/telegram-login.php?"+signed.Encode())
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "profile.php?telegram=linked" {
			t.Fatalf("telegram-login.php: %d to %q; want 303 to profile.php?telegram=linked\n%s", res.status, res.header.Get("Location"), site.logs.String())
		}
		if m := member(t, "carol"); m.Telegram == nil || m.Telegram.UserID != carol {
			t.Fatalf("carol's telegram after the widget: %+v; want user %d", m.Telegram, carol)
		}
		if page := site.get(t, "carol", "/profile.php?telegram=linked"); !strings.Contains(page.body, "Your Telegram account is linked.") {
			t.Errorf("profile.php?telegram=linked does not say so:\n%s", page.body)
		}

		// The same payload again (409), and one signed with another token (403).
		if res := site.get(t, "carol", "/telegram-login.php?"+signed.Encode()); res.header.Get("Location") != "profile.php?telegram=refused" {
			t.Errorf("a replayed payload: %d to %q; want refused", res.status, res.header.Get("Location"))
		}
		dave := e.user("Dave")
		if out, stderr, err := push(t, "put", "dave", "200", "webmasters"); err != nil {
			t.Fatalf("put dave: %v\n%s%s", err, out, stderr)
		}
		forged := signWidget("123:not-the-bot-token", map[string]string{"id": strconv.FormatInt(dave, 10), "first_name": "Dave", "auth_date": fields["auth_date"]})
		if res := site.get(t, "dave", "/telegram-login.php?"+forged.Encode()); res.header.Get("Location") != "profile.php?telegram=refused" {
			t.Errorf("a forged payload: %d to %q; want refused", res.status, res.header.Get("Location"))
		}
		if m := member(t, "dave"); m.Telegram != nil {
			t.Errorf("a forged payload linked dave to %d", m.Telegram.UserID)
		}
	})
	site.checkQuiet(t)
}

// TestExample_PHPWithoutCurl (issue 17 #10): without PHP's curl extension
// the example says what to install and exits 1, not with a stack trace.
func TestExample_PHPWithoutCurl(t *testing.T) {
	bin := needPHP(t)
	// -n: no php.ini, so no shared extension such as curl is loaded.
	cmd := exec.CommandContext(testContext(t), bin, "-n", filepath.Join(phpExampleDir, "push.php"), "show", "alice")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "KARMAGATE_API_KEY=key"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("php -n push.php: %v, want exit 1\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "php-curl") || strings.Contains(stderr.String(), "Stack trace") {
		t.Errorf("without curl the example said:\n%s", stderr.String())
	}
}
