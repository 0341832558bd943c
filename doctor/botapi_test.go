package doctor_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/doctor"
)

const token = "123456:AAsecret-token-value"

// botAPIStub answers the Bot API methods the doctor calls with canned
// bodies, and checks the token in the path.
func botAPIStub(t *testing.T, answers map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, ok := strings.CutPrefix(r.URL.Path, "/bot"+token+"/")
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
			return
		}
		body, ok := answers[method]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"ok":false,"error_code":404,"description":"Not Found: method not found"}`)
			return
		}
		w.Header().Set("Date", time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC).Format(http.TimeFormat))
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestBotAPI(t *testing.T) {
	ctx := context.Background()
	srv := botAPIStub(t, map[string]string{
		"getMe":          `{"ok":true,"result":{"id":7,"is_bot":true,"first_name":"Gate","username":"gate_bot","can_read_all_group_messages":true}}`,
		"getWebhookInfo": `{"ok":true,"result":{"url":"https://gate.example/telegram/webhook","pending_update_count":3,"last_error_date":1765000000,"last_error_message":"Connection timed out"}}`,
		"getChatMember":  `{"ok":true,"result":{"status":"administrator","user":{"id":7,"is_bot":true,"first_name":"Gate"},"can_invite_users":true,"can_restrict_members":true,"can_pin_messages":true}}`,
	})
	b := doctor.BotAPI{URL: srv.URL, Token: token}

	t.Run("getMe", func(t *testing.T) {
		me, date, err := b.GetMe(ctx)
		if err != nil || me.ID != 7 || me.Username != "gate_bot" || !me.CanReadAllGroupMessages {
			t.Fatalf("GetMe = %+v, %v", me, err)
		}
		if !date.Equal(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)) {
			t.Errorf("date = %s, want the Date header", date)
		}
	})
	t.Run("getWebhookInfo", func(t *testing.T) {
		info, err := b.WebhookInfo(ctx)
		if err != nil || info.URL != "https://gate.example/telegram/webhook" || info.PendingUpdateCount != 3 ||
			info.LastErrorMessage != "Connection timed out" || info.LastErrorDate.Unix() != 1765000000 {
			t.Fatalf("WebhookInfo = %+v, %v", info, err)
		}
	})
	t.Run("can_manage_tags omitted is can_pin_messages", func(t *testing.T) {
		r, err := b.Rights(ctx, -1001, 7)
		if err != nil || r.Status != "administrator" || !r.CanInviteUsers || !r.CanRestrictMembers || !r.CanManageTags {
			t.Fatalf("Rights = %+v, %v", r, err)
		}
	})
	t.Run("a refused token", func(t *testing.T) {
		_, _, err := doctor.BotAPI{URL: srv.URL, Token: "123456:AAwrong"}.GetMe(ctx)
		if !errors.Is(err, doctor.ErrTokenRefused) {
			t.Fatalf("GetMe with a wrong token: %v, want ErrTokenRefused", err)
		}
	})
	t.Run("unreachable, the token not in the error", func(t *testing.T) {
		_, _, err := doctor.BotAPI{URL: "http://127.0.0.1:1", Token: token}.GetMe(ctx)
		if err == nil || errors.Is(err, doctor.ErrTokenRefused) || strings.Contains(err.Error(), "secret-token") {
			t.Fatalf("GetMe on a closed port: %v", err)
		}
	})
}
