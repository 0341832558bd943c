package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/vault"
)

const threeChatRules = `
groups: [webmasters, customers]
chats:
  webmasters-pro:
    title: Webmasters Pro
    about: Webmasters with karma 100 and more
    groups: [webmasters]
    min_karma: 100
  customers-club:
    title: Customers Club
    groups: [customers]
    min_karma: 50
  staff-room:
    title: Staff Room
    groups: ["*"]
    min_karma: 1000
`

// newUserbotE2E is newE2E with rules of its own.
func newUserbotE2E(t *testing.T, rules string) *e2e {
	t.Helper()
	e := newE2E(t, false)
	path := filepath.Join(e.dir, "rules.yaml")
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	e.env = append(e.env, "KARMAGATE_RULES="+path)
	return e
}

// person creates a sandbox account with a phone and (optional) password.
func (e *e2e) person(name, phone, password string) int64 {
	e.t.Helper()
	var u sbUser
	e.sandbox("POST", "/sandbox/users", map[string]any{"first_name": name, "phone": phone, "password": password}, &u)
	return u.ID
}

// code waits for the login code the sandbox sent to phone, newer than old.
func (e *e2e) code(phone, old string) string {
	e.t.Helper()
	var got string
	e.eventually("a login code for "+phone, func() bool {
		var c struct {
			Code string `json:"code"`
		}
		if st := e.do("GET", e.control+"/sandbox/codes/"+url.PathEscape(phone), "", nil, &c); st != 200 || c.Code == "" || c.Code == old {
			return false
		}
		got = c.Code
		return true
	})
	return got
}

// cliLogin runs karmagate userbot login as its own process and answers its
// questions through its real stdin: phone, code, 2FA password.
func (e *e2e) cliLogin(phone, password string) string {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "userbot", "login")
	cmd.Dir = e.dir
	cmd.Env = e.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	io.WriteString(stdin, phone+"\n")
	code := e.code(phone, "")
	io.WriteString(stdin, code+"\n")
	io.WriteString(stdin, password+"\n")
	select {
	case err := <-done:
		if err != nil {
			e.t.Fatalf("userbot login: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		e.t.Fatalf("userbot login did not finish\n%s", out.String())
	}
	if !strings.Contains(out.String(), "is ready") {
		e.t.Fatalf("userbot login said:\n%s", out.String())
	}
	if (password != "" && strings.Contains(out.String(), password)) || strings.Contains(out.String(), ": "+code) {
		e.t.Fatalf("userbot login echoed a secret:\n%s", out.String())
	}
	return code
}

// cli runs a karmagate command as its own process.
func (e *e2e) cli(args ...string) string {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir, cmd.Env = e.dir, e.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("karmagate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

type apiChat struct {
	Key    string `json:"key"`
	ChatID *int64 `json:"telegram_chat_id"`
}

func (e *e2e) chats() []apiChat {
	var out struct {
		Chats []apiChat `json:"chats"`
	}
	e.api("GET", "/api/v1/chats", nil, &out)
	return out.Chats
}

type apiUserbot struct {
	ID     int64  `json:"id"`
	State  string `json:"state"`
	HeldBy string `json:"held_by"`
}

func (e *e2e) userbots() []apiUserbot {
	var out struct {
		Userbots []apiUserbot `json:"userbots"`
	}
	e.admin("GET", "/api/v1/userbots", nil, &out)
	return out.Userbots
}

func (e *e2e) mtCalls(method string) int {
	var calls []json.RawMessage
	e.sandbox("GET", "/sandbox/calls?api=mtproto&method="+method, nil, &calls)
	return len(calls)
}

func (e *e2e) sandboxChats() []struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
} {
	var out []struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
	}
	e.sandbox("GET", "/sandbox/chats", nil, &out)
	return out
}

func TestE2E_Userbots(t *testing.T) {
	e := newUserbotE2E(t, threeChatRules)
	const password = "correct-horse-battery-staple-e2e"
	alice := e.person("Alice", "+31611110001", password)
	bob := e.person("Bob", "+31611110002", "")
	if out := e.cli("userbot", "list"); !strings.Contains(out, "no userbot accounts") {
		t.Fatalf("userbot list on an empty database: %s", out)
	}
	// One account through the CLI, with code and 2FA through its stdin.
	cliCode := e.cliLogin("+31611110001", password)
	e.serve()
	// One through the REST steps.
	var step struct {
		ID    int64  `json:"id"`
		State string `json:"state"`
	}
	if st := e.admin("POST", "/api/v1/userbots", map[string]any{"phone": "+31611110002"}, &step); st != 201 || step.State != "code_sent" {
		t.Fatalf("POST /api/v1/userbots: %d %+v", st, step)
	}
	var prob struct {
		Type   string `json:"type"`
		Detail string `json:"detail"`
	}
	if st := e.admin("POST", fmt.Sprintf("/api/v1/userbots/%d/code", step.ID), map[string]any{"code": "00000"}, &prob); st != 422 || !strings.Contains(prob.Detail, "PHONE_CODE_INVALID") {
		t.Fatalf("a wrong code: %d %+v", st, prob)
	}
	restCode := e.code("+31611110002", "")
	if st := e.admin("POST", fmt.Sprintf("/api/v1/userbots/%d/code", step.ID), map[string]any{"code": restCode}, &step); st != 200 || step.State != "ready" {
		t.Fatalf("the code: %d %+v", st, step)
	}
	// Three chats, no groups: serve creates them, the bot admin in each.
	e.eventually("three groups in GET /api/v1/chats", func() bool {
		n := 0
		for _, c := range e.chats() {
			if c.ChatID != nil {
				n++
			}
		}
		return n == 3
	})
	for _, c := range e.chats() {
		if got := e.members(*c.ChatID); got[e.botID()] != "administrator" {
			t.Errorf("%s: the bot is %q, want administrator", c.Key, got[e.botID()])
		}
	}
	us := e.userbots()
	if len(us) != 2 || us[0].State != "ready" || us[1].State != "ready" {
		t.Fatalf("GET /api/v1/userbots: %+v", us)
	}
	// The account logged in last is taken by serve's pool at its next
	// round (every 10 s).
	e.eventually("both accounts held by serve", func() bool {
		us = e.userbots()
		return len(us) == 2 && us[0].HeldBy != "" && us[1].HeldBy == us[0].HeldBy
	})
	// A restart (kill -9) reuses both sessions.
	logins := e.mtCalls("auth.signIn") + e.mtCalls("auth.sendCode") + e.mtCalls("auth.checkPassword")
	old := us[0].HeldBy
	e.kill()
	e.serve()
	// The new serve marks the killed one dead (its pid is gone) and takes
	// both accounts at once, without waiting for their leases.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		us := e.userbots()
		if len(us) == 2 && us[0].HeldBy != "" && us[0].HeldBy != old && us[1].HeldBy == us[0].HeldBy && us[0].State == "ready" && us[1].State == "ready" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new serve never held both accounts: %+v\n%s", us, e.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.eventually("both clients connected", func() bool {
		return strings.Count(e.logs.String(), "userbot ready") >= 4
	})
	if got := e.mtCalls("auth.signIn") + e.mtCalls("auth.sendCode") + e.mtCalls("auth.checkPassword"); got != logins {
		t.Fatalf("login calls after the restart: %d, want %d", got, logins)
	}
	if n := len(e.sandboxChats()); n != 3 {
		t.Errorf("groups in the sandbox: %d, want 3", n)
	}
	_ = alice
	_ = bob
	e.kill()
	// Every stored byte: no auth key, code or password in the clear.
	e.scanDB(password, []string{cliCode, restCode})
	// A wrong secret is refused plainly and touches nothing.
	before := dbBytes(t, e.dbPath())
	cmd := exec.Command(os.Args[0], "userbot", "list")
	cmd.Dir, cmd.Env = e.dir, append(append([]string{}, e.env...), "KARMAGATE_SECRET=another-secret-0123456789abcdef0123456789")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "KARMAGATE_SECRET is not the secret this database was set up with") {
		t.Fatalf("userbot list with a wrong secret: %v\n%s", err, out)
	}
	if !bytes.Equal(before, dbBytes(t, e.dbPath())) {
		t.Error("a start with the wrong secret changed the database")
	}
	if out := e.cli("userbot", "list"); !strings.Contains(out, "+31611110001") || !strings.Contains(out, "ready") {
		t.Fatalf("userbot list: %s", out)
	}
}

// botID is the sandbox bot's user id.
func (e *e2e) botID() int64 {
	tok := e.vars["TELEGRAM_BOT_TOKEN"]
	var id int64
	fmt.Sscanf(tok, "%d:", &id)
	return id
}

func (e *e2e) dbPath() string {
	return strings.TrimPrefix(e.vars["KARMAGATE_DB"], "sqlite:")
}

// dbBytes reads the SQLite database with its WAL.
func dbBytes(t testing.TB, path string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// scanDB fails if any byte of the database holds an auth key (raw, hex or
// base64), a login code or the password.
func (e *e2e) scanDB(password string, codes []string) {
	e.t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, e.vars["KARMAGATE_DB"], models.OpenOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	v, err := vault.New([]byte(e.vars["KARMAGATE_SECRET"]))
	if err != nil {
		e.t.Fatal(err)
	}
	rows, err := models.NewUserbots(db, nil).ListUserbots(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var keys [][]byte
	for _, r := range rows {
		raw, err := v.Open(r.Session, fmt.Sprintf("userbot/%d/session", r.ID))
		if err != nil {
			e.t.Fatalf("userbot %d's session does not open: %v", r.ID, err)
		}
		var s struct{ Data struct{ AuthKey []byte } }
		if err := json.Unmarshal(raw, &s); err != nil || len(s.Data.AuthKey) != 256 {
			e.t.Fatalf("userbot %d's session: %v (%d key bytes)", r.ID, err, len(s.Data.AuthKey))
		}
		keys = append(keys, s.Data.AuthKey)
	}
	db.Close()
	if len(keys) != 2 {
		e.t.Fatalf("sessions: %d, want 2", len(keys))
	}
	all := dbBytes(e.t, e.dbPath())
	for i, k := range keys {
		for name, form := range map[string][]byte{
			"raw": k, "hex": []byte(hex.EncodeToString(k)), "base64": []byte(base64.StdEncoding.EncodeToString(k)),
			"base64url": []byte(base64.URLEncoding.EncodeToString(k)), "first 32 bytes": k[:32],
		} {
			if bytes.Contains(all, form) {
				e.t.Errorf("the database holds auth key %d (%s)", i, name)
			}
		}
	}
	if bytes.Contains(all, []byte(password)) {
		e.t.Error("the database holds the 2FA password")
	}
	// Instances name themselves host:pid:random in leases and the audit
	// trail; a pid is a number like a code, so those names are left out.
	all = regexp.MustCompile(`[A-Za-z0-9._-]+:[0-9]+:[0-9a-f]{8,}`).ReplaceAll(all, nil)
	for _, c := range codes {
		if regexp.MustCompile(`(^|[^0-9])` + c + `([^0-9]|$)`).Match(all) {
			e.t.Errorf("the database holds the login code %s", c)
		}
	}
}

func TestE2E_UserbotCrashAfterCreate(t *testing.T) {
	e := newUserbotE2E(t, `
groups: [webmasters]
chats:
  webmasters-pro:
    title: Webmasters Pro
    groups: [webmasters]
    min_karma: 100
`)
	e.person("Carol", "+31611110003", "")
	e.cliLogin("+31611110003", "")
	// kill -9 between createChannel and recording the group.
	e.start("KARMAGATE_FAILPOINT=kill-after-create-channel") // it may die before it answers /healthz
	e.waitExit()
	if n := len(e.sandboxChats()); n != 1 {
		t.Fatalf("groups before the restart: %d, want 1", n)
	}
	e.serve()
	var bound int64
	e.t.Log("waiting for the dead instance's leases to run out")
	deadline := time.Now().Add(3 * time.Minute)
	for bound == 0 {
		for _, c := range e.chats() {
			if c.ChatID != nil {
				bound = *c.ChatID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group was never recorded\n%s", e.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	chats := e.sandboxChats()
	if len(chats) != 1 || chats[0].ID != bound {
		t.Fatalf("groups after the restart: %+v, want exactly the one bound (%d)", chats, bound)
	}
	if got := e.members(bound)[e.botID()]; got != "administrator" {
		t.Errorf("the bot is %q, want administrator", got)
	}
}
