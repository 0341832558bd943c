package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cliLoginQR runs karmagate userbot login --qr as its own process; the
// sandbox person userID scans the code it shows (the URL printed under
// it).
func (e *e2e) cliLoginQR(userID int64) string {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "userbot", "login", "--qr")
	cmd.Dir, cmd.Env = e.dir, e.env
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	loginURL := regexp.MustCompile(`tg://login\?token=[A-Za-z0-9_=-]+`)
	var url string
	e.eventually("a QR login URL", func() bool {
		url = loginURL.FindString(out.String())
		return url != ""
	})
	e.sandbox("POST", "/sandbox/users/"+strconv.FormatInt(userID, 10)+"/scan", map[string]any{"url": url}, nil)
	select {
	case err := <-done:
		if err != nil {
			e.t.Fatalf("userbot login --qr: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		e.t.Fatalf("userbot login --qr did not finish\n%s", out.String())
	}
	if !strings.Contains(out.String(), "is ready") {
		e.t.Fatalf("userbot login --qr said:\n%s", out.String())
	}
	return out.String()
}

// TestE2E_UserbotLoginOtherDC: accounts living on other data centers than
// the one karmagate starts on (TELEGRAM_DC_ADDR is DC 2) log in through
// the real binary, one by code and 2FA (PHONE_MIGRATE_4), one by QR code
// (auth.loginTokenMigrateTo to DC 5), and serve connects them: they
// create the rules' groups.
func TestE2E_UserbotLoginOtherDC(t *testing.T) {
	e := newUserbotE2E(t, threeChatRules)
	var dora, quinn sbUser
	e.sandbox("POST", "/sandbox/users", map[string]any{"first_name": "Dora", "phone": "+31611110041", "password": "pw-dc-four", "dc": 4}, &dora)
	e.sandbox("POST", "/sandbox/users", map[string]any{"first_name": "Quinn", "phone": "+31611110051", "dc": 5}, &quinn)
	e.cliLogin("+31611110041", "pw-dc-four")
	e.cliLoginQR(quinn.ID)
	if e.mtCalls("auth.importLoginToken") == 0 {
		t.Error("the QR login imported no token on DC 5")
	}
	e.serve()
	e.eventually("three groups created by the accounts", func() bool {
		n := 0
		for _, c := range e.chats() {
			if c.ChatID != nil {
				n++
			}
		}
		return n == 3
	})
	us := e.userbots()
	if len(us) != 2 || us[0].State != "ready" || us[1].State != "ready" {
		t.Fatalf("GET /api/v1/userbots: %+v", us)
	}
	// The dashboard shows them too (signed in with the API key, as the
	// sandbox's env file allows).
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm("http://"+e.listen+"/admin/login", url.Values{"secret": {e.vars["KARMAGATE_API_KEY"]}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	req, err := http.NewRequest("GET", "http://"+e.listen+"/admin/userbots", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies() {
		req.AddCookie(c)
	}
	res, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || strings.Count(string(page), ">Ready<") != 2 {
		t.Fatalf("GET /admin/userbots: %d, %d accounts ready\n%s", res.StatusCode, strings.Count(string(page), ">Ready<"), page)
	}
}
