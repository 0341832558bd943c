package bot_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/api"
	"github.com/karmagate/karmagate/models/modelstest"
)

// signWidget signs Login Widget fields as Telegram does.
func signWidget(token string, fields map[string]string) map[string]string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + "=" + fields[k]
	}
	secret := sha256.Sum256([]byte(token))
	m := hmac.New(sha256.New, secret[:])
	m.Write([]byte(strings.Join(lines, "\n")))
	out := map[string]string{"hash": hex.EncodeToString(m.Sum(nil))}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

func TestBot_LoginWidget(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		srv := httptest.NewServer(api.New(api.Options{Store: h.store, APIKey: "widget-test-key-0123456789", Linker: h.bot, Widget: h.bot}))
		t.Cleanup(srv.Close)
		h.put("wendy", 150, "webmasters")
		wendy := h.person("Wendy", "wendy_tg")
		now := h.clock.Now()
		fields := func(authDate time.Time) map[string]string {
			return signWidget(h.sb.BotToken(), map[string]string{
				"id": fmt.Sprint(wendy.ID), "first_name": "Wendy", "username": "wendy_tg", "auth_date": fmt.Sprint(authDate.Unix()),
			})
		}
		post := func(form map[string]string) int {
			t.Helper()
			v := url.Values{}
			for k, x := range form {
				v.Set(k, x)
			}
			req, err := http.NewRequest("POST", srv.URL+"/api/v1/members/wendy/telegram-login", strings.NewReader(v.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer widget-test-key-0123456789")
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		good := fields(now.Add(-time.Minute))
		forged := fields(now.Add(-time.Minute))
		forged["id"] = "1" + forged["id"]
		stale := fields(now.Add(-25 * time.Hour))
		missing := fields(now)
		delete(missing, "hash")
		for _, tc := range []struct {
			name string
			form map[string]string
			want int
		}{
			{"forged", forged, 403},
			{"stale", stale, 403},
			{"missing hash", missing, 422},
			{"good", good, 200},
			{"replayed", good, 409},
		} {
			if got := post(tc.form); got != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
			}
			if tc.want != 200 && tc.name != "replayed" {
				if v := h.member("wendy"); v.Member.TgUserID != nil {
					t.Fatalf("%s payload linked wendy", tc.name)
				}
			}
		}
		if v := h.member("wendy"); v.Member.TgUserID == nil || *v.Member.TgUserID != wendy.ID {
			t.Fatalf("wendy not linked by the widget: %+v", v.Member.TgUserID)
		}
	})
}
