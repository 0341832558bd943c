package bot_test

import (
	"testing"

	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestBot_BindWithAdminBots: a group whose only other members are admin
// bots (a moderation bot, say) is empty of people: no dry run. Since Bot
// API 10.1 getChatAdministrators leaves other bots out unless asked
// (return_bots), and they were counted as people inside.
func TestBot_BindWithAdminBots(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		c := sandboxtest.MustChat(t, h.sb, owner.ID, "Webmasters Pro")
		other, _, err := h.sb.World().CreateBot("moderation_bot", "Moderation")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.sb.World().PromoteAdmin(c.ID, owner.ID, other.ID, world.AdminRights{CanDeleteMessages: true}, ""); err != nil {
			t.Fatal(err)
		}
		if err := h.sb.MakeAdmin(c.BotAPIID(), 0, nil); err != nil {
			t.Fatal(err)
		}
		h.sayInGroup(c, owner, "/bind webmasters-pro "+h.bindCode("webmasters-pro"))
		h.eventually("bound", func() bool {
			row, err := h.store.ChatRow(h.ctx, "webmasters-pro")
			return err == nil && row.TgChatID != nil
		})
		if st, err := h.store.ChatDryRun(h.ctx, "webmasters-pro"); err != nil || st.On {
			t.Errorf("dry run on a group of admins and admin bots: %+v, %v", st, err)
		}
	})
}
