package bot_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_StartAudit: the dashboard's "Audit" button (bot.StartAudit) does
// what /audit on does in the group: a one-use invite link made in the
// bound group through the sandbox, the pool account's join queued with it
// and the asker in the audit trail; a chat with no group bound is refused
// with models.ErrNotBound.
func TestBot_StartAudit(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{rules: strangerRules})
		owner := h.person("Owner", "owner_tg")
		if err := h.bot.StartAudit(h.ctx, "webmasters-pro", "dashboard:admin"); !errors.Is(err, models.ErrNotBound) {
			t.Fatalf("unbound chat: %v, want ErrNotBound", err)
		}
		chat := h.existingGroup(owner, h.person("Sam", "sam_tg"))
		before := len(h.sb.Calls())
		if err := h.bot.StartAudit(h.ctx, "webmasters-pro", "dashboard:admin"); err != nil {
			t.Fatal(err)
		}
		var link string
		for _, c := range h.sb.Calls()[before:] {
			if c.Method != "createChatInviteLink" || c.Error != "" {
				continue
			}
			p := fmt.Sprint(c.Params)
			if want := fmt.Sprint(chat.BotAPIID()); !strings.Contains(p, want) || !strings.Contains(p, "member_limit") {
				t.Fatalf("createChatInviteLink %s: want chat %s, member_limit 1", p, want)
			}
			link = fmt.Sprint(c.Result)
		}
		if link == "" {
			t.Fatal("no invite link made in the group")
		}
		evs, err := h.store.Events(h.ctx, models.EventFilter{Kind: models.EventAuditAsked})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Actor != "dashboard:admin" {
			t.Fatalf("audit trail: %+v, want one audit asked by dashboard:admin", evs)
		}
	})
}
