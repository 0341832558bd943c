package bot_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
)

// FuzzWebhookHandler posts arbitrary bodies with and without the secret to
// the real handler over a real store: never a panic, never a 5xx, a wrong
// secret never stores anything, and whatever is stored is a well-formed
// update.
func FuzzWebhookHandler(f *testing.F) {
	sb := sandboxtest.Start(f, sandbox.Config{NoMTProto: true})
	db := modelstest.MustOpen(f, "sqlite:"+f.TempDir()+"/k.db")
	store := models.NewStore(db, modelstest.MustRules(f, testRules), models.Options{})
	tokens, err := linking.NewTokens(linking.TokenOptions{Secret: secret, Store: store.Tokens()})
	if err != nil {
		f.Fatal(err)
	}
	b, err := bot.New(context.Background(), bot.Options{Token: sb.BotToken(), ServerURL: sb.BotAPIURL(), Store: store, Tokens: tokens, Secret: secret})
	if err != nil {
		f.Fatal(err)
	}
	h := b.WebhookHandler()
	for _, seed := range []string{`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"A"},"text":"/help"}}`, `{`, `{"update_id":9e99}`, ""} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, withSecret bool) {
		req := httptest.NewRequest(http.MethodPost, "/telegram/webhook", bytes.NewReader(body))
		if withSecret {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", b.WebhookSecret())
		}
		before, err := store.UpdateCounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		after, err := store.UpdateCounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !withSecret && (rec.Code != http.StatusUnauthorized || after[models.UpdatePending] != before[models.UpdatePending]) {
			t.Fatalf("without the secret: %d, pending %d → %d", rec.Code, before[models.UpdatePending], after[models.UpdatePending])
		}
	})
	_ = time.Second
}
