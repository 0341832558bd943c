package api_test

import (
	"context"
	"testing"

	"github.com/karmagate/karmagate/models/modelstest"
)

// TestAPI_Chat: GET /api/v1/chats/{key} shows one chat with who is
// inside: Telegram's last count (besides the admins), the members known
// inside, the strangers and the rest, unknown.
func TestAPI_Chat(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		ctx := context.Background()
		const base = "/api/v1/chats/customers-club"

		for _, tc := range []struct {
			name, path string
			status     int
		}{
			{"unknown chat", "/api/v1/chats/nope", 404},
			{"bad count", base + "?count=maybe", 400},
			{"unknown parameter", base + "?limit=1", 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if r := e.do("GET", tc.path, "", ""); r.Status != tc.status {
					t.Errorf("GET %s = %d %s, want %d", tc.path, r.Status, r.Raw, tc.status)
				}
			})
		}
		t.Run("not bound, never counted", func(t *testing.T) {
			r := e.do("GET", base, "", "")
			people, _ := r.Body["people"].(map[string]any)
			if r.Status != 200 || r.Body["key"] != "customers-club" || people == nil || people["inside"] != nil || people["unknown"] != nil || people["known"] != 0.0 {
				t.Fatalf("GET = %d %s", r.Status, r.Raw)
			}
			links, _ := r.Body["_links"].(map[string]any)
			for _, k := range []string{"self", "pending", "events", "chats", "bind-codes"} {
				if links[k] == nil {
					t.Errorf("_links has no %s: %v", k, links)
				}
			}
		})

		const tgChat = -100777
		if err := e.store.BindChat(ctx, "customers-club", tgChat, "test"); err != nil {
			t.Fatal(err)
		}
		if r := e.json("PUT", "/api/v1/members/carol", `{"karma": 60, "groups": ["customers"]}`); r.Status != 201 {
			t.Fatalf("put carol: %d %s", r.Status, r.Raw)
		}
		if _, err := e.store.LinkTelegram(ctx, "carol", 4301, "", "bot"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.SetInChat(ctx, "carol", "customers-club", true, "bot"); err != nil {
			t.Fatal(err)
		}
		if fresh, err := e.store.StrangerSeen(ctx, tgChat, 999, "bot"); err != nil || !fresh {
			t.Fatalf("StrangerSeen = %v, %v", fresh, err)
		}
		if fresh, err := e.store.StrangerSeen(ctx, tgChat, 999, "bot"); err != nil || fresh {
			t.Fatalf("StrangerSeen again = %v, %v; want known", fresh, err)
		}
		if err := e.store.SetPeopleInside(ctx, "customers-club", 5); err != nil {
			t.Fatal(err)
		}
		t.Run("counted", func(t *testing.T) {
			r := e.do("GET", base+"?count=false", "", "")
			people, _ := r.Body["people"].(map[string]any)
			if r.Status != 200 || people == nil {
				t.Fatalf("GET = %d %s", r.Status, r.Raw)
			}
			want := map[string]float64{"inside": 5, "known": 1, "strangers": 1, "unknown": 3}
			for k, v := range want {
				if people[k] != v {
					t.Errorf("people.%s = %v, want %v (%s)", k, people[k], v, r.Raw)
				}
			}
			if people["counted_at"] == nil || r.Body["strangers_rule"] != "default" {
				t.Errorf("counted_at %v, strangers_rule %v", people["counted_at"], r.Body["strangers_rule"])
			}
		})
	})
}
