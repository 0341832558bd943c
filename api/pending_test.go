package api_test

import (
	"context"
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

func TestAPI_Pending(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		ctx := context.Background()
		const base = "/api/v1/chats/customers-club/pending"

		t.Run("nothing held", func(t *testing.T) {
			r := e.do("GET", base, "", "")
			if r.Status != 200 || r.Body["count"] != 0.0 || r.Body["dry_run"] != false {
				t.Fatalf("GET pending = %d %s", r.Status, r.Raw)
			}
			if rs, ok := r.Body["removals"].([]any); !ok || len(rs) != 0 {
				t.Errorf("removals = %v, want []", r.Body["removals"])
			}
			r = e.do("POST", base+"/confirm", "", "")
			if r.Status != 200 || r.Body["confirmed"] != 0.0 {
				t.Fatalf("POST confirm = %d %s", r.Status, r.Raw)
			}
		})

		// A group bound over members: carol qualifies, dave does not.
		if err := e.store.BindChat(ctx, "customers-club", -100777, "test"); err != nil {
			t.Fatal(err)
		}
		if err := e.store.StartDryRun(ctx, "customers-club", "test", "the group had members"); err != nil {
			t.Fatal(err)
		}
		for _, m := range []struct {
			id    string
			karma string
			tg    int64
		}{{"carol", "60", 4301}, {"dave", "10", 4302}} {
			if r := e.json("PUT", "/api/v1/members/"+m.id, `{"karma": `+m.karma+`, "groups": ["customers"]}`); r.Status != 201 {
				t.Fatalf("put %s: %d %s", m.id, r.Status, r.Raw)
			}
			if _, err := e.store.LinkTelegram(ctx, m.id, m.tg, "", "bot"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.SetInChat(ctx, m.id, "customers-club", true, "bot"); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("held removals listed", func(t *testing.T) {
			r := e.do("GET", base, "", "")
			if r.Status != 200 || r.Body["count"] != 1.0 || r.Body["dry_run"] != true {
				t.Fatalf("GET pending = %d %s", r.Status, r.Raw)
			}
			rs := r.Body["removals"].([]any)
			first, _ := rs[0].(map[string]any)
			if len(rs) != 1 || first["member"] != "dave" || first["telegram_user_id"] != 4302.0 || first["reason"] == "" || first["planned_at"] != "2026-11-25T10:00:00Z" ||
				first["hold_reason"] != "dry_run" {
				t.Errorf("removals = %v", rs)
			}
			if br, _ := r.Body["breaker"].(map[string]any); br["open"] != false || br["max_removals"] != "10%/24h" || br["limit"] != 10.0 || br["opened_at"] != nil {
				t.Errorf("breaker = %v", r.Body["breaker"])
			}
			links, _ := r.Body["_links"].(map[string]any)
			if c, _ := links["confirm"].(map[string]any); c["href"] != base+"/confirm" {
				t.Errorf("_links = %v", links)
			}
		})
		t.Run("confirm releases them", func(t *testing.T) {
			r := e.do("POST", base+"/confirm", "", "", "X-Karmagate-Actor", "owner@site")
			if r.Status != 200 || r.Body["confirmed"] != 1.0 || r.Body["dry_run"] != false {
				t.Fatalf("POST confirm = %d %s", r.Status, r.Raw)
			}
			got, err := e.store.ClaimActions(ctx, "w", 10, 60e9)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Kind != "remove" || got[0].MemberExt != "dave" {
				t.Errorf("claimed %+v after confirming, want dave's removal", got)
			}
			if r := e.do("GET", base, "", ""); r.Body["count"] != 0.0 {
				t.Errorf("GET after confirm = %s", r.Raw)
			}
			evs, err := e.store.Events(ctx, models.EventFilter{Kind: models.EventRemovalsConfirmed})
			if err != nil || len(evs) != 1 || evs[0].Actor != "api:owner@site" {
				t.Errorf("confirmation events = %+v, %v", evs, err)
			}
		})
		t.Run("unknown chat", func(t *testing.T) {
			for _, m := range []string{"GET /api/v1/chats/nope/pending", "POST /api/v1/chats/nope/pending/confirm"} {
				method, path, _ := cut(m)
				r := e.do(method, path, "", "")
				if r.Status != 404 || r.Header.Get("Content-Type") != "application/problem+json" || r.Body["detail"] == "" {
					t.Errorf("%s = %d %s %s", m, r.Status, r.Header.Get("Content-Type"), r.Raw)
				}
			}
		})
		t.Run("wrong method", func(t *testing.T) {
			for _, m := range []string{"POST " + base, "DELETE " + base, "GET " + base + "/confirm", "PUT " + base + "/confirm"} {
				method, path, _ := cut(m)
				r := e.do(method, path, "", "")
				if r.Status != 405 || r.Header.Get("Content-Type") != "application/problem+json" || r.Header.Get("Allow") == "" {
					t.Errorf("%s = %d %s allow %q", m, r.Status, r.Raw, r.Header.Get("Allow"))
				}
			}
		})
		t.Run("needs the key", func(t *testing.T) {
			if r := e.do("POST", base+"/confirm", "", "", "Authorization", ""); r.Status != 401 {
				t.Errorf("without a key: %d", r.Status)
			}
		})
	})
}

func cut(s string) (method, path string, ok bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
