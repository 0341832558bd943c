package door_test

import (
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/karmagate/karmagate/door"
	"github.com/karmagate/karmagate/internal/cdptest"
)

// screenshotDir is where the Chromium test saves its PNGs:
// $KARMAGATE_SCREENSHOTS, or testdata/screenshots beside this file (not
// committed).
func screenshotDir() string {
	if d := os.Getenv("KARMAGATE_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join("testdata", "screenshots")
}

// TestHandler_Chromium opens the Mini App in headless Chromium as a
// Telegram client does (initData in the URL's fragment; telegram.org's
// script unreachable here, so the page reads the fragment itself), checks
// what it shows at each step of a visit, clicks "check again", and saves a
// screenshot of each. Without Chromium it is skipped, except under CI.
func TestHandler_Chromium(t *testing.T) {
	bin := cdptest.Find()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but Chromium is not installed: apt-get install -y chromium (or set KARMAGATE_CHROMIUM)")
		}
		t.Skip("Chromium is not installed; skipping the browser test")
	}
	fd := &fakeDoors{visit: door.Visit{ChatKey: "webmasters-pro", ChatTitle: "Webmasters Pro", Bar: 100, Groups: []string{"webmasters"},
		KarmaShort: 100, DecideAt: time.Now().Add(10 * time.Minute)}}
	h, err := door.New(door.Options{BotToken: token, Doors: fd, ProfileURL: "https://site.example/profile"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	initData := sign(token, fields(time.Now()))
	frag := url.Values{"tgWebAppData": {initData}, "tgWebAppVersion": {"9.1"}, "tgWebAppPlatform": {"sandbox"}}.Encode()

	b := cdptest.Start(t, bin, 420, 760)
	dir := screenshotDir()
	b.Navigate(srv.URL + door.Prefix + "?chat=webmasters-pro#" + frag)
	waitFor := func(expr string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			var ok bool
			b.Eval(expr, &ok)
			if ok {
				return
			}
			if time.Now().After(deadline) {
				var html string
				b.Eval("document.body.innerHTML", &html)
				t.Fatalf("waited for %s; the page:\n%s", expr, html)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor(`!!document.querySelector("#who")`)
	if got := b.Text("#who"); got != "Who you are to us\nAnn (@ann_tg), not linked to a website account yet" {
		t.Errorf("who: %q", got)
	}
	b.Screenshot(filepath.Join(dir, "door-not-linked.png"))

	fd.mu.Lock()
	fd.visit = door.Visit{ChatKey: "webmasters-pro", ChatTitle: "Webmasters Pro", Linked: true, Member: "Ann Example", Karma: 40, Bar: 100,
		Groups: []string{"webmasters"}, MemberGroups: []string{"webmasters"}, KarmaShort: 60, DecideAt: time.Now().Add(9 * time.Minute)}
	fd.mu.Unlock()
	b.Eval(`document.querySelector("[data-recheck]").click(), true`, nil)
	waitFor(`!!document.querySelector("#karma") && document.querySelector("#karma").textContent.includes("40")`)
	if got := b.Text("#missing"); got != "60 more karma." {
		t.Errorf("missing: %q", got)
	}
	b.Screenshot(filepath.Join(dir, "door-short.png"))

	fd.mu.Lock()
	fd.visit.Karma, fd.visit.KarmaShort, fd.visit.Decision, fd.visit.Reason = 150, -50, door.DecisionApproved, "karma 150 >= 100 in webmasters"
	fd.mu.Unlock()
	b.Eval(`document.querySelector("[data-recheck]").click(), true`, nil)
	waitFor(`!!document.querySelector('[data-decision="approved"]')`)
	b.Screenshot(filepath.Join(dir, "door-approved.png"))

	fd.mu.Lock()
	n := len(fd.visits)
	for _, v := range fd.visits {
		if v.User.ID != 4242 || v.ChatKey != "webmasters-pro" {
			t.Errorf("visitor %+v", v)
		}
	}
	fd.mu.Unlock()
	if n < 3 {
		t.Errorf("%d visits, want at least 3", n)
	}
	t.Logf("screenshots in %s", dir)
}
