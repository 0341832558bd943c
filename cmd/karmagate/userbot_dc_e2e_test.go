package main

import (
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
}
