package bot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestBot_SendEphemeralOnAnOlderServer: a Bot API server older than 10.3
// ignores ephemeral_message_parameters and posts the answer to the whole
// group; its answer lacks receiver_user, so the bot deletes the message
// at once and reports errEphemeralIgnored (the answer then goes by DM,
// and no ephemeral message is tried again). A 10.3 server's answer is
// taken as it is.
func TestBot_SendEphemeralOnAnOlderServer(t *testing.T) {
	const chat, user = int64(-1001800000001), int64(4102)
	for _, tc := range []struct {
		name     string
		receiver string // the answer's receiver_user, "" for none
		wantErr  error
		deleted  bool
	}{
		{"10.3 server", `,"receiver_user":{"id":4102,"is_bot":false,"first_name":"Ann"},"ephemeral_message_id":1`, nil, false},
		{"older server", "", errEphemeralIgnored, true},
		{"another receiver", `,"receiver_user":{"id":9,"is_bot":false,"first_name":"X"}`, errEphemeralIgnored, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var calls []string
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
				mu.Lock()
				calls = append(calls, method+" "+string(body))
				mu.Unlock()
				rw.Header().Set("Content-Type", "application/json")
				switch method {
				case "sendMessage":
					io.WriteString(rw, `{"ok":true,"result":{"message_id":7,"date":1,"chat":{"id":-1001800000001,"type":"supergroup","title":"G"},"text":"x"`+tc.receiver+`}}`)
				default:
					io.WriteString(rw, `{"ok":true,"result":true}`)
				}
			}))
			defer srv.Close()
			b := &Bot{log: slog.New(slog.DiscardHandler),
				c: &client{http: srv.Client(), base: srv.URL + "/botT/", token: "T", send: NewSender(Limits{})}}
			err := b.sendEphemeral(context.Background(), chat, user, "your karma: 150")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("sendEphemeral = %v, want %v", err, tc.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			var p struct {
				Ephemeral struct {
					ReceiverUserID int64 `json:"receiver_user_id"`
				} `json:"ephemeral_message_parameters"`
			}
			if len(calls) == 0 || !strings.HasPrefix(calls[0], "sendMessage ") || json.Unmarshal([]byte(strings.TrimPrefix(calls[0], "sendMessage ")), &p) != nil || p.Ephemeral.ReceiverUserID != user {
				t.Errorf("first call %q: want sendMessage with ephemeral_message_parameters.receiver_user_id %d", calls, user)
			}
			deleted := len(calls) == 2 && strings.HasPrefix(calls[1], "deleteMessage ") && strings.Contains(calls[1], `"message_id":7`)
			if deleted != tc.deleted || len(calls) > 2 {
				t.Errorf("calls %q: want the message deleted: %v", calls, tc.deleted)
			}
		})
	}
	b := &Bot{}
	b.refuseEphemeral(0)
	if !b.ephemeralRefused(-100123) {
		t.Error("after a server that ignored the parameter, a chat is still tried")
	}
}
