package dashboard_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/models"
)

// TestServer_PeopleInside: the overview's chat row says who is inside:
// Telegram's last count besides the admins, strangers, unknown; "—" until
// counted.
func TestServer_PeopleInside(t *testing.T) {
	e := newEnv(t, sqliteSpec(t), dashboard.Options{})
	ctx := context.Background()
	sess := e.signIn("", apiKey)
	const tgChat = -1001900000103
	if err := e.store.BindChat(ctx, "customers-club", tgChat, "test"); err != nil {
		t.Fatal(err)
	}
	row := func(body string) string {
		m := regexp.MustCompile(`(?s)<td class="num" data-people="customers-club">(.*?)</td>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no people cell for customers-club")
		}
		return m[1]
	}
	if cell := row(e.do("GET", "/admin/", sess, nil).Body); !strings.Contains(cell, "—") {
		t.Errorf("never counted: %q", cell)
	}
	in := models.MemberInput{ID: "carol", Karma: 60, Groups: []string{"customers"}}
	if err := in.Normalize(e.store.Rules()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.PutMember(ctx, in, "website"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.LinkTelegram(ctx, "carol", 7001, "", "bot"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.SetInChat(ctx, "carol", "customers-club", true, "bot"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{9001, 9002} {
		if _, err := e.store.StrangerSeen(ctx, tgChat, id, "bot"); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.SetPeopleInside(ctx, "customers-club", 10); err != nil {
		t.Fatal(err)
	}
	cell := row(e.do("GET", "/admin/", sess, nil).Body)
	for _, want := range []string{`data-count="inside">10<`, `data-count="strangers">2<`, `data-count="unknown">7<`} {
		if !strings.Contains(cell, want) {
			t.Errorf("people cell %q lacks %q", cell, want)
		}
	}
}
