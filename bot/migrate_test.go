package bot_test

import (
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_BasicGroupUpgrade: a chat bound to a basic group follows it when
// Telegram upgrades it to a supergroup (issue 14 #2): rebound to the new
// id with its members' states kept and an audit event, and the gate goes
// on working there (a member who drops below is removed from the
// supergroup). Before, the chat stayed on the old id and every call to it
// was a permanent refusal.
func TestBot_BasicGroupUpgrade(t *testing.T) {
	for _, tt := range []struct {
		name string
		// missed: the bot is down during the upgrade and its updates
		// expire (a quiet week), so that only refused calls tell it.
		missed bool
	}{
		{name: "told by the service messages"},
		{name: "told by a refused call", missed: true},
	} {
		t.Run(tt.name, func(t *testing.T) { testBasicGroupUpgrade(t, tt.missed) })
	}
}

func testBasicGroupUpgrade(t *testing.T, missed bool) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		basic, err := h.sb.CreateBasicGroup(owner.ID, "Small Webmasters")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.sb.MakeAdmin(basic.BotAPIID(), 0, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := h.sb.SendMessage(owner.ID, basic.BotAPIID(), "/bind webmasters-pro "+h.bindCode("webmasters-pro")); err != nil {
			t.Fatal(err)
		}
		h.eventually("bound to the basic group with a join link", func() bool {
			row, err := h.store.ChatRow(h.ctx, "webmasters-pro")
			return err == nil && row.TgChatID != nil && *row.TgChatID == basic.BotAPIID() && row.JoinLink != nil
		})
		h.put("ann", 150, "webmasters")
		ann := h.person("Ann", "")
		h.link("ann", ann)
		if _, err := h.sb.Join(ann.ID, h.joinLink("webmasters-pro")); err != nil {
			t.Fatal(err)
		}
		h.eventually("ann in the basic group", func() bool { return h.inChat(basic.BotAPIID())[ann.ID] })
		h.idle()

		if missed {
			h.stop()
		}
		super, err := h.sb.UpgradeGroup(basic.BotAPIID())
		if err != nil {
			t.Fatal(err)
		}
		if missed {
			h.sb.BotAPI().Quiet(h.sb.Bot().ID)
			h = h.restart()
			// Nothing tells the bot but the answer to its next call there.
			if _, err := h.store.AddKarma(h.ctx, "ann", -100, "test"); err != nil {
				t.Fatal(err)
			}
			h.pool.Wake()
		}
		h.eventually("the chat follows the supergroup", func() bool {
			row, err := h.store.ChatRow(h.ctx, "webmasters-pro")
			return err == nil && row.TgChatID != nil && *row.TgChatID == super.BotAPIID()
		})
		if st := h.state("ann", "webmasters-pro").State; !missed && st != "member" {
			t.Errorf("ann's state after the upgrade: %s, want member (kept)", st)
		}
		evs, err := h.store.Events(h.ctx, models.EventFilter{Chat: "webmasters-pro", Kind: models.EventChatMigrated})
		if err != nil || len(evs) != 1 {
			t.Errorf("migration events: %+v, %v; want one", evs, err)
		}

		if !missed {
			if _, err := h.store.AddKarma(h.ctx, "ann", -100, "test"); err != nil {
				t.Fatal(err)
			}
			h.pool.Wake()
		}
		h.eventually("ann removed from the supergroup", func() bool { return !h.inChat(super.BotAPIID())[ann.ID] })
	})
}
