package bot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// webhookHarness runs the bot in webhook mode: the sandbox posts updates
// to a test server that serves the bot's own handler.
func webhookHarness(t *testing.T, spec string) (*harness, string) {
	t.Helper()
	var handler atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, _ := handler.Load().(http.Handler)
		if h == nil || r.URL.Path != "/telegram/webhook" {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/telegram/webhook"
	h := newHarness(t, spec, harnessOptions{webhook: url, beforeRun: func(h *harness) { handler.Store(h.bot.WebhookHandler()) }})
	return h, url
}

func post(t *testing.T, url, secret string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// startUpdate is a /start message from u as Telegram would post it.
func startUpdate(id int64, u world.User, text string) []byte {
	return fmt.Appendf(nil, `{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private","first_name":%q},"from":{"id":%d,"is_bot":false,"first_name":%q},"text":%q}}`,
		id, id, time.Now().Unix(), u.ID, u.FirstName, u.ID, u.FirstName, text)
}

func TestBot_Webhook(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h, url := webhookHarness(t, spec)
		h.put("alice", 150, "webmasters")
		alice := h.person("Alice", "alice_tg")
		secret := h.bot.WebhookSecret()

		t.Run("the story through the webhook", func(t *testing.T) {
			got := h.link("alice", alice)
			contains(t, "webhook link", got, "Linked")
		})
		t.Run("wrong or missing secret: 401, nothing stored", func(t *testing.T) {
			for name, s := range map[string]string{"missing": "", "wrong": "x" + secret[1:], "short": secret[:10]} {
				if st := post(t, url, s, startUpdate(900001, alice, "/help")); st != http.StatusUnauthorized {
					t.Errorf("%s secret: %d, want 401", name, st)
				}
			}
			if _, err := h.store.FindUpdate(h.ctx, 900001); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("an update with a bad secret was stored: %v", err)
			}
		})
		t.Run("over 1 MiB: 413", func(t *testing.T) {
			big := startUpdate(900002, alice, strings.Repeat("x", 1<<20))
			if st := post(t, url, secret, big); st != http.StatusRequestEntityTooLarge {
				t.Errorf("big update: %d, want 413", st)
			}
			if _, err := h.store.FindUpdate(h.ctx, 900002); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("an oversized update was stored: %v", err)
			}
		})
		t.Run("not an update: 200 and dropped", func(t *testing.T) {
			for _, body := range []string{`{`, `[]`, `{"update_id":0}`, `{"message":{}}`} {
				if st := post(t, url, secret, []byte(body)); st != http.StatusOK {
					t.Errorf("%s: %d, want 200 (Telegram would repeat it forever)", body, st)
				}
			}
		})
		t.Run("the same update twice: processed once", func(t *testing.T) {
			before := len(h.received(alice.ID))
			up := startUpdate(900003, alice, "/help")
			for range 2 {
				if st := post(t, url, secret, up); st != http.StatusOK {
					t.Fatalf("post: %d", st)
				}
			}
			h.idle()
			if got := len(h.received(alice.ID)) - before; got != 1 {
				t.Errorf("answers: %d, want 1", got)
			}
			u, err := h.store.FindUpdate(h.ctx, 900003)
			if err != nil || u.Status != models.UpdateDone {
				t.Fatalf("stored update: %+v, %v", u, err)
			}
		})
		t.Run("duplicated deliveries by Telegram", func(t *testing.T) {
			h.sb.SetFaults(world.Faults{Rate: 1, Seed: 7, Kinds: []string{world.FaultDuplicate}})
			defer h.sb.SetFaults(world.Faults{})
			bob := h.person("Bob", "bob_tg")
			before := len(h.received(bob.ID))
			if _, err := h.sb.SendMessage(bob.ID, 0, "/help"); err != nil {
				t.Fatal(err)
			}
			h.eventually("an answer", func() bool { return len(h.received(bob.ID)) > before })
			h.idle()
			time.Sleep(200 * time.Millisecond)
			if got := len(h.received(bob.ID)) - before; got != 1 {
				t.Errorf("answers to a duplicated delivery: %d, want 1", got)
			}
		})
	})
}

// TestBot_StoredBeforeProcessed: an update stored but not processed when
// the process died (kill -9 between the two) is processed after a restart,
// once.
func TestBot_StoredBeforeProcessed(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		alice := h.person("Alice", "alice_tg")
		h.makeMember(alice, "alice") // every message of a member is answered
		h.reply(alice.ID, "/help")   // she has started the bot
		h.stop()
		// What the crashed process left: one update stored, one claimed by
		// it (leased) and never finished.
		ctx := context.Background()
		if _, err := h.store.SaveUpdates(ctx, []models.Update{
			{UpdateID: 800001, Lane: alice.ID, Kind: "message", Payload: string(startUpdate(800001, alice, "/help"))},
			{UpdateID: 800002, Lane: alice.ID, Kind: "message", Payload: string(startUpdate(800002, alice, "/start"))},
		}); err != nil {
			t.Fatal(err)
		}
		if got, err := h.store.ClaimUpdates(ctx, "dead-instance", 1, time.Second); err != nil || len(got) != 1 {
			t.Fatalf("claim as the dead instance: %v, %v", got, err)
		}
		h.clock.Advance(2 * time.Second) // its lease runs out
		h2 := h.restart()
		h2.eventually("both processed", func() bool {
			for _, id := range []int64{800001, 800002} {
				u, err := h2.store.FindUpdate(ctx, id)
				if err != nil || u.Status != models.UpdateDone {
					return false
				}
			}
			return true
		})
		h2.idle()
		if got := h2.received(alice.ID); len(got) != 3 {
			t.Errorf("answers: %d, want 3 (the first /help, then one per update): %q", len(got), got)
		} else {
			contains(t, "in order", got[1]+"|"+got[2], "/start — how", "|Hi!")
		}
	})
}
