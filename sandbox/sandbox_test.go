package sandbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// updates collects what a go-telegram/bot handler receives.
type updates struct {
	ch chan *models.Update
}

func newUpdates() *updates { return &updates{ch: make(chan *models.Update, 100)} }

func (u *updates) handler(_ context.Context, _ *bot.Bot, up *models.Update) { u.ch <- up }

func (u *updates) next(t *testing.T) *models.Update {
	t.Helper()
	select {
	case up := <-u.ch:
		return up
	case <-time.After(10 * time.Second):
		t.Fatal("no update within 10s")
		return nil
	}
}

// TestSandbox_Start checks what Start gives; how long it takes is
// BenchmarkStart's to measure.
func TestSandbox_Start(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 1})
	env := sb.Env()
	for _, k := range []string{"TELEGRAM_BOT_API_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_ID", "TELEGRAM_API_HASH", "TELEGRAM_DC_ADDR", "TELEGRAM_SERVER_KEY"} {
		if env[k] == "" {
			t.Errorf("Env()[%s] is empty", k)
		}
	}
	if !strings.Contains(env["TELEGRAM_SERVER_KEY"], "BEGIN RSA PUBLIC KEY") {
		t.Errorf("TELEGRAM_SERVER_KEY = %q, want a PEM block", env["TELEGRAM_SERVER_KEY"])
	}
	// An older, looser file of that name is made 0600: it holds the token.
	path := filepath.Join(t.TempDir(), "sandbox.env")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := sb.WriteEnvFile(path); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil {
		t.Fatal(err)
	} else if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("env file has mode %#o, want 0600", mode)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "TELEGRAM_BOT_TOKEN='"+sb.BotToken()+"'") {
		t.Errorf("env file lacks the token:\n%s", data)
	}
}

func TestSandbox_Deterministic(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) }
	a := sandboxtest.Start(t, sandbox.Config{Seed: 42, NoMTProto: true, Now: now})
	b := sandboxtest.Start(t, sandbox.Config{Seed: 42, NoMTProto: true, Now: now})
	if a.BotToken() != b.BotToken() {
		t.Errorf("tokens differ under one seed: %s vs %s", a.BotToken(), b.BotToken())
	}
	ua := sandboxtest.MustUser(t, a, world.UserSpec{FirstName: "A"})
	ub := sandboxtest.MustUser(t, b, world.UserSpec{FirstName: "A"})
	if ua != ub {
		t.Errorf("users differ under one seed: %+v vs %+v", ua, ub)
	}
}

// TestSandbox_LongPolling runs go-telegram/bot, unmodified, with getUpdates.
func TestSandbox_LongPolling(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 1, NoMTProto: true})
	got := newUpdates()
	b, err := bot.New(sb.BotToken(), bot.WithServerURL(sb.BotAPIURL()), bot.WithDefaultHandler(got.handler),
		bot.WithErrorsHandler(func(err error) { t.Logf("bot error: %v", err) }),
		bot.WithHTTPClient(5*time.Second, &http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatalf("bot.New: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.Start(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	alice := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Alice", Username: "alice_tg", Phone: "+15550001"})
	if _, err := sb.StartBot(alice.ID, "tok_123"); err != nil {
		t.Fatal(err)
	}
	up := got.next(t)
	if up.Message == nil || up.Message.Text != "/start tok_123" {
		t.Fatalf("update = %+v, want message /start tok_123", up)
	}
	if len(up.Message.Entities) != 1 || up.Message.Entities[0].Type != models.MessageEntityTypeBotCommand || up.Message.Entities[0].Length != 6 {
		t.Errorf("entities = %+v, want one bot_command of length 6", up.Message.Entities)
	}
	if up.Message.From.ID != alice.ID || up.Message.Chat.ID != alice.ID || up.Message.Chat.Type != "private" {
		t.Errorf("from/chat = %+v / %+v", up.Message.From, up.Message.Chat)
	}

	sent, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "Linked!"})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if sent.Chat.ID != alice.ID || sent.Text != "Linked!" {
		t.Errorf("sent = %+v", sent)
	}
	if msgs := sb.Received(alice.ID); len(msgs) != 1 || msgs[0].Text != "Linked!" {
		t.Errorf("Alice received %+v", msgs)
	}

	if _, err := sb.ShareContact(alice.ID); err != nil {
		t.Fatal(err)
	}
	up = got.next(t)
	if up.Message == nil || up.Message.Contact == nil || up.Message.Contact.UserID != alice.ID || up.Message.Contact.PhoneNumber != "+15550001" {
		t.Fatalf("contact update = %+v", up.Message)
	}
}

// TestSandbox_Webhook runs go-telegram/bot, unmodified, in webhook mode.
func TestSandbox_Webhook(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 1, NoMTProto: true})

	tests := []struct {
		name       string
		botSecret  string
		sentSecret string
		delivered  bool
	}{
		{name: "right secret", botSecret: "s3cret-Token_1", sentSecret: "s3cret-Token_1", delivered: true},
		{name: "wrong secret rejected by the library", botSecret: "s3cret-Token_1", sentSecret: "other", delivered: false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, token, err := sb.World().CreateBot("hook"+string(rune('a'+i))+"_bot", "Hook")
			if err != nil {
				t.Fatal(err)
			}
			got := newUpdates()
			rejected := make(chan error, 10)
			b, err := bot.New(token, bot.WithServerURL(sb.BotAPIURL()), bot.WithDefaultHandler(got.handler),
				bot.WithWebhookSecretToken(tt.botSecret),
				bot.WithErrorsHandler(func(err error) { rejected <- err }))
			if err != nil {
				t.Fatal(err)
			}
			hook := httptest.NewServer(b.WebhookHandler())
			defer hook.Close()
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { b.StartWebhook(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			if _, err := b.SetWebhook(ctx, &bot.SetWebhookParams{URL: hook.URL, SecretToken: tt.sentSecret}); err != nil {
				t.Fatalf("SetWebhook: %v", err)
			}
			defer b.DeleteWebhook(context.Background(), &bot.DeleteWebhookParams{})

			me, _ := b.GetMe(ctx)
			u := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Hooked"})
			if _, err := sb.World().SendMessage(u.ID, me.ID, "/start x", world.SendOptions{}); err != nil {
				t.Fatal(err)
			}
			if tt.delivered {
				up := got.next(t)
				if up.Message == nil || up.Message.Text != "/start x" {
					t.Errorf("update = %+v", up)
				}
				return
			}
			select {
			case err := <-rejected:
				if !strings.Contains(err.Error(), "secret token") {
					t.Errorf("error = %v, want invalid secret token", err)
				}
			case up := <-got.ch:
				t.Errorf("update %+v delivered despite a wrong secret", up)
			case <-time.After(10 * time.Second):
				t.Error("no rejection within 10s")
			}
		})
	}
}

// BenchmarkStart measures a full start (world, bot, Bot API, MTProto with a
// fresh RSA key) and stop: the README's "well under a second".
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		sb, err := sandbox.Start(b.Context(), sandbox.Config{})
		if err != nil {
			b.Fatal(err)
		}
		sb.Close()
	}
}

// TestSandbox_LongPollingUnderFaults: with a third of the calls failing
// (500, spurious 429, dropped connections), go-telegram/bot still gets
// every update exactly once.
func TestSandbox_LongPollingUnderFaults(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 5, NoMTProto: true})
	got := newUpdates()
	b, err := bot.New(sb.BotToken(), bot.WithServerURL(sb.BotAPIURL()), bot.WithDefaultHandler(got.handler),
		bot.WithErrorsHandler(func(error) {}),
		bot.WithHTTPClient(3*time.Second, &http.Client{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	sb.SetFaults(world.Faults{Rate: 0.33, Seed: 1, Kinds: []string{world.FaultServerError, world.FaultTooMany, world.FaultDrop}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { b.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	// One update at a time, so that each needs its own getUpdates calls;
	// at least 8, and on until a fault has hit (the draws are deterministic
	// per call, but how many calls 8 updates take depends on timing).
	seen := map[int64]bool{}
	faults := func() int {
		n := 0
		for _, c := range sb.Calls() {
			if c.Fault != "" {
				n++
			}
		}
		return n
	}
	for i := 0; i < 8 || (faults() == 0 && i < 60); i++ {
		u := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Fan"})
		if _, err := sb.StartBot(u.ID, fmt.Sprintf("t%d", i)); err != nil {
			t.Fatal(err)
		}
		up := got.next(t)
		if seen[up.ID] {
			t.Fatalf("update %d delivered twice", up.ID)
		}
		seen[up.ID] = true
	}
	select {
	case up := <-got.ch:
		t.Errorf("extra update %+v", up)
	default:
	}
	if faults() == 0 {
		t.Errorf("no faults were injected in %d calls", len(sb.Calls()))
	}
}
