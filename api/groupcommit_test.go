package api_test

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/api"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestAPI_GroupCommitOneBadFails: PUTs and karma changes sent together
// share a transaction (a 200 ms window gathers them); the one whose karma
// would overflow is refused alone with its own error, every other is
// answered and stored.
func TestAPI_GroupCommitOneBadFails(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		srv := httptest.NewServer(api.New(api.Options{Store: e.store, APIKey: key, Group: models.GroupOptions{Window: 200 * time.Millisecond}}))
		t.Cleanup(srv.Close)
		e.srv = srv
		if r := e.json("PUT", "/api/v1/members/maxed", fmt.Sprintf(`{"karma": %d, "groups": ["webmasters"]}`, int64(math.MaxInt64-1))); r.Status != http.StatusCreated {
			t.Fatalf("put maxed = %d %s", r.Status, r.Raw)
		}
		if r := e.json("PUT", "/api/v1/members/k0", `{"karma": 10, "groups": ["webmasters"]}`); r.Status != http.StatusCreated {
			t.Fatalf("put k0 = %d %s", r.Status, r.Raw)
		}
		const n = 8
		puts := make([]resp, n)
		var bad, karma resp
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				puts[i] = e.json("PUT", fmt.Sprintf("/api/v1/members/g%d", i), fmt.Sprintf(`{"karma": %d, "groups": ["webmasters"]}`, 100+i))
			}()
		}
		wg.Add(2)
		go func() { defer wg.Done(); bad = e.json("POST", "/api/v1/members/maxed/karma", `{"delta": 5}`) }()
		go func() { defer wg.Done(); karma = e.json("POST", "/api/v1/members/k0/karma", `{"delta": 95}`) }()
		wg.Wait()
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("the writes took %s: not one batch", took)
		}
		if bad.Status != http.StatusUnprocessableEntity || bad.Body["field"] != "delta" {
			t.Errorf("overflowing karma = %d %s, want 422 on delta", bad.Status, bad.Raw)
		}
		if karma.Status != http.StatusOK || karma.Body["karma"] != float64(105) || chatState(karma, "webmasters-pro") != "needs_link" {
			t.Errorf("karma change = %d %s", karma.Status, karma.Raw)
		}
		for i, r := range puts {
			if r.Status != http.StatusCreated || r.Body["id"] != fmt.Sprintf("g%d", i) || chatState(r, "webmasters-pro") != "needs_link" {
				t.Errorf("put g%d = %d %s", i, r.Status, r.Raw)
				continue
			}
			got := e.json("GET", fmt.Sprintf("/api/v1/members/g%d", i), "")
			if got.Status != http.StatusOK || got.Body["karma"] != float64(100+i) {
				t.Errorf("g%d after the batch: %d %s", i, got.Status, got.Raw)
			}
		}
		if got := e.json("GET", "/api/v1/members/maxed", ""); got.Body["karma"] != float64(math.MaxInt64-1) {
			t.Errorf("maxed after the batch: %s", got.Raw)
		}
	})
}

// TestAPI_GroupCommitJoinLinks: a PUT answered from a group commit shows
// the join links a GET shows: the chat's join-request link, or the
// member's personal link where the chat gave one.
func TestAPI_GroupCommitJoinLinks(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		ctx := t.Context()
		for i, key := range []string{"webmasters-pro", "customers-club"} {
			if err := e.store.BindChat(ctx, key, -1001000+int64(i), "test"); err != nil {
				t.Fatal(err)
			}
			if err := e.store.SetJoinLink(ctx, key, "https://t.me/+chat-"+key); err != nil {
				t.Fatal(err)
			}
		}
		if r := e.json("PUT", "/api/v1/members/j1", `{"karma": 150, "groups": ["webmasters", "customers"]}`); r.Status != http.StatusCreated {
			t.Fatalf("put = %d %s", r.Status, r.Raw)
		}
		v, err := e.store.LinkTelegram(ctx, "j1", 4242, "", "test")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.SaveMemberLink(ctx, models.MemberLink{MemberID: v.Member.ID, ChatKey: "customers-club", Link: "https://t.me/+own-j1", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		put := e.json("PUT", "/api/v1/members/j1", `{"karma": 151, "groups": ["webmasters", "customers"]}`)
		get := e.json("GET", "/api/v1/members/j1", "")
		want := map[string]string{"webmasters-pro": "https://t.me/+chat-webmasters-pro", "customers-club": "https://t.me/+own-j1"}
		for _, r := range []resp{put, get} {
			chats, _ := r.Body["chats"].([]any)
			if r.Status != http.StatusOK || len(chats) != 2 {
				t.Fatalf("= %d %s", r.Status, r.Raw)
			}
			for _, c := range chats {
				c := c.(map[string]any)
				if c["join_url"] != want[c["key"].(string)] {
					t.Errorf("%s: join_url %v, want %s (%s)", c["key"], c["join_url"], want[c["key"].(string)], r.Raw)
				}
			}
		}
	})
}
