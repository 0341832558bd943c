package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// carol's identifiers: none may be left in events or notifications after
// her erasure.
var carolIDs = []string{"carol", "Carol Tester", "carol_site", "carol_tg", "4101", "+15550100"}

// privacyFixture makes carol (linked, in a bound chat, with notifications
// and a stored Telegram update naming her) and dave (who must stay as he
// is).
func privacyFixture(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	for _, body := range []string{
		`{"id": "carol", "karma": 150, "groups": ["webmasters"], "name": "Carol Tester", "username": "carol_site", "phone": "+15550100"}`,
		`{"id": "dave", "karma": 150, "groups": ["webmasters"], "name": "Dave"}`,
	} {
		id := strings.Split(body, `"`)[3]
		if r := e.do("PUT", "/api/v1/members/"+id, "application/json", body); r.Status != http.StatusCreated {
			t.Fatalf("put %s: %d %s", id, r.Status, r.Raw)
		}
	}
	if err := e.store.BindChat(ctx, "webmasters-pro", -100555, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.LinkTelegram(ctx, "carol", 4101, "carol_tg", "bot"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.LinkTelegram(ctx, "dave", 4102, "dave_tg", "bot"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RecordMembership(ctx, -100555, 4101, true, "bot"); err != nil {
		t.Fatal(err)
	}
	carol := "carol"
	for _, n := range []models.Notice{
		{IdemKey: "remove/t4101/webmasters-pro/a1", TgUserID: 4101, MemberExt: &carol, Kind: "access_gained", Detail: "sent to @carol_tg"},
		{IdemKey: "u77", TgUserID: 4101, Kind: "reply"},
		{IdemKey: "u78", TgUserID: 4102, Kind: "reply"},
	} {
		if _, err := e.store.BeginNotice(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	// An event of nobody's that names her account.
	chat := "webmasters-pro"
	if err := e.store.DB().Gorm().Create(&models.Event{At: e.clock.Now(), Actor: "bot", Kind: "test.stranger", ChatKey: &chat,
		Detail: "Telegram user 4101 (@Carol_TG) joined; user 41010 too"}).Error; err != nil {
		t.Fatal(err)
	}
	done := e.clock.Now()
	ups := []models.Update{
		{UpdateID: 10, Kind: "message", Payload: `{"update_id":10,"message":{"from":{"id":4101,"first_name":"Carol","username":"carol_tg"},"text":"/start"}}`,
			Status: models.UpdateDone, NotBefore: done, ReceivedAt: done, DoneAt: &done},
		{UpdateID: 11, Kind: "message", Payload: `{"update_id":11,"message":{"from":{"id":41010,"first_name":"Other"},"text":"/start"}}`,
			Status: models.UpdateDone, NotBefore: done, ReceivedAt: done, DoneAt: &done},
		{UpdateID: 12, Kind: "message", Payload: `{"update_id":12,"message":{"from":{"id":4102,"first_name":"Dave"},"text":"hi"}}`,
			Status: models.UpdateDone, NotBefore: done, ReceivedAt: done, DoneAt: &done},
	}
	if err := e.store.DB().Gorm().Create(&ups).Error; err != nil {
		t.Fatal(err)
	}
}

// TestServer_ExportMember: GET /api/v1/members/{id}/export returns
// everything karmagate holds on the member.
func TestServer_ExportMember(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		privacyFixture(t, e)
		r := e.do("GET", "/api/v1/members/carol/export", "", "")
		if r.Status != http.StatusOK {
			t.Fatalf("export: %d %s", r.Status, r.Raw)
		}
		m, _ := r.Body["member"].(map[string]any)
		if m["id"] != "carol" || m["phone"] != "+15550100" || m["name"] != "Carol Tester" || m["username"] != "carol_site" {
			t.Errorf("member = %v", m)
		}
		if tg, _ := m["telegram"].(map[string]any); tg["user_id"] != float64(4101) || tg["username"] != "carol_tg" {
			t.Errorf("telegram = %v", m["telegram"])
		}
		list := func(k string) []any {
			l, ok := r.Body[k].([]any)
			if !ok {
				t.Errorf("export has no list %q: %.400s", k, r.Raw)
			}
			return l
		}
		if chats := list("chats"); len(chats) == 0 {
			t.Errorf("no chat states")
		}
		evs := list("events")
		if len(evs) < 3 {
			t.Errorf("events = %v, want her audit trail", evs)
		}
		for _, ev := range evs {
			if ev.(map[string]any)["member"] != "carol" {
				t.Errorf("someone else's event in carol's export: %v", ev)
			}
		}
		if ns := list("notifications"); len(ns) != 2 {
			t.Errorf("notifications = %v, want the 2 sent to carol (by id or account)", ns)
		}
		list("pending_actions")
		list("overrides")
		list("personal_links")
		list("link_tokens")
		if r.Body["events_truncated"] != false {
			t.Errorf("events_truncated = %v", r.Body["events_truncated"])
		}
		if strings.Contains(r.Raw, "dave") || strings.Contains(r.Raw, "4102") {
			t.Errorf("dave is in carol's export: %.600s", r.Raw)
		}

		for _, tt := range []struct {
			name, path string
			hdr        []string
			want       int
		}{
			{"unknown member", "/api/v1/members/nobody/export", nil, http.StatusNotFound},
			{"unknown parameter", "/api/v1/members/carol/export?format=csv", nil, http.StatusBadRequest},
			{"malformed id", "/api/v1/members/%20x/export", nil, http.StatusBadRequest},
			{"no key", "/api/v1/members/carol/export", []string{"Authorization", ""}, http.StatusUnauthorized},
		} {
			if r := e.do("GET", tt.path, "", "", tt.hdr...); r.Status != tt.want {
				t.Errorf("%s: %d %.200s, want %d", tt.name, r.Status, r.Raw, tt.want)
			}
		}
		if r := e.do("POST", "/api/v1/members/carol/export", "", ""); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("POST export: %d, want 405", r.Status)
		}
	})
}

// TestServer_EraseMember: DELETE /api/v1/members/{id}?erase=true removes
// the member from every chat as a delete does, then leaves none of their
// ids, names and usernames in events and notifications; the audit trail
// keeps its counts.
func TestServer_EraseMember(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		privacyFixture(t, e)
		g := e.store.DB().Gorm()
		count := func(table, where string, args ...any) int64 {
			t.Helper()
			var n int64
			if err := g.Table(table).Where(where, args...).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		daveDetails := func() []string {
			t.Helper()
			var ds []string
			if err := g.Model(&models.Event{}).Where("member_ext = ?", "dave").Order("id").Pluck("detail", &ds).Error; err != nil {
				t.Fatal(err)
			}
			return ds
		}
		daveBefore := daveDetails()
		carolEvents := count("events", "member_ext = ?", "carol")
		daveEvents := count("events", "member_ext = ?", "dave")
		allEvents := count("events", "1 = 1")
		allNotices := count("notifications", "1 = 1")
		if carolEvents == 0 {
			t.Fatal("fixture: carol has no events")
		}

		for _, tt := range []struct{ name, query string }{
			{"erase=yes", "?erase=yes"},
			{"erase given twice", "?erase=true&erase=true"},
			{"unknown parameter", "?purge=true"},
			{"erase empty", "?erase="},
		} {
			if r := e.do("DELETE", "/api/v1/members/carol"+tt.query, "", ""); r.Status != http.StatusBadRequest {
				t.Errorf("%s: %d %.200s, want 400", tt.name, r.Status, r.Raw)
			}
		}
		if count("members", "external_id = ?", "carol") != 1 {
			t.Fatal("a refused erase deleted carol")
		}

		r := e.do("DELETE", "/api/v1/members/carol?erase=true", "", "")
		if r.Status != http.StatusOK {
			t.Fatalf("erase: %d %s", r.Status, r.Raw)
		}
		pseudonym, _ := r.Body["pseudonym"].(string)
		if r.Body["erased"] != true || !strings.HasPrefix(pseudonym, "erased-") {
			t.Errorf("erase answered %v", r.Body)
		}
		if n, _ := r.Body["actions_queued"].(float64); n < 1 {
			t.Errorf("actions_queued = %v, want her removal from webmasters-pro", r.Body["actions_queued"])
		}
		if r := e.do("GET", "/api/v1/members/carol", "", ""); r.Status != http.StatusNotFound {
			t.Errorf("carol after erase: %d", r.Status)
		}
		links, _ := r.Body["_links"].(map[string]any)
		evLink, _ := links["events"].(map[string]any)
		href, _ := evLink["href"].(string)
		if r := e.do("GET", href, "", ""); r.Status != http.StatusOK || len(r.Body["events"].([]any)) == 0 {
			t.Errorf("the erased trail at %s: %d %.300s", href, r.Status, r.Raw)
		}
		// Removed from every chat as usual: a removal queued.
		var removal models.Action
		if err := g.Where("kind = ? AND chat_key = ? AND status = ?", "remove", "webmasters-pro", models.ActionPending).Take(&removal).Error; err != nil {
			t.Errorf("no removal queued: %v", err)
		} else if removal.TgUserID == nil || *removal.TgUserID != 4101 || removal.MemberExt != pseudonym {
			t.Errorf("removal = %+v, want Telegram user 4101 under the pseudonym", removal)
		}

		// Nothing of carol left in events or notifications.
		var evs []models.Event
		if err := g.Order("id").Find(&evs).Error; err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			text := strings.ReplaceAll(fmt.Sprintf("%v %s %s", deref(ev.MemberExt), ev.Detail, ev.Actor), pseudonym, "")
			for _, id := range carolIDs {
				if containsWord(text, id) {
					t.Errorf("event %d (%s) still names carol (%q): %s", ev.ID, ev.Kind, id, text)
				}
			}
		}
		var ns []models.Notice
		if err := g.Order("idem_key").Find(&ns).Error; err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			text := strings.ReplaceAll(fmt.Sprintf("%s %d %s %s", n.IdemKey, n.TgUserID, deref(n.MemberExt), n.Detail), pseudonym, "")
			for _, id := range carolIDs {
				if containsWord(text, id) {
					t.Errorf("notification %s still names carol (%q): %s", n.IdemKey, id, text)
				}
			}
		}
		// Counts kept: every event stays (the delete and the erasure add
		// theirs), under one pseudonym; every notification stays.
		if got := count("events", "member_ext = ?", pseudonym); got < carolEvents {
			t.Errorf("%d events under the pseudonym, want at least carol's %d", got, carolEvents)
		}
		if got := count("events", "1 = 1"); got < allEvents {
			t.Errorf("%d events after the erasure, want at least %d", got, allEvents)
		}
		if got := count("notifications", "1 = 1"); got != allNotices {
			t.Errorf("%d notifications after the erasure, want %d", got, allNotices)
		}
		if got := count("notifications", "member_ext = ?", pseudonym); got != 2 {
			t.Errorf("%d notifications under the pseudonym, want carol's 2", got)
		}
		// Her raw update is gone; the others stay.
		if got := count("updates", "update_id = ?", 10); got != 0 {
			t.Errorf("the update naming carol's account is still stored")
		}
		if got := count("updates", "update_id IN ?", []int{11, 12}); got != 2 {
			t.Errorf("%d of the other updates stay, want 2", got)
		}
		var stranger models.Event
		if err := g.Where("kind = ?", "test.stranger").Take(&stranger).Error; err != nil {
			t.Fatal(err)
		}
		if want := "Telegram user " + pseudonym + " (" + pseudonym + ") joined; user 41010 too"; stranger.Detail != want {
			t.Errorf("the event naming her account reads %q, want %q", stranger.Detail, want)
		}
		// Dave is as he was.
		if got := daveDetails(); fmt.Sprint(got) != fmt.Sprint(daveBefore) {
			t.Errorf("dave's events changed: %q, were %q", got, daveBefore)
		}
		if got := count("events", "member_ext = ?", "dave"); got != daveEvents {
			t.Errorf("dave has %d events, want %d", got, daveEvents)
		}
		if got := count("notifications", "tg_user_id = ?", 4102); got != 1 {
			t.Errorf("dave's notification: %d, want 1", got)
		}
		if r := e.do("GET", "/api/v1/members/dave", "", ""); r.Status != http.StatusOK {
			t.Errorf("dave after carol's erasure: %d", r.Status)
		}

		t.Run("a plain delete keeps the audit trail as it was", func(t *testing.T) {
			before := count("events", "member_ext = ?", "dave")
			if r := e.do("DELETE", "/api/v1/members/dave?erase=false", "", ""); r.Status != http.StatusOK || r.Body["erased"] != false {
				t.Fatalf("delete dave: %d %s", r.Status, r.Raw)
			}
			if got := count("events", "member_ext = ?", "dave"); got <= before {
				t.Errorf("dave's events after a plain delete: %d, want more than %d under his id", got, before)
			}
		})
		t.Run("erasing again", func(t *testing.T) {
			if r := e.do("DELETE", "/api/v1/members/carol?erase=true", "", ""); r.Status != http.StatusNotFound {
				t.Errorf("erase of an erased member: %d, want 404", r.Status)
			}
		})
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// containsWord reports whether text holds w not as part of a longer word,
// or for a number, of a longer number.
func containsWord(text, w string) bool {
	isWordByte := isWordByte
	if strings.Trim(w, "0123456789") == "" {
		isWordByte = func(b byte) bool { return b >= '0' && b <= '9' }
	}
	for i := 0; ; {
		j := strings.Index(text[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before, after := byte(' '), byte(' ')
		if j > 0 {
			before = text[j-1]
		}
		if k := j + len(w); k < len(text) {
			after = text[k]
		}
		if !isWordByte(before) && !isWordByte(after) {
			return true
		}
		i = j + 1
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
