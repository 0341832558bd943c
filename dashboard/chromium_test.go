package dashboard_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/internal/cdptest"
	"github.com/karmagate/karmagate/models"
)

// screenshotDir is where the Chromium test saves a PNG of each page:
// $KARMAGATE_SCREENSHOTS, or testdata/screenshots beside this file (not
// committed).
func screenshotDir() string {
	if d := os.Getenv("KARMAGATE_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join("testdata", "screenshots")
}

// TestDashboard_Chromium signs in with headless Chromium, visits every
// page, checks the numbers it shows against the database, exempts a member
// through the form, and saves a screenshot of each page. Without Chromium
// it is skipped, except under CI, where it fails.
func TestDashboard_Chromium(t *testing.T) {
	bin := cdptest.Find()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but Chromium is not installed: apt-get install -y chromium (or set KARMAGATE_CHROMIUM)")
		}
		t.Skip("Chromium is not installed (apt-get install -y chromium); skipping the browser test")
	}
	ub := &fakeUserbots{accounts: []dashboard.Account{
		{ID: "ub1", Phone: "+442071838750", Username: "karmagate_ops", State: "ready", Channels: 2, Cap: 500, LastUsed: t0.Add(-25 * time.Minute)},
		{ID: "ub2", Phone: "+14155550199", State: "flood_wait", Channels: 1, Cap: 500, FloodWaitUntil: t0.Add(40 * time.Minute),
			LastError: "FLOOD_WAIT_2400 on channels.createChannel", LastUsed: t0.Add(-3 * time.Hour)},
	}}
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "karmagate.db"), dashboard.Options{Userbots: ub})
	e.seed()
	b := cdptest.Start(t, bin, 1360, 900)
	dir := screenshotDir()
	shot := func(name string) {
		t.Helper()
		b.Screenshot(filepath.Join(dir, name+".png"))
	}
	base := e.srv.URL

	t.Run("sign in", func(t *testing.T) {
		b.T = t
		b.Navigate(base + "/admin/members")
		var path string
		b.Eval("location.pathname", &path)
		if path != "/admin/login" {
			t.Fatalf("signed out, /admin/members led to %s; want the sign-in page", path)
		}
		shot("01-sign-in")
		b.Eval(`document.querySelector('#secret').value = 'wrong-key-0000000000'`, nil)
		b.Submit("form")
		if got := b.Text("[data-error]"); !strings.Contains(got, "did not match") {
			t.Fatalf("wrong key: %q", got)
		}
		b.Eval(fmt.Sprintf(`document.querySelector('#secret').value = %q`, apiKey), nil)
		b.Submit("form")
		b.Eval("location.pathname", &path)
		if path != "/admin/members" {
			t.Fatalf("after sign-in at %s; want /admin/members (where we were going)", path)
		}
		var cookie string
		b.Eval("document.cookie", &cookie)
		if strings.Contains(cookie, "karmagate") {
			t.Errorf("the session cookie is readable from JavaScript: %q", cookie)
		}
	})

	t.Run("overview", func(t *testing.T) {
		b.T = t
		b.Navigate(base + "/admin/")
		if got, want := b.Text(`[data-stat="members"]`), formatCount(e.sqlCount("SELECT COUNT(*) FROM members")); got != want {
			t.Errorf("members %s; the database has %s", got, want)
		}
		if got, want := b.Text(`[data-stat="linked"]`), formatCount(e.sqlCount("SELECT COUNT(*) FROM members WHERE tg_user_id IS NOT NULL")); got != want {
			t.Errorf("linked %s; the database has %s", got, want)
		}
		for _, chat := range []string{"webmasters-pro", "customers-club", "staff-room"} {
			for _, c := range []struct {
				count string
				query string
			}{
				{"in", "SELECT COUNT(*) FROM chat_states WHERE chat_key = ? AND in_chat = ?"},
				{"due", "SELECT COUNT(*) FROM chat_states WHERE chat_key = ? AND state IN ('eligible','invited','member','grace','exempt') AND ? = ?"},
				{"needs_link", "SELECT COUNT(*) FROM chat_states WHERE chat_key = ? AND state = 'needs_link' AND ? = ?"},
				{"pending", "SELECT COUNT(*) FROM actions WHERE chat_key = ? AND status IN ('pending','running') AND ? = ?"},
			} {
				args := []any{chat, true}
				if strings.Count(c.query, "?") == 3 {
					args = append(args, true)
				}
				got := b.Text(fmt.Sprintf(`tr[data-chat=%q] [data-count=%q]`, chat, c.count))
				if want := formatCount(e.sqlCount(c.query, args...)); got != want {
					t.Errorf("%s %s: page %s, database %s", chat, c.count, got, want)
				}
			}
		}
		if e.sqlCount("SELECT COUNT(*) FROM chat_states WHERE in_chat = ?", true) == 0 {
			t.Fatal("the seed put nobody in a chat")
		}
		shot("02-overview")
	})

	t.Run("members", func(t *testing.T) {
		b.T = t
		b.Navigate(base + "/admin/members")
		var total string
		b.Eval(`document.querySelector('[data-total]').dataset.total`, &total)
		if want := strconv.FormatInt(e.sqlCount("SELECT COUNT(*) FROM members"), 10); total != want {
			t.Errorf("total %s; the database has %s", total, want)
		}
		var rows int
		b.Eval(`document.querySelectorAll('tr[data-member]').length`, &rows)
		if want := min(50, int(e.sqlCount("SELECT COUNT(*) FROM members"))); rows != want {
			t.Errorf("%d rows; want %d", rows, want)
		}
		shot("03-members")
		b.Navigate(base + "/admin/members?chat=customers-club&show=in")
		b.Eval(`document.querySelector('[data-total]').dataset.total`, &total)
		if want := strconv.FormatInt(e.sqlCount("SELECT COUNT(*) FROM chat_states WHERE chat_key = 'customers-club' AND in_chat = ?", true), 10); total != want {
			t.Errorf("in customers-club: %s; the database has %s", total, want)
		}
	})

	t.Run("exempt a member", func(t *testing.T) {
		b.T = t
		// Someone queued for removal from Customers Club: exempting them
		// cancels it.
		rs, _, err := e.store.PlannedRemovals(t.Context(), "customers-club", 10)
		if err != nil || len(rs) == 0 {
			t.Fatalf("the seed planned no removal from customers-club (%v)", err)
		}
		id := rs[0].MemberExt
		b.Navigate(base + "/admin/members/" + id)
		if got := b.Text(`tr[data-chat="customers-club"]`); !strings.Contains(got, "Removing") {
			t.Errorf("%s in customers-club shows %q; want Removing", id, got)
		}
		b.Submit(`form[data-action="exempt"][data-chat="customers-club"]`)
		if got := b.Text("[data-notice]"); !strings.Contains(got, "Exemption saved") {
			t.Errorf("notice %q", got)
		}
		if got := b.Text(`tr[data-chat="customers-club"]`); !strings.Contains(got, "Exempt") {
			t.Errorf("after exempting: %q", got)
		}
		if n := e.sqlCount("SELECT COUNT(*) FROM overrides AS o JOIN members AS m ON m.id = o.member_id WHERE m.external_id = ? AND o.chat_key = 'customers-club' AND o.mode = 'always'", id); n != 1 {
			t.Errorf("%d overrides in the database; want 1", n)
		}
		if n := e.sqlCount("SELECT COUNT(*) FROM events WHERE member_ext = ? AND kind = ? AND actor = ?", id, models.EventOverrideSet, "dashboard:api-key"); n != 1 {
			t.Errorf("%d override events by dashboard:api-key; want 1", n)
		}
		shot("04-member")
	})

	t.Run("removals", func(t *testing.T) {
		b.T = t
		b.Navigate(base + "/admin/removals")
		var rows int
		b.Eval(`document.querySelectorAll('tr[data-removal]').length`, &rows)
		if want := e.sqlCount("SELECT COUNT(*) FROM actions WHERE kind = 'remove' AND status IN ('pending','running')"); int64(rows) != want || want == 0 {
			t.Errorf("%d removals listed; the database has %d (and should have some)", rows, want)
		}
		b.Text(`[data-dryrun="off"]`)
		shot("05-removals")
	})

	t.Run("audit", func(t *testing.T) {
		b.T = t
		b.Navigate(base + "/admin/audit")
		var first string
		b.Eval(`document.querySelector('tr[data-event]').dataset.event`, &first)
		if want := strconv.FormatInt(e.sqlCount("SELECT MAX(id) FROM events"), 10); first != want {
			t.Errorf("first event #%s; the newest in the database is #%s", first, want)
		}
		shot("06-audit")
		b.Navigate(base + "/admin/audit?kind=" + models.EventOverrideSet)
		var rows int
		b.Eval(`document.querySelectorAll('tr[data-event]').length`, &rows)
		if want := e.sqlCount("SELECT COUNT(*) FROM events WHERE kind = ?", models.EventOverrideSet); int64(rows) != want {
			t.Errorf("%d override events listed; the database has %d", rows, want)
		}
	})

	t.Run("charts", func(t *testing.T) {
		b.T = t
		b.Navigate(base + "/admin/charts")
		var legend []string
		b.Eval(`[...document.querySelectorAll('.chart')[0].querySelectorAll('.legend-item')].map(e => e.textContent.trim())`, &legend)
		for i, chat := range []string{"Webmasters Pro", "Customers Club", "Staff Room"} {
			key := []string{"webmasters-pro", "customers-club", "staff-room"}[i]
			want := fmt.Sprintf("%s now %s", chat, formatCount(e.sqlCount("SELECT COUNT(*) FROM chat_states WHERE chat_key = ? AND in_chat = ?", key, true)))
			if i >= len(legend) || legend[i] != want {
				t.Errorf("legend %v; want %q", legend, want)
			}
		}
		var bars int
		b.Eval(`document.querySelectorAll('.chart rect.bar').length`, &bars)
		if bars == 0 {
			t.Error("no bars in the actions chart")
		}
		shot("07-charts")
	})

	t.Run("userbots", func(t *testing.T) {
		b.T = t
		b.Navigate(base + "/admin/userbots")
		var rows int
		b.Eval(`document.querySelectorAll('tr[data-account]').length`, &rows)
		if rows != 2 {
			t.Errorf("%d accounts listed; want 2", rows)
		}
		shot("08-userbots")
	})

	t.Run("sign out", func(t *testing.T) {
		b.T = t
		b.Navigate(base + "/admin/")
		b.Submit(`form[action="/admin/logout"]`)
		var path string
		b.Eval("location.pathname", &path)
		if path != "/admin/login" {
			t.Errorf("after signing out at %s", path)
		}
		b.Navigate(base + "/admin/")
		b.Eval("location.pathname", &path)
		if path != "/admin/login" {
			t.Errorf("signed out, /admin/ showed %s", path)
		}
	})
	t.Logf("screenshots in %s", dir)
}

func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
