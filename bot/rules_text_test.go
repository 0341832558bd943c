package bot_test

import (
	"strings"
	"testing"

	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_RulesSayDurationsAsWritten: /rules writes a chat's grace as the
// rules file does ("grace 24h"), not as Go prints it ("24h0m0s").
func TestBot_RulesSayDurationsAsWritten(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{rules: `
groups: [webmasters]
chats:
  webmasters-pro:
    title: Webmasters Pro
    groups: [webmasters]
    min_karma: 100
    grace: 24h
`})
		owner := h.person("Owner", "owner_tg")
		h.group(owner, "Webmasters Pro", "webmasters-pro")
		got := h.reply(owner.ID, "/rules")
		if !strings.Contains(got, "grace 24h,") || strings.Contains(got, "24h0m0s") {
			t.Errorf("/rules = %q, want the grace written as 24h", got)
		}
	})
}
