package bot_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_AdminCommands: a bound chat's creator gets answers about the
// chat they administer and its members, a site admin about every chat and
// member; anyone else is told no. /sync is the site admins'.
func TestBot_AdminCommands(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		sam := h.person("Sam", "site_admin")
		h.opts.admins = []int64{sam.ID}
		h = h.restart()
		owner := h.person("Owner", "owner_tg")
		h.group(owner, "Webmasters Pro", "webmasters-pro")
		h.put("ann", 150, "webmasters")
		h.put("ben", 50, "webmasters")
		ann := h.person("Ann", "ann_tg")
		h.link("ann", ann)
		if _, err := h.sb.Join(ann.ID, h.joinLink("webmasters-pro")); err != nil {
			t.Fatal(err)
		}
		h.eventually("ann in", func() bool { return h.state("ann", "webmasters-pro").InChat })
		nobody := h.person("Nobody", "")

		for _, tc := range []struct {
			who  int64
			cmd  string
			want []string
		}{
			{owner.ID, "/status", []string{"Webmasters Pro (webmasters-pro)", "in: 1", "should be in: 1", "waiting to link: 0"}},
			{owner.ID, "/status customers-club", []string{"you administer no gated chat \"customers-club\""}},
			{owner.ID, "/status nosuch", []string{"you administer no gated chat \"nosuch\""}},
			{sam.ID, "/status nosuch", []string{"no gated chat \"nosuch\"", "webmasters-pro, customers-club"}},
			{owner.ID, "/rules", []string{"Webmasters Pro (webmasters-pro): webmasters with karma >= 100"}},
			{owner.ID, "/who @ann_tg", []string{"ann: karma 150", "webmasters-pro: member"}},
			{owner.ID, "/who ben", []string{"No member ben among the chats you administer"}}, // not one of theirs
			{sam.ID, "/who ben", []string{"ben: karma 50", "not linked"}},
			{owner.ID, "/who nosuch", []string{"No member nosuch"}},
			{owner.ID, "/exempt ben webmasters-pro", []string{"ben in webmasters-pro: needs_link", "manual override: always in"}},
			{owner.ID, "/unexempt ben webmasters-pro", []string{"ben in webmasters-pro: not_eligible"}},
			{owner.ID, "/exempt ben", []string{"Usage: /exempt"}},
			{owner.ID, "/pending", []string{"Webmasters Pro (webmasters-pro): no removals held (dry run is off"}},
			{owner.ID, "/confirm", []string{"Webmasters Pro (webmasters-pro): 0 removal(s) confirmed", "was not in dry run"}}, // it never began
			{nobody.ID, "/confirm", []string{"not an admin of any gated chat"}},
			{owner.ID, "/sync", []string{"Only the site's admins"}},
			{sam.ID, "/sync", []string{"Re-planned 2 members"}},
			{nobody.ID, "/status", []string{"not an admin of any gated chat"}},
			{sam.ID, "/status customers-club", []string{"Customers Club (customers-club)", "not bound to a Telegram group yet"}},
			{sam.ID, "/pending", []string{"(webmasters-pro): no removals held", "(customers-club): no removals held"}},
			{nobody.ID, "/exempt ben webmasters-pro", []string{"you administer no gated chat \"webmasters-pro\""}},
		} {
			if tc.who == nobody.ID {
				h.clock.Advance(time.Minute) // no member: one answer a minute
			}
			got := h.reply(tc.who, tc.cmd)
			contains(t, tc.cmd, got, tc.want...)
		}
		if st := h.state("ben", "webmasters-pro"); st.State != string(gate.StateNotEligible) {
			t.Errorf("ben after /exempt and /unexempt: %s", st.State)
		}
	})
}

// TestBot_Commands: the bot registers its commands per scope: people's in
// private chats, /karma in groups (is_ephemeral), /status, /who, /bind and
// /unbind for group admins, everything for the site admins.
func TestBot_Commands(t *testing.T) {
	h := newHarness(t, "sqlite:"+t.TempDir()+"/k.db", harnessOptions{})
	sam := h.person("Sam", "site_admin")
	h.opts.admins = []int64{sam.ID}
	h = h.restart()
	h.reply(sam.ID, "/help") // Telegram knows a chat with sam from now on
	h.eventually("commands registered", func() bool {
		scopes := map[string]bool{}
		for _, c := range h.sb.Calls() {
			if c.Method != "setMyCommands" || c.Error != "" {
				continue
			}
			raw, err := json.Marshal(c.Params)
			if err != nil {
				t.Fatal(err)
			}
			var p struct {
				Scope    any `json:"scope"`
				Commands any `json:"commands"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatal(err)
			}
			scope, cmds := fmt.Sprint(p.Scope), fmt.Sprint(p.Commands)
			// /karma (and an admin's /status, /who) answered to the
			// asker alone: is_ephemeral (Bot API 10.2).
			karma := strings.Contains(cmds, `{"command":"karma","description":"Your standing in this group (only you see it)","is_ephemeral":true}`)
			switch {
			case strings.Contains(scope, "all_private_chats"):
				scopes["private"] = true
			case strings.Contains(scope, "all_group_chats"):
				scopes["groups"] = karma
			case strings.Contains(scope, "all_chat_administrators"):
				scopes["admins"] = karma && strings.Contains(cmds, `"command":"status"`) && strings.Contains(cmds, `"command":"bind"`)
			case strings.Contains(scope, fmt.Sprint(sam.ID)):
				scopes["sam"] = true
			}
		}
		return scopes["private"] && scopes["groups"] && scopes["admins"] && scopes["sam"]
	})
}
