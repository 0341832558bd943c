package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the karmagate binary: run
// with KARMAGATE_E2E_MAIN=1 it is karmagate (main), so that end-to-end
// tests start, kill -9 and restart the real program without a separate
// build.
func TestMain(m *testing.M) {
	if os.Getenv("KARMAGATE_E2E_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// e2e is a sandbox (karmagate sandbox, in this process) and karmagate
// serve as a process of its own, with only the variables the sandbox's env
// file writes (plus the listen address, and the webhook URL in webhook
// mode).
type e2e struct {
	t       testing.TB
	dir     string
	env     []string          // what serve runs with
	vars    map[string]string // the env file, sourced
	control string            // the sandbox's control API
	listen  string            // serve's address
	proc    *exec.Cmd
	exited  chan error
	logs    *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func newE2E(t testing.TB, webhook bool, extra ...string) *e2e {
	t.Helper()
	dir := t.TempDir()
	envFile := filepath.Join(dir, "sandbox.env")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out lockedBuffer
	go func() {
		done <- run(ctx, []string{"sandbox", "--listen", "127.0.0.1:0", "--mtproto", "127.0.0.1:0", "--env-file", envFile}, os.Getenv, &out, &out)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("sandbox did not stop")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, err := os.Stat(envFile); err == nil && st.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox wrote no env file: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	e := newE2EFromEnvFile(t, envFile, extra...)
	if webhook {
		e.env = append(e.env, "KARMAGATE_WEBHOOK_URL=http://"+e.listen+"/telegram/webhook")
	}
	return e
}

// newE2EFromEnvFile is newE2E for a sandbox already running that wrote
// envFile: serve runs in envFile's folder with what the file sets, the
// listen address and extra.
func newE2EFromEnvFile(t testing.TB, envFile string, extra ...string) *e2e {
	t.Helper()
	dir := filepath.Dir(envFile)
	vars := map[string]string{}
	for k, v := range sourceEnv(t, envFile) {
		if strings.HasPrefix(k, "KARMAGATE_") || strings.HasPrefix(k, "TELEGRAM_") {
			vars[k] = v
		}
	}
	for _, want := range []string{"TELEGRAM_BOT_API_URL", "TELEGRAM_BOT_TOKEN", "KARMAGATE_API_KEY", "KARMAGATE_SECRET", "KARMAGATE_RULES", "KARMAGATE_DB"} {
		if vars[want] == "" {
			t.Fatalf("the env file sets no %s", want)
		}
	}
	e := &e2e{t: t, dir: dir, vars: vars, control: vars["TELEGRAM_BOT_API_URL"], listen: freeAddr(t), logs: &lockedBuffer{}}
	// The removal breaker is off in these stories (their subjects are
	// crashes, instances, outages, removing many at once): the breaker's own
	// stories (breaker_e2e_test.go) turn it back on.
	e.env = []string{"PATH=" + os.Getenv("PATH"), "KARMAGATE_E2E_MAIN=1", "KARMAGATE_LISTEN=" + e.listen, "KARMAGATE_MAX_REMOVALS=none"}
	for k, v := range vars {
		e.env = append(e.env, k+"="+v)
	}
	e.env = append(e.env, extra...)
	return e
}

// serve starts karmagate serve and waits until it answers /healthz.
func (e *e2e) serve(extra ...string) {
	e.t.Helper()
	e.start(extra...)
	e.eventually("serve to answer /healthz", func() bool {
		select {
		case err := <-e.exited:
			e.t.Fatalf("serve exited: %v\n%s", err, e.logs.String())
		default:
		}
		res, err := http.Get("http://" + e.listen + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
}

// start starts serve without waiting for it to answer: for a failpoint
// that may kill it before it does.
func (e *e2e) start(extra ...string) {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Dir = e.dir
	cmd.Env = append(append([]string{}, e.env...), extra...)
	cmd.Stdout, cmd.Stderr = e.logs, e.logs
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.proc = cmd
	e.exited = make(chan error, 1)
	go func() { e.exited <- cmd.Wait() }()
	e.t.Cleanup(func() { e.kill() })
}

// kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (e *e2e) kill() {
	if e.proc == nil {
		return
	}
	_ = e.proc.Process.Signal(syscall.SIGKILL)
	select {
	case <-e.exited:
	case <-time.After(30 * time.Second):
		e.t.Error("serve did not die")
	}
	e.proc = nil
}

// waitExit waits for serve to end on its own (a failpoint killed it).
func (e *e2e) waitExit() {
	e.t.Helper()
	select {
	case <-e.exited:
		e.proc = nil
	case <-time.After(60 * time.Second):
		e.t.Fatalf("serve did not die at the failpoint\n%s", e.logs.String())
	}
}

func (e *e2e) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s\n--- serve's log:\n%s", what, e.logs.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// do calls an HTTP JSON endpoint and decodes its answer into out.
func (e *e2e) do(method, rawURL, auth string, body any, out any) int {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, rawURL, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %d %s: %v", method, rawURL, res.StatusCode, raw, err)
		}
	}
	return res.StatusCode
}

// api calls karmagate's REST API.
func (e *e2e) api(method, path string, body, out any) int {
	return e.do(method, "http://"+e.listen+path, e.vars["KARMAGATE_API_KEY"], body, out)
}

// admin calls karmagate's userbot routes with the admin token
// (KARMAGATE_ADMIN_TOKEN, which the sandbox's env file sets).
func (e *e2e) admin(method, path string, body, out any) int {
	return e.do(method, "http://"+e.listen+path, e.vars["KARMAGATE_ADMIN_TOKEN"], body, out)
}

// sandbox calls the sandbox's control API; a failure fails the test.
func (e *e2e) sandbox(method, path string, body, out any) {
	e.t.Helper()
	if st := e.do(method, e.control+path, "", body, out); st >= 300 {
		e.t.Fatalf("sandbox %s %s: %d", method, path, st)
	}
}

type sbUser struct {
	ID int64 `json:"id"`
}

func (e *e2e) user(name string) int64 {
	e.t.Helper()
	var u sbUser
	e.sandbox("POST", "/sandbox/users", map[string]any{"first_name": name, "username": strings.ToLower(name) + "_tg"}, &u)
	return u.ID
}

// bindCommand asks the REST API for a bind code for key, as a site admin
// does, and returns the command the group's owner sends: /bind KEY CODE.
func (e *e2e) bindCommand(key string) string {
	e.t.Helper()
	var out struct {
		Command string `json:"command"`
	}
	if st := e.api("POST", "/api/v1/chats/"+key+"/bind-codes", nil, &out); st != http.StatusCreated || out.Command == "" {
		e.t.Fatalf("bind code for %s: %d %+v", key, st, out)
	}
	return out.Command
}

func (e *e2e) say(user int64, chat int64, text string) {
	e.t.Helper()
	body := map[string]any{"text": text}
	if chat != 0 {
		body["chat_id"] = chat
	}
	e.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/messages", user), body, nil)
}

func (e *e2e) received(user int64) []string {
	e.t.Helper()
	var out struct {
		Messages []struct {
			Text string `json:"text"`
		} `json:"messages"`
	}
	var raw json.RawMessage
	e.sandbox("GET", fmt.Sprintf("/sandbox/users/%d/messages", user), nil, &raw)
	if err := json.Unmarshal(raw, &out); err != nil || out.Messages == nil {
		var list []struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			e.t.Fatalf("received: %s", raw)
		}
		out.Messages = list
	}
	texts := make([]string, len(out.Messages))
	for i, m := range out.Messages {
		texts[i] = m.Text
	}
	return texts
}

func (e *e2e) members(chat int64) map[int64]string {
	e.t.Helper()
	var raw json.RawMessage
	e.sandbox("GET", fmt.Sprintf("/sandbox/chats/%d/members", chat), nil, &raw)
	var wrapped struct {
		Members []struct {
			User   sbUser `json:"user"`
			UserID int64  `json:"user_id"`
			Status string `json:"status"`
		} `json:"members"`
	}
	if err := json.Unmarshal(raw, &wrapped); err != nil || wrapped.Members == nil {
		if err := json.Unmarshal(raw, &wrapped.Members); err != nil {
			e.t.Fatalf("members: %s", raw)
		}
	}
	out := map[int64]string{}
	for _, m := range wrapped.Members {
		id := m.User.ID
		if id == 0 {
			id = m.UserID
		}
		out[id] = m.Status
	}
	return out
}

// story drives the README's story through the real interfaces: a group
// made by hand and bound with /bind, a member linked with the link the API
// hands out, let in through the join_url the API shows, a stranger with
// the same link kept out.
func (e *e2e) story(memberID string) (chat int64, person int64) {
	e.t.Helper()
	owner := e.user("Owner" + memberID)
	var c struct {
		ID int64 `json:"id"`
	}
	e.sandbox("POST", "/sandbox/chats", map[string]any{"title": "Webmasters Pro", "creator": owner}, &c)
	e.sandbox("POST", fmt.Sprintf("/sandbox/chats/%d/admins", c.ID), map[string]any{}, nil)
	e.say(owner, c.ID, e.bindCommand("webmasters-pro"))
	if st := e.api("PUT", "/api/v1/members/"+memberID, map[string]any{"karma": 150, "groups": []string{"webmasters"}}, nil); st != 201 && st != 200 {
		e.t.Fatalf("put member: %d", st)
	}
	var link struct {
		URL string `json:"url"`
	}
	if st := e.api("POST", "/api/v1/members/"+memberID+"/link", nil, &link); st != 200 && st != 201 {
		e.t.Fatalf("link: %d", st)
	}
	u, err := url.Parse(link.URL)
	if err != nil || u.Query().Get("start") == "" {
		e.t.Fatalf("link url %q", link.URL)
	}
	person = e.user("Person" + memberID)
	e.say(person, 0, "/start "+u.Query().Get("start"))
	var joinURL string
	e.eventually("a join_url for the member", func() bool {
		var m struct {
			Telegram *struct{} `json:"telegram"`
			Chats    []struct {
				Key     string `json:"key"`
				JoinURL string `json:"join_url"`
			} `json:"chats"`
		}
		e.api("GET", "/api/v1/members/"+memberID, nil, &m)
		for _, ch := range m.Chats {
			if ch.Key == "webmasters-pro" && ch.JoinURL != "" && m.Telegram != nil {
				joinURL = ch.JoinURL
				return true
			}
		}
		return false
	})
	var res struct {
		Result string `json:"result"`
	}
	e.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/join", person), map[string]any{"invite_link": joinURL}, &res)
	stranger := e.user("Stranger" + memberID)
	e.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/join", stranger), map[string]any{"invite_link": joinURL}, nil)
	e.eventually("the member in the chat", func() bool { return e.members(c.ID)[person] == "member" })
	e.eventually("the stranger declined and told", func() bool { return len(e.received(stranger)) == 1 })
	if st, ok := e.members(c.ID)[stranger]; ok && st == "member" {
		e.t.Errorf("the stranger got in with the member's join link")
	}
	return c.ID, person
}

func TestE2E_Serve(t *testing.T) {
	for _, mode := range []string{"polling", "webhook"} {
		t.Run(mode, func(t *testing.T) {
			e := newE2E(t, mode == "webhook")
			e.serve()
			e.story("alice")
			// kill -9 between storing an update and processing it: after a
			// restart it is processed, once.
			e.kill()
			e.serve("KARMAGATE_FAILPOINT=kill-after-store")
			bob := e.user("Bob")
			e.say(bob, 0, "/help")
			e.waitExit()
			if n := len(e.received(bob)); n != 0 {
				t.Fatalf("answered before the crash: %d", n)
			}
			e.serve()
			e.eventually("the stored update answered after the restart", func() bool { return len(e.received(bob)) == 1 })
			time.Sleep(500 * time.Millisecond)
			if got := e.received(bob); len(got) != 1 || !strings.Contains(got[0], "/start") {
				t.Errorf("after the restart bob got %q, want one answer", got)
			}
			if strings.Contains(e.logs.String(), "level=ERROR") {
				sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
				for sc.Scan() {
					if strings.Contains(sc.Text(), "level=ERROR") {
						t.Errorf("serve logged an error: %s", sc.Text())
					}
				}
			}
		})
	}
}
