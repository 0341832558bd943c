package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/models"
)

// storeAuditor is the bot's StartAudit as far as the store goes: refused
// for a chat with no group, else the pool account's join queued with a
// link (bot.TestBot_StartAudit drives the bot's half on the sandbox).
type storeAuditor struct {
	store *models.Store
	asked []string
}

func (a *storeAuditor) StartAudit(ctx context.Context, key, actor string) error {
	a.asked = append(a.asked, key+" by "+actor)
	row, err := a.store.ChatRow(ctx, key)
	if err != nil {
		return err
	}
	if row.TgChatID == nil {
		return fmt.Errorf("chat %q: %w", key, models.ErrNotBound)
	}
	_, err = a.store.QueueAuditJoin(ctx, key, "https://t.me/+audit", actor)
	return err
}

// TestServer_Audit: each bound chat row of the overview has an "Audit"
// button (a form with the session's CSRF token) while its audits are off,
// and "On" once they are; the button asks the bot for what /audit on does
// and comes back to the overview saying so; refused without the token,
// signed out, for an unknown chat (404) and for a chat with no group
// bound (409, with what to do), asking nothing of the bot then.
func TestServer_Audit(t *testing.T) {
	e := newEnv(t, sqliteSpec(t), dashboard.Options{})
	e.seed()
	ctx := context.Background()
	if err := e.store.SetAuditOn(ctx, "customers-club", 7001, "test"); err != nil {
		t.Fatal(err)
	}
	aud := &storeAuditor{store: e.store}
	e.opts.Audits = aud
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
	if !strings.Contains(body, `action="/admin/chats/webmasters-pro/audit" data-audit="webmasters-pro"`) {
		t.Fatal("the overview has no Audit button for webmasters-pro (bound, audits off)")
	}
	if !strings.Contains(body, `data-audit="customers-club"`) || strings.Contains(body, `action="/admin/chats/customers-club/audit"`) {
		t.Fatal("customers-club has audits on: want its On badge, no button")
	}
	if strings.Contains(body, `action="/admin/chats/staff-room/audit"`) {
		t.Fatal("staff-room has no group bound: want no Audit button")
	}
	csrf := e.csrf(sess)
	if p := e.do("POST", "/admin/chats/webmasters-pro/audit", sess, url.Values{}); p.Status != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d, want 403", p.Status)
	}
	if p := e.do("POST", "/admin/chats/webmasters-pro/audit", "", url.Values{"csrf": {csrf}}); p.Status != http.StatusUnauthorized {
		t.Errorf("signed out: %d, want 401", p.Status)
	}
	if p := e.do("POST", "/admin/chats/nope/audit", sess, url.Values{"csrf": {csrf}}); p.Status != http.StatusNotFound {
		t.Errorf("unknown chat: %d, want 404", p.Status)
	}
	if len(aud.asked) != 0 {
		t.Fatalf("refused forms asked the bot: %v", aud.asked)
	}
	if p := e.do("POST", "/admin/chats/staff-room/audit", sess, url.Values{"csrf": {csrf}}); p.Status != http.StatusConflict || !strings.Contains(p.Body, "bind one first") {
		t.Errorf("unbound chat: %d %q, want 409 saying to bind first", p.Status, p.Body)
	}
	p := e.do("POST", "/admin/chats/webmasters-pro/audit", sess, url.Values{"csrf": {csrf}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/?done=audit" {
		t.Fatalf("audit: %d to %q, want 303 to the overview", p.Status, p.Header.Get("Location"))
	}
	if len(aud.asked) != 2 || !strings.HasPrefix(aud.asked[1], "webmasters-pro by ") {
		t.Fatalf("the bot was asked %v", aud.asked)
	}
	evs, err := e.store.Events(ctx, models.EventFilter{Kind: models.EventAuditAsked})
	if err != nil || len(evs) != 1 || evs[0].ChatKey == nil || *evs[0].ChatKey != "webmasters-pro" {
		t.Fatalf("audit trail: %+v (%v), want one audit asked for webmasters-pro", evs, err)
	}
	if got := e.do("GET", "/admin/?done=audit", sess, nil).Body; !strings.Contains(got, "Audit asked for") {
		t.Error("the overview does not say the audit was asked for")
	}
}
