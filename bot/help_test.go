package bot_test

import (
	"strings"
	"testing"

	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_HelpByWhoAsks (issue 17 #4): /help offers each person the
// commands they may use — a member /karma and no /status that would
// refuse them, an admin of a bound group its admin commands, a site admin
// theirs too.
func TestBot_HelpByWhoAsks(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		sam := h.person("Sam", "site_admin")
		h.opts.admins = []int64{sam.ID}
		h = h.restart()
		owner := h.person("Owner", "owner_tg")
		h.group(owner, "Webmasters Pro", "webmasters-pro")
		h.put("ann", 150, "webmasters")
		ann := h.person("Ann", "ann_tg")
		h.link("ann", ann)
		h.idle() // the join link follows the linking answer, once the bot has looked
		for _, tc := range []struct {
			who      string
			id       int64
			want     []string
			wantNone []string
		}{
			{"a member", ann.ID, []string{"/start", "/unlink", "/karma"}, []string{"/status", "/pending", "/sync"}},
			{"a group admin", owner.ID, []string{"/start", "/status", "/pending", "/confirm", "/who"}, []string{"/sync", "/setup"}},
			{"a site admin", sam.ID, []string{"/status", "/pending", "/sync", "/setup", "/bind"}, nil},
		} {
			got := h.reply(tc.id, "/help")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s's /help lacks %s:\n%s", tc.who, w, got)
				}
			}
			for _, w := range tc.wantNone {
				if strings.Contains(got, w) {
					t.Errorf("%s's /help offers %s:\n%s", tc.who, w, got)
				}
			}
		}
	})
}
