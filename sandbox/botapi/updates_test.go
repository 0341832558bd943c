package botapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/sandbox/world"
)

func TestServer_GetUpdates(t *testing.T) {
	e := newEnv(t)
	alice := e.user("Alice")
	send := func(text string) {
		t.Helper()
		if _, err := e.w.SendMessage(alice.ID, e.bot.ID, text, world.SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("offset acknowledges", func(t *testing.T) {
		send("one")
		send("two")
		var ups []update
		e.mustOK("getUpdates", nil).decode(t, &ups)
		if len(ups) != 2 || ups[1].UpdateID != ups[0].UpdateID+1 {
			t.Fatalf("updates = %v", ups)
		}
		e.mustOK("getUpdates", map[string]any{"offset": ups[0].UpdateID + 1}).decode(t, &ups)
		if len(ups) != 1 {
			t.Fatalf("after ack of the first: %d updates", len(ups))
		}
		e.mustOK("getUpdates", map[string]any{"offset": ups[0].UpdateID + 1}).decode(t, &ups)
		if len(ups) != 0 {
			t.Fatalf("after ack of all: %d updates", len(ups))
		}
	})

	t.Run("limit", func(t *testing.T) {
		for range 3 {
			send("x")
		}
		var ups []update
		e.mustOK("getUpdates", map[string]any{"limit": 2}).decode(t, &ups)
		if len(ups) != 2 {
			t.Errorf("limit 2 gave %d", len(ups))
		}
		e.drain(e.token, nil)
	})

	t.Run("long poll wakes on an update", func(t *testing.T) {
		done := make(chan []update)
		go func() {
			var ups []update
			r := e.call("getUpdates", map[string]any{"timeout": 30})
			json.Unmarshal(r.Result, &ups)
			done <- ups
		}()
		// The poll is parked until the message arrives; no sleep needed for
		// correctness: if the message lands first, the poll returns it at once.
		send("wake up")
		select {
		case ups := <-done:
			if len(ups) != 1 {
				t.Errorf("got %d updates", len(ups))
			}
		case <-time.After(10 * time.Second):
			t.Fatal("long poll did not wake")
		}
		e.drain(e.token, nil)
	})

	t.Run("409 while a webhook is set", func(t *testing.T) {
		hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer hook.Close()
		e.mustOK("setWebhook", map[string]any{"url": hook.URL})
		r := e.call("getUpdates", nil)
		if r.ErrorCode != 409 || r.Description != "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" {
			t.Errorf("got %s", r)
		}
		e.mustOK("deleteWebhook", nil)
		e.mustOK("getUpdates", nil)
	})
}

func TestServer_SetWebhook(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]any
		desc   string
	}{
		{name: "loopback http allowed", params: map[string]any{"url": "http://127.0.0.1:9/hook"}},
		{name: "compose service name allowed", params: map[string]any{"url": "http://karmagate:8080/hook"}},
		{name: "private address allowed", params: map[string]any{"url": "http://10.0.0.5:8080/hook"}},
		{name: "https on 8443", params: map[string]any{"url": "https://example.org:8443/hook"}},
		{name: "plain http elsewhere", params: map[string]any{"url": "http://example.org/hook"}, desc: "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"},
		{name: "odd port", params: map[string]any{"url": "https://example.org:9000/hook"}, desc: "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"},
		{name: "secret with a space", params: map[string]any{"url": "https://example.org/hook", "secret_token": "a b"}, desc: "Bad Request: secret token contains unallowed characters"},
		{name: "secret too long", params: map[string]any{"url": "https://example.org/hook", "secret_token": strings.Repeat("a", 257)}, desc: "Bad Request: secret token is too long"},
		{name: "max_connections 0", params: map[string]any{"url": "https://example.org/hook", "max_connections": 0}, desc: "Bad Request: bad webhook: max_connections must be between 1 and 100"},
		{name: "max_connections 101", params: map[string]any{"url": "https://example.org/hook", "max_connections": 101}, desc: "Bad Request: bad webhook: max_connections must be between 1 and 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.call("setWebhook", tt.params)
			if tt.desc == "" {
				if !r.OK {
					t.Errorf("got %s", r)
				}
				e.mustOK("deleteWebhook", nil)
				return
			}
			if r.OK || r.ErrorCode != 400 || r.Description != tt.desc {
				t.Errorf("got %s, want 400 %q", r, tt.desc)
			}
		})
	}
	t.Run("strict mode refuses loopback http", func(t *testing.T) {
		e := newEnv(t, func(o *botapiOptions, _ *world.Options) { o.StrictWebhookURL = true })
		r := e.call("setWebhook", map[string]any{"url": "http://127.0.0.1:9/hook"})
		if r.OK {
			t.Error("accepted")
		}
	})
}

// TestServer_WebhookDelivery: secret header, retry on non-2xx, pending
// count and last error in getWebhookInfo.
func TestServer_WebhookDelivery(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	fail := 2
	var bodies []string
	got := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Telegram-Bot-Api-Secret-Token") != "hook_secret" {
			t.Errorf("secret header = %q", r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
		}
		if fail > 0 {
			fail--
			http.Error(rw, "down", http.StatusInternalServerError)
			got <- "fail"
			return
		}
		bodies = append(bodies, string(body))
		got <- "ok"
	}))
	defer hook.Close()

	e.mustOK("setWebhook", map[string]any{"url": hook.URL, "secret_token": "hook_secret"})
	alice := e.user("Alice")
	e.w.SendMessage(alice.ID, e.bot.ID, "/start abc", world.SendOptions{})

	var seq []string
	for len(seq) < 3 {
		select {
		case s := <-got:
			seq = append(seq, s)
		case <-time.After(10 * time.Second):
			t.Fatalf("deliveries so far: %v", seq)
		}
	}
	if strings.Join(seq, ",") != "fail,fail,ok" {
		t.Errorf("deliveries = %v, want fail,fail,ok", seq)
	}
	mu.Lock()
	if len(bodies) != 1 || !strings.Contains(bodies[0], `"text":"/start abc"`) {
		t.Errorf("delivered %v", bodies)
	}
	mu.Unlock()

	var info struct {
		URL                string `json:"url"`
		PendingUpdateCount int    `json:"pending_update_count"`
		LastErrorMessage   string `json:"last_error_message"`
		LastErrorDate      int64  `json:"last_error_date"`
	}
	// The queue empties right after the 2xx; poll the info until it does.
	for range 100 {
		e.mustOK("getWebhookInfo", nil).decode(t, &info)
		if info.PendingUpdateCount == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if info.URL != hook.URL || info.PendingUpdateCount != 0 || info.LastErrorMessage != "Wrong response from the webhook: 500 Internal Server Error" || info.LastErrorDate == 0 {
		t.Errorf("webhook info = %+v", info)
	}
}

func TestServer_Faults(t *testing.T) {
	statuses := func() []int {
		e := newEnv(t)
		e.w.SetFaults(world.Faults{Rate: 0.4, Seed: 7, Kinds: []string{world.FaultServerError, world.FaultTooMany}})
		var out []int
		for range 30 {
			out = append(out, e.call("getMe", nil).Status)
		}
		return out
	}
	a, b := statuses(), statuses()
	counts := map[int]int{}
	for i := range a {
		counts[a[i]]++
		if a[i] != b[i] {
			t.Fatalf("faults differ under one seed:\n%v\n%v", a, b)
		}
	}
	if counts[500] == 0 || counts[429] == 0 || counts[200] == 0 {
		t.Errorf("statuses %v: want a mix of 200, 429 and 500", counts)
	}
}

func TestServer_FaultTimeout(t *testing.T) {
	e := newEnv(t)
	e.w.SetFaults(world.Faults{Rate: 1, Kinds: []string{world.FaultTimeout}})
	alice := e.user("Alice")
	e.w.SendMessage(alice.ID, e.bot.ID, "hi", world.SendOptions{})
	client := &http.Client{Timeout: 200 * time.Millisecond}
	_, err := client.Post(e.http.URL+"/bot"+e.token+"/sendMessage", "application/json",
		strings.NewReader(`{"chat_id":`+itoa(alice.ID)+`,"text":"lost answer"}`))
	if err == nil {
		t.Fatal("the call answered despite a timeout fault")
	}
	// The call went through although the client never heard back.
	if msgs := e.w.Messages(alice.ID); len(msgs) != 1 || msgs[0].Text != "lost answer" {
		t.Errorf("alice received %+v", msgs)
	}
}

// TestServer_Concurrent drives the emulator from many goroutines at once
// (run with -race): people write and join while the bot polls and answers.
func TestServer_Concurrent(t *testing.T) {
	e := newEnv(t, func(_ *botapiOptions, wo *world.Options) {
		wo.Limits = world.Limits{GlobalMsgPerSec: 1000, PerGroupMsgPerMin: 1000}
	})
	c := e.group(inviteRights())
	var l link
	e.mustOK("createChatInviteLink", map[string]any{"chat_id": c.BotAPIID()}).decode(t, &l)
	e.drain(e.token, map[string]any{"allowed_updates": []string{"message", "chat_member"}})

	const people = 20
	var wg sync.WaitGroup
	for i := range people {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := e.w.CreateUser(world.UserSpec{FirstName: "P" + itoa(int64(i))})
			if err != nil {
				t.Error(err)
				return
			}
			e.w.SendMessage(u.ID, e.bot.ID, "/start", world.SendOptions{})
			e.w.JoinByLink(u.ID, l.InviteLink)
			e.call("sendMessage", map[string]any{"chat_id": u.ID, "text": "welcome"})
			e.call("getChatMember", map[string]any{"chat_id": c.BotAPIID(), "user_id": u.ID})
		}()
	}
	seen := map[int64]bool{}
	counts := map[string]int{}
	giveUp := time.Now().Add(time.Minute)
	for counts["message"] < people || counts["chat_member"] < people {
		if time.Now().After(giveUp) {
			t.Fatalf("not every update within a minute: %v", counts)
		}
		var ups []update
		r := e.call("getUpdates", map[string]any{"timeout": 5, "offset": maxID(seen) + 1})
		r.decode(t, &ups)
		if len(ups) == 0 {
			t.Fatalf("long poll ran dry at %v", counts)
		}
		for _, u := range ups {
			if seen[u.UpdateID] {
				t.Fatalf("update %d twice", u.UpdateID)
			}
			seen[u.UpdateID] = true
			counts[u.kind()]++
		}
	}
	wg.Wait()
	if n := len(e.w.Members(c.ID)); n != people+2 {
		t.Errorf("%d members, want %d", n, people+2)
	}
}

func maxID(seen map[int64]bool) int64 {
	var m int64
	for id := range seen {
		m = max(m, id)
	}
	return m
}

// TestServer_WebhookDuplicate: the duplicate fault delivers an update twice
// with the same update_id, so receivers must drop repeats.
func TestServer_WebhookDuplicate(t *testing.T) {
	e := newEnv(t)
	got := make(chan update, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var u update
		json.NewDecoder(r.Body).Decode(&u)
		got <- u
	}))
	defer hook.Close()
	e.mustOK("setWebhook", map[string]any{"url": hook.URL})
	e.w.SetFaults(world.Faults{Rate: 1, Kinds: []string{world.FaultDuplicate}})
	alice := e.user("Alice")
	e.w.SendMessage(alice.ID, e.bot.ID, "hi", world.SendOptions{})
	var ids []int64
	for len(ids) < 2 {
		select {
		case u := <-got:
			ids = append(ids, u.UpdateID)
		case <-time.After(10 * time.Second):
			t.Fatalf("deliveries: %v", ids)
		}
	}
	if ids[0] != ids[1] {
		t.Errorf("update ids %v, want one id twice", ids)
	}
}
