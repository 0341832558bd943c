package dashboard_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/models"
)

// TestServer_BindCode: each chat row of the overview has a "Bind code"
// button, a form with the session's CSRF token; it shows the command once,
// and the code it holds binds that chat and no other (issue 13 #1).
func TestServer_BindCode(t *testing.T) {
	e := newEnv(t, sqliteSpec(t), dashboard.Options{})
	e.opts.BindCodes = e.store
	d, err := dashboard.New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	e.dash = d
	mux := http.NewServeMux()
	mux.Handle("/admin/", d)
	e.srv.Config.Handler = mux
	sess := e.signIn("", apiKey)
	body := e.do("GET", "/admin/", sess, nil).Body
	if !strings.Contains(body, `data-bind-code="webmasters-pro"`) || !strings.Contains(body, `action="/admin/chats/webmasters-pro/bind-code"`) {
		t.Fatal("the overview has no bind-code button for webmasters-pro")
	}
	csrf := e.csrf(sess)
	if p := e.do("POST", "/admin/chats/webmasters-pro/bind-code", sess, url.Values{}); p.Status != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d, want 403", p.Status)
	}
	if p := e.do("POST", "/admin/chats/webmasters-pro/bind-code", "", url.Values{"csrf": {csrf}}); p.Status != http.StatusUnauthorized {
		t.Errorf("signed out: %d, want 401", p.Status)
	}
	if p := e.do("POST", "/admin/chats/nope/bind-code", sess, url.Values{"csrf": {csrf}}); p.Status != http.StatusNotFound {
		t.Errorf("unknown chat: %d, want 404", p.Status)
	}
	evs, err := e.store.Events(context.Background(), models.EventFilter{Kind: models.EventBindCodeIssued})
	if err != nil || len(evs) != 0 {
		t.Fatalf("refused forms issued %d codes (%v)", len(evs), err)
	}
	p := e.do("POST", "/admin/chats/webmasters-pro/bind-code", sess, url.Values{"csrf": {csrf}})
	if p.Status != http.StatusOK || p.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("bind code: %d, Cache-Control %q", p.Status, p.Header.Get("Cache-Control"))
	}
	m := regexp.MustCompile(`<pre class="command" data-command>([^<]*)</pre>`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no command on the page:\n%s", p.Body)
	}
	cmd := strings.Fields(html.UnescapeString(m[1]))
	if len(cmd) != 3 || cmd[0] != "/bind" || cmd[1] != "webmasters-pro" {
		t.Fatalf("command %q", m[1])
	}
	ctx := context.Background()
	if err := e.store.TakeBindCode(ctx, "customers-club", cmd[2], 1); err == nil {
		t.Error("the code bound another chat")
	}
	if err := e.store.TakeBindCode(ctx, "webmasters-pro", cmd[2], 1); err != nil {
		t.Errorf("the code: %v", err)
	}
	evs, err = e.store.Events(ctx, models.EventFilter{Kind: models.EventBindCodeIssued})
	if err != nil || len(evs) != 1 || evs[0].Actor != "dashboard:api-key" {
		t.Errorf("issue events %+v (%v)", evs, err)
	}
}
