package world_test

import (
	"crypto/hmac"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/sandbox/world"
)

// TestWorld_SendJoinRequestWebApp: a guard bot shows the requester its
// Mini App within the query's 10 seconds; the query then stays open for
// JoinRequestWebAppTTL, the person gets a web_app button and opens it with
// initData signed with the bot's token.
func TestWorld_SendJoinRequestWebApp(t *testing.T) {
	w, clk := newWorld(t, world.Limits{})
	owner := mustUser(t, w, world.UserSpec{FirstName: "Owner"})
	c := mustGroup(t, w, owner.ID)
	guard, token, err := w.CreateBot("guard_bot", "")
	if err != nil {
		t.Fatal(err)
	}
	helper := mustBot(t, w, "helper_bot")
	for _, b := range []int64{guard.ID, helper.ID} {
		if err := w.PromoteAdmin(c.ID, owner.ID, b, world.AdminRights{CanInviteUsers: true}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SetGuardBot(c.ID, owner.ID, guard.ID); err != nil {
		t.Fatal(err)
	}
	l, err := w.CreateInviteLink(c.ID, owner.ID, world.InviteLinkSpec{CreatesJoinRequest: true})
	if err != nil {
		t.Fatal(err)
	}
	var ev joinEvents
	w.Subscribe(ev.on)
	ask := func(t *testing.T, name string) (world.User, string) {
		t.Helper()
		u := mustUser(t, w, world.UserSpec{FirstName: name, Username: strings.ToLower(name) + "_tg", LanguageCode: "en"})
		if res, err := w.JoinByLink(u.ID, l.Link); err != nil || res.Result != "requested" {
			t.Fatalf("join: %+v %v", res, err)
		}
		got := ev.take()
		if len(got) != 1 || got[0].QueryID == "" {
			t.Fatalf("events = %+v, want a query", got)
		}
		return u, got[0].QueryID
	}
	const app = "https://gate.example/app/join?chat=club"

	t.Run("shown, opened, answered after 10 s", func(t *testing.T) {
		u, q := ask(t, "Ann")
		clk.Advance(9 * time.Second)
		if err := w.SendJoinRequestWebApp(guard.ID, q, app); err != nil {
			t.Fatal(err)
		}
		if err := w.SendJoinRequestWebApp(guard.ID, q, app); !errors.Is(err, world.ErrQueryIDInvalid) {
			t.Errorf("a second Mini App for the query: %v, want QUERY_ID_INVALID", err)
		}
		msgs := w.Messages(u.ID)
		if len(msgs) != 1 || msgs[0].FromID != guard.ID || !strings.Contains(msgs[0].ReplyMarkup, `"web_app":{"url":"`+app+`"}`) {
			t.Fatalf("the person received %+v, want one web_app button from the guard bot", msgs)
		}
		clk.Advance(5 * time.Minute)
		launch, err := w.OpenWebApp(u.ID, app)
		if err != nil {
			t.Fatal(err)
		}
		fields, err := url.ParseQuery(launch.InitData)
		if err != nil {
			t.Fatal(err)
		}
		flat := map[string]string{}
		for k, v := range fields {
			if len(v) != 1 {
				t.Fatalf("field %s given %d times", k, len(v))
			}
			flat[k] = v[0]
		}
		if want := world.SignWebAppData(token, flat); !hmac.Equal([]byte(flat["hash"]), []byte(want)) {
			t.Errorf("hash %s, want %s", flat["hash"], want)
		}
		if !strings.Contains(flat["user"], `"id":`) || !strings.Contains(flat["user"], `"username":"ann_tg"`) || flat["query_id"] == "" {
			t.Errorf("initData %q lacks the user or query_id", launch.InitData)
		}
		if flat["auth_date"] == "" || launch.AuthDate != clk.Now() || launch.BotID != guard.ID {
			t.Errorf("launch %+v", launch)
		}
		frag, ok := strings.CutPrefix(launch.URL, app+"#")
		if !ok {
			t.Fatalf("launch URL %s", launch.URL)
		}
		if f, _ := url.ParseQuery(frag); f.Get("tgWebAppData") != launch.InitData || f.Get("tgWebAppVersion") == "" {
			t.Errorf("fragment %q", frag)
		}
		if err := w.AnswerJoinRequestQuery(guard.ID, q, "approve"); err != nil {
			t.Fatalf("answer after the Mini App: %v", err)
		}
		if st := w.Member(c.ID, u.ID).Status; st != world.StatusMember {
			t.Errorf("status %s, want member", st)
		}
		if _, err := w.OpenWebApp(u.ID, app); err != nil {
			t.Errorf("the button still opens after the query: %v", err)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		u, q := ask(t, "Bob")
		if err := w.SendJoinRequestWebApp(helper.ID, q, app); !errors.Is(err, world.ErrQueryIDInvalid) {
			t.Errorf("another bot's query: %v", err)
		}
		if _, err := w.OpenWebApp(u.ID, app+"&x=1"); !errors.Is(err, world.ErrWebAppNotShown) {
			t.Errorf("a URL never shown: %v", err)
		}
		if _, err := w.OpenWebApp(owner.ID, app); !errors.Is(err, world.ErrWebAppNotShown) {
			t.Errorf("someone else's button: %v", err)
		}
		clk.Advance(10 * time.Second)
		if err := w.SendJoinRequestWebApp(guard.ID, q, app); !errors.Is(err, world.ErrQueryIDInvalid) {
			t.Errorf("after the 10 seconds: %v", err)
		}
		if got := ev.take(); len(got) != 1 || got[0].QueryID != "" || got[0].UserID != u.ID {
			t.Errorf("events = %+v, want the request queued", got)
		}
		if err := w.DeclineJoinRequest(c.ID, helper.ID, u.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the longer window ends too", func(t *testing.T) {
		u, q := ask(t, "Cid")
		if err := w.SendJoinRequestWebApp(guard.ID, q, app); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
		w.ExpireJoinRequestQueries()
		if got := ev.take(); len(got) != 1 || got[0].QueryID != "" || got[0].UserID != u.ID {
			t.Errorf("events = %+v, want the request queued", got)
		}
		if err := w.AnswerJoinRequestQuery(guard.ID, q, "approve"); !errors.Is(err, world.ErrQueryIDInvalid) {
			t.Errorf("answer after the window: %v", err)
		}
	})
}
