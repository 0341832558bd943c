package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

const doctorRules = `chats:
  webmasters-pro:
    title: Webmasters Pro
    groups: [webmasters]
    min_karma: 100
    tag: "{{karma}}"
`

// doctor runs karmagate doctor with serve's environment and extra; it
// returns the output and the exit code.
func (e *e2e) doctor(extra ...string) (string, int) {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "doctor")
	cmd.Dir, cmd.Env = e.dir, append(append([]string{}, e.env...), extra...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	e.t.Fatalf("karmagate doctor: %v\n%s", err, out)
	return "", -1
}

// redLines are the doctor's failed checks, each with its fix.
func redLines(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(out, "\n")
	var red []string
	for i, l := range lines {
		if !strings.HasPrefix(l, "✗ ") {
			continue
		}
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "    → ") {
			t.Errorf("a red line without its fix: %q\n%s", l, out)
		}
		red = append(red, l)
	}
	return red
}

// TestE2E_Doctor drives karmagate doctor against the sandbox: all green
// for a setup serve made (a userbot account logged in, the group it
// created with the bot as admin), then exactly one red line with its fix
// for each thing that breaks it.
func TestE2E_Doctor(t *testing.T) {
	e := newUserbotE2E(t, doctorRules)
	e.person("Ulla", "+31622220001", "")
	e.serve()
	var step struct {
		ID    int64  `json:"id"`
		State string `json:"state"`
	}
	if st := e.admin("POST", "/api/v1/userbots", map[string]any{"phone": "+31622220001"}, &step); st != 201 {
		t.Fatalf("POST /api/v1/userbots: %d %+v", st, step)
	}
	if st := e.admin("POST", fmt.Sprintf("/api/v1/userbots/%d/code", step.ID), map[string]any{"code": e.code("+31622220001", "")}, &step); st != 200 || step.State != "ready" {
		t.Fatalf("the code: %d %+v", st, step)
	}
	var chatID int64
	e.eventually("serve to create the group", func() bool {
		for _, c := range e.chats() {
			if c.Key == "webmasters-pro" && c.ChatID != nil {
				chatID = *c.ChatID
				return true
			}
		}
		return false
	})
	e.kill()

	out, code := e.doctor()
	if code != 0 || len(redLines(t, out)) != 0 || !strings.Contains(out, "ready for production") {
		t.Fatalf("doctor on a correct setup: exit %d\n%s", code, out)
	}
	for _, want := range []string{"✓ bot token", "✓ database", "✓ chat webmasters-pro", "✓ userbot 1", "✓ privacy mode", "✓ clock", "✓ webhook"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor on a correct setup: no %q\n%s", want, out)
		}
	}

	setRights := func(rights map[string]bool) {
		t.Helper()
		body := map[string]any{}
		if rights != nil {
			body["rights"] = rights
		}
		e.sandbox("POST", fmt.Sprintf("/sandbox/chats/%d/admins", chatID), body, nil)
	}
	allBut := func(off string) map[string]bool {
		r := map[string]bool{"can_manage_chat": true, "can_delete_messages": true, "can_restrict_members": true,
			"can_invite_users": true, "can_pin_messages": true, "can_change_info": true, "can_manage_tags": true}
		delete(r, off)
		return r
	}
	for _, tt := range []struct {
		name    string
		env     []string
		breakIt func()
		mendIt  func()
		red     string // in the one red line
		fix     string // in its fix
	}{
		{name: "wrong token", env: []string{"TELEGRAM_BOT_TOKEN=4242:AAnot-the-bot-token-at-all-000000000"},
			red: "✗ bot token: Telegram refused TELEGRAM_BOT_TOKEN", fix: "@BotFather"},
		{name: "bot not admin", breakIt: func() { setRights(map[string]bool{}) }, mendIt: func() { setRights(nil) },
			red: "✗ chat webmasters-pro: \"Webmasters Pro\"", fix: "Add administrator"},
		{name: "no invite right", breakIt: func() { setRights(allBut("can_invite_users")) }, mendIt: func() { setRights(nil) },
			red: "without Invite users via link", fix: "turn on Invite users via link"},
		{name: "no tags right", breakIt: func() { setRights(allBut("can_manage_tags")) }, mendIt: func() { setRights(nil) },
			red: "without Manage tags", fix: "turn on Manage tags"},
		{name: "unreachable database", env: []string{"KARMAGATE_DB=mysql:karmagate:pw@tcp(127.0.0.1:1)/karmagate?parseTime=true&timeout=2s"},
			red: "✗ database: cannot open the database", fix: "KARMAGATE_DB"},
		{name: "unauthorized userbot", breakIt: func() { e.setUserbotState(step.ID, models.UserbotUnauthorized) },
			mendIt: func() { e.setUserbotState(step.ID, models.UserbotReady) },
			red:    "✗ userbot 1: +31…01: Telegram ended its session", fix: "karmagate userbot login"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.breakIt != nil {
				tt.breakIt()
				defer tt.mendIt()
			}
			out, code := e.doctor(tt.env...)
			red := redLines(t, out)
			if code != 1 || len(red) != 1 || !strings.Contains(red[0], tt.red) {
				t.Fatalf("exit %d, red lines %q; want exit 1 and one red line with %q\n%s", code, red, tt.red, out)
			}
			_, after, _ := strings.Cut(out, red[0]+"\n")
			if fix, _, _ := strings.Cut(after, "\n"); !strings.Contains(fix, tt.fix) {
				t.Errorf("the fix %q does not say %q", fix, tt.fix)
			}
		})
	}
	if out, code := e.doctor(); code != 0 {
		t.Fatalf("doctor once everything is mended: exit %d\n%s", code, out)
	}
}

// setUserbotState records an account's state as the pool does when
// Telegram answers it (AUTH_KEY_UNREGISTERED, say), with serve stopped.
func (e *e2e) setUserbotState(id int64, state string) {
	e.t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, e.vars["KARMAGATE_DB"], models.OpenOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	ubs := models.NewStore(db, &gate.Rules{}, models.Options{}).Userbots()
	if state == models.UserbotReady {
		err = db.Gorm().WithContext(ctx).Model(&models.Userbot{}).Where("id = ?", id).Updates(map[string]any{"state": state, "last_error": ""}).Error
	} else {
		err = ubs.SetUserbotLost(ctx, id, state, "AUTH_KEY_UNREGISTERED", "test")
	}
	if err != nil {
		e.t.Fatal(err)
	}
}
