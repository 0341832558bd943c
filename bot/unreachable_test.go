package bot_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// messagesTo counts the sendMessage calls the bot made to chatID, answered
// or refused.
func (h *harness) messagesTo(chatID int64) int {
	n := 0
	want := strconv.FormatInt(chatID, 10)
	for _, c := range h.sb.Calls() {
		if c.API != "bot" || c.Method != "sendMessage" {
			continue
		}
		if p, ok := c.Params.(map[string]string); ok && p["chat_id"] == want {
			n++
		}
	}
	return n
}

// TestBot_Unreachable: a person Telegram says the bot cannot message is
// not messaged again until they write to it (issue 14 #4), and the reason
// is Telegram's: blocked, or never started (seen in a group) — not
// "blocked" for everyone.
func TestBot_Unreachable(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		sam := h.person("Sam", "site_admin")
		h.opts.admins = []int64{sam.ID}
		h = h.restart()
		owner := h.person("Owner", "owner_tg")
		chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
		link := h.joinLink("webmasters-pro")

		h.put("blk", 150, "webmasters")
		blk := h.person("Blocker", "")
		h.link("blk", blk)
		if _, err := h.sb.Join(blk.ID, link); err != nil {
			t.Fatal(err)
		}
		h.eventually("blk in", func() bool { return h.inChat(chat.BotAPIID())[blk.ID] })
		h.idle()

		// Blocked: the removal notice is refused and recorded.
		if err := h.sb.BlockBot(blk.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.AddKarma(h.ctx, "blk", -100, "test"); err != nil {
			t.Fatal(err)
		}
		h.pool.Wake()
		h.eventually("blk removed", func() bool { return !h.inChat(chat.BotAPIID())[blk.ID] })
		h.idle()
		u, err := h.store.UnreachableFor(h.ctx, blk.ID)
		if err != nil || u.Reason != models.UnreachableBlocked {
			t.Fatalf("blocker recorded as %+v, %v; want unreachable, blocked", u, err)
		}
		tried := h.messagesTo(blk.ID)
		if who := h.reply(sam.ID, "/who blk"); !strings.Contains(who, "they blocked the bot") {
			t.Errorf("/who blk = %q, want why the bot cannot message them", who)
		}

		// They qualify again: the bot does not try to tell them.
		if _, err := h.store.AddKarma(h.ctx, "blk", 100, "test"); err != nil {
			t.Fatal(err)
		}
		h.pool.Wake()
		h.eventually("blk invited", func() bool {
			st := h.state("blk", "webmasters-pro").State
			return st == "invited" || st == "eligible"
		})
		h.idle()
		if n := h.messagesTo(blk.ID); n != tried {
			t.Errorf("%d messages tried to a person recorded as having blocked the bot, want none", n-tried)
		}

		// They unblock and write: reachable again, and answered.
		if err := h.sb.BlockBot(blk.ID, false); err != nil {
			t.Fatal(err)
		}
		h.reply(blk.ID, "/help")
		if _, err := h.store.UnreachableFor(h.ctx, blk.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("after writing to the bot: %v, want reachable", err)
		}

		// Seen in the group, never started the bot: "can't initiate", not
		// "blocked".
		stranger := h.person("Stranger", "")
		if _, _, err := h.sb.World().AddMembers(chat.ID, owner.ID, []int64{stranger.ID}); err != nil {
			t.Fatal(err)
		}
		h.eventually("the stranger removed", func() bool { return !h.inChat(chat.BotAPIID())[stranger.ID] })
		h.eventually("the stranger recorded", func() bool {
			u, err := h.store.UnreachableFor(h.ctx, stranger.ID)
			return err == nil && u.Reason == models.UnreachableNotStarted
		})
	})
}
