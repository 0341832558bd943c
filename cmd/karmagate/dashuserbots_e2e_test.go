package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

var (
	csrfRE    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	accountRE = regexp.MustCompile(`data-account="(\d+)"`)
)

// TestE2E_DashboardUserbots (issue 17 #2): serve hands its userbot pool to
// the dashboard: the Userbots page lists an account logged in from the
// terminal, and a second one logs in through the page's own form (phone,
// then the code); both are shown ready. (It said "No accounts" while three
// were ready.)
func TestE2E_DashboardUserbots(t *testing.T) {
	t.Parallel()
	e := newUserbotE2E(t, threeChatRules)
	// A named admin: the website's API key may look at the pool, not log
	// accounts in.
	hash, err := bcrypt.GenerateFromPassword([]byte("ops-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e.env = append(e.env, "KARMAGATE_ADMIN_USERS=ops:"+string(hash))
	e.person("Ops", "+31611119101", "")
	e.person("Form", "+31611119102", "")
	e.serve()
	e.cliLogin("+31611119101", "")

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	base := "http://" + e.listen
	get := func(path string) string {
		t.Helper()
		res, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d\n%s", path, res.StatusCode, b)
		}
		return string(b)
	}
	post := func(path string, form url.Values) {
		t.Helper()
		res, err := c.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("POST %s: %d\n%s", path, res.StatusCode, b)
		}
	}
	post("/admin/login", url.Values{"name": {"ops"}, "secret": {"ops-password"}})
	// The overview names the instances running (issue 15).
	if ov := get("/admin/"); !strings.Contains(ov, `data-instances="1"`) {
		t.Errorf("the overview does not list the one instance running")
	}
	page := get("/admin/userbots")
	if strings.Contains(page, `data-userbots="none"`) || strings.Contains(page, `data-userbots="empty"`) {
		t.Fatalf("the Userbots page shows no account while one is ready:\n%s", page)
	}
	if strings.Count(page, `data-account="`) != 1 || !strings.Contains(page, "Ready") {
		t.Fatalf("the Userbots page does not list the ready account:\n%s", page)
	}
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	post("/admin/userbots/login", url.Values{"csrf": {m[1]}, "phone": {"+31611119102"}})
	page = get("/admin/userbots")
	if !strings.Contains(page, `data-action="code"`) {
		t.Fatalf("no code form after the phone:\n%s", page)
	}
	var id string
	for _, a := range accountRE.FindAllStringSubmatch(page, -1) {
		id = a[1] // the newest is listed last
	}
	post("/admin/userbots/"+id+"/code", url.Values{"csrf": {m[1]}, "code": {e.code("+31611119102", "")}})
	page = get("/admin/userbots")
	if n := strings.Count(page, `<span class="badge ok">Ready</span>`); n != 2 {
		t.Errorf("%d accounts shown ready, want 2:\n%s", n, page)
	}
	if strings.Contains(page, "+31611119102") {
		t.Error("the page shows a whole phone number")
	}
}
