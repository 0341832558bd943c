package bot_test

import (
	"strings"
	"testing"

	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
)

// TestBot_AnonymousAdmin: /bind, /pending and /confirm from an anonymous
// admin (from @GroupAnonymousBot, sender_chat the group) are answered —
// with why the bot cannot act and what to do instead — never silently
// dropped, and not acted on (issue 14 #3).
func TestBot_AnonymousAdmin(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		c := sandboxtest.MustChat(t, h.sb, owner.ID, "Webmasters Pro")
		for _, cmd := range []string{"/bind webmasters-pro", "/pending", "/confirm"} {
			t.Run(cmd, func(t *testing.T) {
				before := len(h.groupSaid(c))
				if _, err := h.sb.SendAnonymously(owner.ID, c.BotAPIID(), cmd); err != nil {
					t.Fatal(err)
				}
				var got string
				h.eventually("the bot's answer in the group", func() bool {
					said := h.groupSaid(c)
					if len(said) > before {
						got = said[before]
						return true
					}
					return false
				})
				name, _, _ := strings.Cut(strings.TrimPrefix(cmd, "/"), " ")
				if !strings.Contains(got, "anonymously") || !strings.Contains(got, "/"+name) || !strings.Contains(got, "private chat") {
					t.Errorf("answer to %s: %q, want why (anonymous) and what to do (a private chat)", cmd, got)
				}
			})
		}
		row, err := h.store.ChatRow(h.ctx, "webmasters-pro")
		if err == nil && row.TgChatID != nil {
			t.Errorf("an anonymous /bind bound the chat to %d", *row.TgChatID)
		}
	})
}
