package main

import (
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/internal/cdptest"
)

// oidcScreenshotDir is where the browser story saves its PNGs:
// $KARMAGATE_SCREENSHOTS, or testdata/screenshots beside this file (not
// committed).
func oidcScreenshotDir() string {
	if d := os.Getenv("KARMAGATE_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join("testdata", "screenshots")
}

// profilePage is the website's profile page: the outcome of the last
// login, and a "Log in with Telegram" link the website signs itself with
// KARMAGATE_LINK_SECRET, as the README's PHP does.
var profilePage = template.Must(template.New("profile").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Your profile</title>
<style>body{font-family:system-ui,sans-serif;margin:40px;color:#222} a.tg{display:inline-block;background:#2aabee;color:#fff;padding:10px 16px;border-radius:8px;text-decoration:none}
.ok{color:#1e8e3e} .bad{color:#c0392b}</style></head><body>
<h1>Your profile: {{.Member}}</h1>
{{if eq .Outcome "linked"}}<p id="outcome" class="ok">Telegram linked.</p>{{else if .Outcome}}<p id="outcome" class="bad">Telegram: {{.Outcome}} {{.Reason}}</p>{{end}}
<p><a class="tg" id="link-telegram" href="{{.Link}}">Log in with Telegram</a></p>
</body></html>`))

// TestE2E_OIDCChromium: a person clicks through the website's link in
// headless Chromium: the profile page, Telegram's consent page (the
// sandbox's, signed in by cookie), Accept, back on the profile page with
// telegram=linked; the member is linked with the phone in the database.
// Without Chromium it is skipped, except under CI, where it fails.
func TestE2E_OIDCChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	bin := cdptest.Find()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but Chromium is not installed: apt-get install -y chromium (or set KARMAGATE_CHROMIUM)")
		}
		t.Skip("Chromium is not installed (apt-get install -y chromium); skipping the browser test")
	}
	o := newOIDCE2E(t, func(o *oidcE2E, w http.ResponseWriter, r *http.Request) {
		member := "erin"
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		profilePage.Execute(w, map[string]any{"Member": member, "Outcome": r.URL.Query().Get("telegram"), "Reason": r.URL.Query().Get("reason"),
			"Link": template.URL(o.siteLink(member, time.Now().Add(10*time.Minute).Unix()))})
	})
	o.member("erin")
	var erin sbUser
	o.sandbox("POST", "/sandbox/users", map[string]any{"first_name": "Erin", "last_name": "Walsh", "username": "erin_tg", "phone": "+15550005555"}, &erin)

	b := cdptest.Start(t, bin, 900, 640)
	dir := oidcScreenshotDir()
	// Erin is signed in to Telegram in this browser.
	b.SetCookie(o.vars["TELEGRAM_OIDC_ISSUER"], "sandbox_oidc_user", strconv.FormatInt(erin.ID, 10))

	b.Navigate(o.profile.URL + "/profile.php")
	b.Click("#link-telegram")
	if loc := b.Location(); !strings.HasPrefix(loc, o.vars["TELEGRAM_OIDC_ISSUER"]+"/auth?") {
		t.Fatalf("the link led to %s, want the issuer's consent page", loc)
	}
	if who := b.Text("#person"); !strings.Contains(who, "Erin Walsh") {
		t.Errorf("the consent page names %q", who)
	}
	var phoneBox bool
	b.Eval(`document.querySelector('#share_phone').checked`, &phoneBox)
	if !phoneBox {
		t.Error("the phone box is not ticked")
	}
	b.Screenshot(filepath.Join(dir, "oidc-01-consent.png"))
	if m := o.linkOf("erin"); m.Telegram != nil {
		t.Fatalf("linked before consenting: %+v", m.Telegram)
	}

	b.Click("#accept")
	loc := b.Location()
	if !strings.HasPrefix(loc, o.profile.URL+"/profile.php?") || !strings.Contains(loc, "telegram=linked") {
		t.Fatalf("after Accept at %s, want the profile page with telegram=linked", loc)
	}
	if got := b.Text("#outcome"); got != "Telegram linked." {
		t.Errorf("the profile page says %q", got)
	}
	b.Screenshot(filepath.Join(dir, "oidc-02-linked.png"))
	m := o.linkOf("erin")
	if m.Telegram == nil || m.Telegram.UserID != erin.ID || m.Telegram.Phone == nil || *m.Telegram.Phone != "+15550005555" {
		t.Fatalf("erin's link %+v", m.Telegram)
	}

	// karmagate's own outcome page, as shown without a profile page.
	b.Navigate(fmt.Sprintf("http://%s/auth/telegram/done?telegram=error&reason=login_used", o.listen))
	if got := b.Text("#detail"); !strings.Contains(got, "finished already") {
		t.Errorf("the outcome page says %q", got)
	}
	b.Screenshot(filepath.Join(dir, "oidc-03-refused.png"))
}
