package bot_test

import (
	"fmt"

	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_SyncReconciles: /sync runs a full reconcile pass and answers with
// its report; a member whose karma dropped behind karmagate's back (a
// lost update) is found and removed, and the pass is in the audit trail.
func TestBot_SyncReconciles(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{reconcile: true})
		owner := h.person("Owner", "owner_tg")
		h.opts.admins = []int64{owner.ID} // /sync is the site admins'
		h = h.restart()
		c := h.group(owner, "Webmasters Pro", "webmasters-pro")
		h.put("ann", 150, "webmasters")
		h.put("ben", 150, "webmasters")
		ann := h.person("Ann", "ann_tg")
		h.link("ann", ann)
		if _, err := h.sb.Join(ann.ID, h.joinLink("webmasters-pro")); err != nil {
			t.Fatal(err)
		}
		h.eventually("ann in", func() bool { return h.state("ann", "webmasters-pro").InChat })
		// Ann's karma drops without karmagate hearing of it.
		if err := h.store.DB().Gorm().Exec("UPDATE members SET karma = 10 WHERE external_id = ?", "ann").Error; err != nil {
			t.Fatal(err)
		}

		got := h.reply(owner.ID, "/sync")
		contains(t, "/sync", got, "Reconciled: 2 members planned (1 changed)", "0 invites, 1 removals, 0 warnings",
			"0 of 1 chats audited", "not audited: webmasters-pro (no userbot)")
		h.eventually("ann removed from the group", func() bool { return !h.inChat(c.BotAPIID())[ann.ID] })
		evs, err := h.store.Events(h.ctx, models.EventFilter{Kind: models.EventReconciled})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Actor != fmt.Sprintf("bot:%d", owner.ID) {
			t.Fatalf("reconcile events: %+v", evs)
		}
		contains(t, "event", evs[0].Detail, "/sync: 2 members planned (1 changed)")

		// Nothing left to do: the next pass changes nothing.
		contains(t, "/sync again", h.reply(owner.ID, "/sync"), "2 members planned (0 changed); queued 0 invites, 0 removals")
	})
}
