package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// switchableBotAPI is an address that refuses connections (the Bot API
// down, a DNS blip) until on starts forwarding it to the sandbox.
type switchableBotAPI struct {
	t    testing.TB
	addr string
	srv  *http.Server
}

func newSwitchableBotAPI(t testing.TB) *switchableBotAPI {
	return &switchableBotAPI{t: t, addr: freeAddr(t)}
}

func (s *switchableBotAPI) url() string { return "http://" + s.addr }

// on opens the address and forwards everything to the sandbox at target.
func (s *switchableBotAPI) on(target string) {
	s.t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		s.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("switch the Bot API on at %s: %v", s.addr, err)
	}
	s.srv = &http.Server{Handler: httputil.NewSingleHostReverseProxy(u), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	s.t.Cleanup(func() { _ = s.srv.Close() })
}

// healthz reads serve's /healthz.
func (e *e2e) healthz() (int, map[string]string) {
	e.t.Helper()
	var out map[string]string
	st := e.do("GET", "http://"+e.listen+"/healthz", "", nil, &out)
	return st, out
}

// TestE2E_ServeTelegramUnreachable: serve started while the Bot API cannot
// be reached keeps the website's REST API and the webhook serving, says
// "degraded" on /healthz with the reason, and brings the bot up once
// Telegram answers: the update the webhook stored meanwhile is answered.
func TestE2E_ServeTelegramUnreachable(t *testing.T) {
	e := newE2E(t, true)
	sandboxURL := e.control
	down := newSwitchableBotAPI(t)
	e.serve("TELEGRAM_BOT_API_URL=" + down.url())

	st, health := e.healthz()
	if st != http.StatusOK || health["status"] != "degraded" || !strings.Contains(health["degraded"], "Bot API unreachable") {
		t.Fatalf("/healthz with Telegram down: %d %v, want 200 degraded with the reason", st, health)
	}
	if st := e.api("PUT", "/api/v1/members/carol", map[string]any{"karma": 150, "groups": []string{"webmasters"}}, nil); st != http.StatusCreated {
		t.Fatalf("PUT member with Telegram down: %d, want 201", st)
	}
	var p struct {
		Type   string `json:"type"`
		Detail string `json:"detail"`
	}
	if st := e.api("POST", "/api/v1/members/carol/link", nil, &p); st != http.StatusServiceUnavailable || !strings.Contains(p.Detail, "Bot API") {
		t.Fatalf("a deep link with Telegram down: %d %+v, want 503 saying why", st, p)
	}

	// The webhook stores what Telegram delivers meanwhile (a webhook set
	// before the outage keeps delivering).
	dave := e.user("Dave")
	key, err := hkdf.Key(sha256.New, []byte(e.vars["KARMAGATE_SECRET"]), nil, "karmagate webhook secret", 32)
	if err != nil {
		t.Fatal(err)
	}
	update := fmt.Sprintf(`{"update_id":900001,"message":{"message_id":1,"date":%d,"chat":{"id":%d,"type":"private","first_name":"Dave"},"from":{"id":%d,"is_bot":false,"first_name":"Dave"},"text":"/help"}}`,
		time.Now().Unix(), dave, dave)
	req, _ := http.NewRequestWithContext(context.Background(), "POST", "http://"+e.listen+"/telegram/webhook", strings.NewReader(update))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hex.EncodeToString(key))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("webhook delivery with Telegram down: %d, want 200 (stored)", res.StatusCode)
	}
	time.Sleep(1500 * time.Millisecond) // a retry or two against the closed port
	if n := e.answersTried(dave); n != 0 {
		t.Fatalf("the bot answered dave %d times while Telegram was down", n)
	}

	down.on(sandboxURL)
	e.eventually("/healthz ok once Telegram answers", func() bool {
		st, h := e.healthz()
		return st == http.StatusOK && h["status"] == "ok"
	})
	// Dave's update came through the webhook only (the sandbox never saw
	// him write), so the sandbox refuses the answer as Telegram would
	// ("chat not found"): the bot's try is what shows it was processed.
	e.eventually("the stored /help answered", func() bool { return e.answersTried(dave) == 1 })
	if st := e.api("POST", "/api/v1/members/carol/link", nil, &p); st != http.StatusCreated && st != http.StatusOK {
		t.Fatalf("a deep link once Telegram answers: %d %+v", st, p)
	}
	select {
	case err := <-e.exited:
		t.Fatalf("serve exited: %v\n%s", err, e.logs.String())
	default:
	}
	if strings.Contains(e.logs.String(), "DATA RACE") { // under -race, serve is race-checked too
		t.Fatalf("serve reported a data race:\n%s", e.logs.String())
	}
}

// TestE2E_ServeTokenRefused: a wrong token is the one thing that stops
// serve, whether Telegram says so at start or only once it can be reached.
func TestE2E_ServeTokenRefused(t *testing.T) {
	const wrong = "TELEGRAM_BOT_TOKEN=4242:AAnot-the-bot-token-at-all-000000000"
	t.Run("at start", func(t *testing.T) {
		e := newE2E(t, false)
		e.start(wrong)
		err := e.waitExitErr()
		if err == nil || !strings.Contains(e.logs.String(), "TELEGRAM_BOT_TOKEN was refused") {
			t.Fatalf("serve with a wrong token: %v\n%s", err, e.logs.String())
		}
	})
	t.Run("once Telegram answers", func(t *testing.T) {
		e := newE2E(t, false)
		down := newSwitchableBotAPI(t)
		e.serve("TELEGRAM_BOT_API_URL="+down.url(), wrong)
		down.on(e.control)
		err := e.waitExitErr()
		if err == nil || !strings.Contains(e.logs.String(), "refused the bot token") || !strings.Contains(e.logs.String(), "check TELEGRAM_BOT_TOKEN") {
			t.Fatalf("serve whose token Telegram refuses later: %v\n%s", err, e.logs.String())
		}
	})
}

// answersTried counts the bot's sendMessage calls to a private chat,
// refused or not, in the sandbox's call log.
func (e *e2e) answersTried(chatID int64) int {
	e.t.Helper()
	var calls []struct {
		Params struct {
			ChatID json.Number `json:"chat_id"`
		} `json:"params"`
	}
	e.sandbox("GET", "/sandbox/calls?api=bot&method=sendMessage", nil, &calls)
	n := 0
	for _, c := range calls {
		if c.Params.ChatID.String() == strconv.FormatInt(chatID, 10) {
			n++
		}
	}
	return n
}

// waitExitErr waits for serve to end on its own and returns how it ended.
func (e *e2e) waitExitErr() error {
	e.t.Helper()
	select {
	case err := <-e.exited:
		e.proc = nil
		return err
	case <-time.After(90 * time.Second):
		e.t.Fatalf("serve did not exit\n%s", e.logs.String())
		return nil
	}
}
