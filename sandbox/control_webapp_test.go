package sandbox_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestSandbox_ControlWebApp: the guard bot's Mini App reaches the
// requester as a web_app button in their messages, and the control API
// opens it with initData signed with the bot's token; what was never shown
// is refused.
func TestSandbox_ControlWebApp(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{Seed: 5, NoMTProto: true})
	w, bot := sb.World(), sb.Bot()
	owner := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Owner"})
	ann := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Ann"})
	c := sandboxtest.MustChat(t, sb, owner.ID, "Club")
	if err := w.SetGuardBot(c.ID, owner.ID, bot.ID); err != nil {
		t.Fatal(err)
	}
	l, err := w.CreateInviteLink(c.ID, owner.ID, world.InviteLinkSpec{CreatesJoinRequest: true})
	if err != nil {
		t.Fatal(err)
	}
	var query string
	w.Subscribe(func(ev world.Event) {
		if e, ok := ev.(world.JoinRequested); ok && e.QueryID != "" {
			query = e.QueryID
		}
	})
	if _, err := w.JoinByLink(ann.ID, l.Link); err != nil {
		t.Fatal(err)
	}
	const app = "https://gate.example/app/join?chat=club"
	if err := w.SendJoinRequestWebApp(bot.ID, query, app); err != nil {
		t.Fatal(err)
	}
	var inbox []struct {
		ReplyMarkup struct {
			InlineKeyboard [][]struct {
				Text   string `json:"text"`
				WebApp struct {
					URL string `json:"url"`
				} `json:"web_app"`
			} `json:"inline_keyboard"`
		} `json:"reply_markup"`
	}
	control(t, sb, "GET", "/sandbox/users/"+itoa(ann.ID)+"/messages", nil, &inbox)
	if len(inbox) != 1 || len(inbox[0].ReplyMarkup.InlineKeyboard) != 1 || inbox[0].ReplyMarkup.InlineKeyboard[0][0].WebApp.URL != app {
		t.Fatalf("inbox %+v, want the web_app button", inbox)
	}
	var launch struct {
		URL      string `json:"url"`
		InitData string `json:"init_data"`
		BotID    int64  `json:"bot_id"`
		AuthDate int64  `json:"auth_date"`
	}
	if code := control(t, sb, "POST", "/sandbox/users/"+itoa(ann.ID)+"/webapp", map[string]any{"url": app}, &launch); code != 200 {
		t.Fatalf("open: %d", code)
	}
	q, _ := url.ParseQuery(launch.InitData)
	fields := map[string]string{}
	for k := range q {
		fields[k] = q.Get(k)
	}
	if launch.BotID != bot.ID || q.Get("hash") != world.SignWebAppData(sb.BotToken(), fields) || !strings.HasPrefix(launch.URL, app+"#tgWebAppData=") {
		t.Errorf("launch %+v", launch)
	}
	for _, tt := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"no url", map[string]any{}, "url is required"},
		{"never shown", map[string]any{"url": app + "&other=1"}, "WEBAPP_NOT_FOUND"},
		{"an unknown field", map[string]any{"url": app, "hash": "x"}, "hash"},
	} {
		var bad map[string]any
		code := control(t, sb, "POST", "/sandbox/users/"+itoa(ann.ID)+"/webapp", tt.body, &bad)
		if code != 400 || !strings.Contains(strings.Join([]string{str(bad["error"]), str(bad["rpc"])}, " "), tt.want) {
			t.Errorf("%s: %d %v, want 400 about %s", tt.name, code, bad, tt.want)
		}
	}
}

func str(v any) string { s, _ := v.(string); return s }
