package dashboard_test

import (
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/karmagate/karmagate/dashboard"
)

// fakeTelegram is the bot as the first-run steps see it.
type fakeTelegram struct{ up atomic.Bool }

func (f *fakeTelegram) Connected() bool  { return f.up.Load() }
func (f *fakeTelegram) Username() string { return "gate_bot" }

var stepRe = regexp.MustCompile(`data-step="(\w+)" data-done="(\w+)"`)

// TestServer_FirstRun: on a fresh database the overview walks the owner
// through the first steps, each ticked from the real state as it changes,
// and leaves once all are done.
func TestServer_FirstRun(t *testing.T) {
	tg := &fakeTelegram{}
	e := newEnv(t, sqliteSpec(t), dashboard.Options{Telegram: tg})
	sess := e.signIn("", apiKey)
	steps := func(t *testing.T) (map[string]bool, string) {
		t.Helper()
		p := e.do("GET", "/admin/", sess, nil)
		if p.Status != http.StatusOK {
			t.Fatalf("overview: %d", p.Status)
		}
		got := map[string]bool{}
		for _, m := range stepRe.FindAllStringSubmatch(p.Body, -1) {
			got[m[1]] = m[2] == "true"
		}
		return got, p.Body
	}
	for _, tt := range []struct {
		name   string
		do     func(t *testing.T)
		want   map[string]bool
		inBody string
	}{
		{"a fresh database", func(*testing.T) {}, map[string]bool{"token": false, "chat": false, "members": false, "linked": false}, "karmagate doctor"},
		{"the bot reached Telegram", func(*testing.T) { tg.up.Store(true) },
			map[string]bool{"token": true, "chat": false, "members": false, "linked": false}, "@gate_bot"},
		{"a chat bound", func(t *testing.T) {
			if err := e.store.BindChatBy(t.Context(), "webmasters-pro", -1001234, 42, "test"); err != nil {
				t.Fatal(err)
			}
		}, map[string]bool{"token": true, "chat": true, "members": false, "linked": false}, "Webmasters Pro is gated"},
		{"a member pushed", func(t *testing.T) { put(t, e, "alice", 150, "webmasters") },
			map[string]bool{"token": true, "chat": true, "members": true, "linked": false}, "1 member sent by the website"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.do(t)
			got, body := steps(t)
			if len(got) != len(tt.want) {
				t.Fatalf("steps %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("step %s done=%v, want %v", k, got[k], v)
				}
			}
			if !strings.Contains(body, tt.inBody) {
				t.Errorf("the overview does not say %q", tt.inBody)
			}
		})
	}
	t.Run("the first member linked", func(t *testing.T) {
		if _, err := e.store.LinkTelegram(t.Context(), "alice", 4101, "alice_tg", "test"); err != nil {
			t.Fatal(err)
		}
		if got, body := steps(t); len(got) != 0 || strings.Contains(body, "data-first-run") {
			t.Fatalf("the walk-through is still shown with every step done: %v", got)
		}
	})
}
