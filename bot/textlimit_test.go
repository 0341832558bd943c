package bot_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_TextLimits: what the bot renders is cut or cleaned to what
// Telegram takes (issue 14 #5): an answer that echoes a long /who is cut
// to 4096 UTF-16 code units rather than lost to "message is too long",
// and a tag made of a website name with emoji is sent without them rather
// than refused with TAG_EMOJI_NOT_ALLOWED.
func TestBot_TextLimits(t *testing.T) {
	rules := strings.Replace(testRules, "    min_karma: 100\n", "    min_karma: 100\n    tag: \"{{name}}\"\n", 1)
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{rules: rules, tagEvery: 50 * time.Millisecond})
		sam := h.person("Sam", "site_admin")
		h.opts.admins = []int64{sam.ID}
		h = h.restart()

		t.Run("a long echo is cut, not lost", func(t *testing.T) {
			who := strings.Repeat("щ", 4090)
			got := h.reply(sam.ID, "/who "+who)
			if n := len(utf16.Encode([]rune(got))); n > 4096 || !strings.HasSuffix(got, "…") {
				t.Errorf("answer of %d UTF-16 units ending %q, want at most 4096 ending with …", n, got[len(got)-10:])
			}
		})
		t.Run("tags without emoji", func(t *testing.T) {
			owner := h.person("Owner", "owner_tg")
			chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
			name := "Tess ⭐ 🚀"
			h.putMember(models.MemberInput{ID: "tess", Karma: 150, Groups: []string{"webmasters"}, Name: &name})
			tess := h.person("Tess", "")
			h.link("tess", tess)
			if _, err := h.sb.Join(tess.ID, h.joinLink("webmasters-pro")); err != nil {
				t.Fatal(err)
			}
			h.eventually("tess tagged Tess", func() bool {
				ms, err := h.sb.Members(chat.BotAPIID())
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					if m.User.ID == tess.ID {
						return m.Tag == "Tess"
					}
				}
				return false
			})
		})
	})
}
