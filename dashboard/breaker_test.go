package dashboard_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/models"
)

// TestServer_BreakerBanner: a chat whose removal breaker is open gets a
// red banner on the overview, and its held removals say "breaker".
func TestServer_BreakerBanner(t *testing.T) {
	e := newEnv(t, sqliteSpec(t), dashboard.Options{Removals: &fakeConfirmer{}})
	ctx := context.Background()
	sess := e.signIn("", apiKey)
	if body := e.do("GET", "/admin/", sess, nil).Body; strings.Contains(body, "data-breaker") {
		t.Fatal("a banner with no breaker open")
	}
	if err := e.store.BindChat(ctx, "customers-club", -1001900000102, "test"); err != nil {
		t.Fatal(err)
	}
	put := func(id string, karma int64) {
		in := models.MemberInput{ID: id, Karma: karma, Groups: []string{"customers"}}
		if err := in.Normalize(e.store.Rules()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.PutMember(ctx, in, "website"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 15 {
		id := fmt.Sprintf("m%02d", i)
		put(id, 60)
		if _, err := e.store.LinkTelegram(ctx, id, int64(7000+i), "", "bot"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.SetInChat(ctx, id, "customers-club", true, "bot"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 13 {
		put(fmt.Sprintf("m%02d", i), 0)
	}
	body := e.do("GET", "/admin/", sess, nil).Body
	for _, want := range []string{`class="alert bad breaker"`, `data-breaker="customers-club"`, "Removal breaker open in Customers Club", `data-held="3"`} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	body = e.do("GET", "/admin/removals", sess, nil).Body
	if n := strings.Count(body, `data-held="breaker"`); n != 3 || !strings.Contains(body, `data-confirm="customers-club"`) {
		t.Errorf("removals page: %d held by the breaker, confirm offered: %v", n, strings.Contains(body, `data-confirm="customers-club"`))
	}
}
