package bot_test

import (
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_NoticeRecordedInItsTurn: a message waiting for its turn under
// Telegram's pace is not recorded as begun, so a crash while it waits
// loses nothing: after the restart it goes out, once. (Found by
// cmd/karmagate's TestE2E_Crash: every answer queued behind the 30 a
// second was recorded before its wait, and a kill -9 lost them all.)
func TestBot_NoticeRecordedInItsTurn(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		// One message every 20 s overall: the second waits its turn.
		h := newHarness(t, spec, harnessOptions{limits: bot.Limits{Global: rate.Every(20 * time.Second)}})
		first, second := h.person("First", "first_tg"), h.person("Second", "second_tg")
		h.reply(first.ID, "/help")
		if _, err := h.sb.SendMessage(second.ID, 0, "/help"); err != nil {
			t.Fatal(err)
		}
		h.eventually("the second /help taken up", func() bool {
			n, err := h.store.UpdateCounts(h.ctx)
			return err == nil && n[models.UpdateRunning] == 1
		})
		// Waiting for its turn, the answer is not recorded: a kill -9 now
		// would leave nothing that stops it from being sent later.
		for range 20 {
			ns, err := h.store.Notices(h.ctx, second.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(ns) != 0 {
				t.Fatalf("the answer waiting for its turn is recorded already: %+v", ns)
			}
			time.Sleep(25 * time.Millisecond)
		}
		if got := h.received(second.ID); len(got) != 0 {
			t.Fatalf("answered before its turn: %q", got)
		}
		h = h.restart() // the process dies while the message waits
		h.eventually("the answer after the restart", func() bool { return len(h.received(second.ID)) > 0 })
		h.idle()
		if got := h.received(second.ID); len(got) != 1 {
			t.Errorf("after the restart the second person got %d answers, want 1: %q", len(got), got)
		}
	})
}

// TestBot_JoinLinkKeepsAskingAfterRestart: the bot checks its join link at
// start (and every ten minutes) with editChatInviteLink, which sets every
// setting of the link: the link must still create join requests after it,
// or anyone holding it walks in. (Found by cmd/karmagate's TestE2E_Crash:
// after the first restart people who never qualified joined directly.)
func TestBot_JoinLinkKeepsAskingAfterRestart(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		chat := h.group(h.person("Owner", "owner_tg"), "Webmasters Pro", "webmasters-pro")
		link := h.joinLink("webmasters-pro")
		edits := func() int {
			n := 0
			for _, c := range h.sb.World().Calls() {
				if c.Method == "editChatInviteLink" && c.Error == "" {
					n++
				}
			}
			return n
		}
		before := edits()
		h = h.restart()
		h.eventually("the join link checked at start", func() bool { return edits() > before })
		if got := h.joinLink("webmasters-pro"); got != link {
			t.Fatalf("the join link changed from %s to %s", link, got)
		}
		stranger := h.person("Stranger", "stranger_tg")
		res, err := h.sb.Join(stranger.ID, link)
		if err != nil {
			t.Fatal(err)
		}
		if res.Result != "requested" {
			t.Fatalf("a stranger opening the checked join link: %+v, want a join request", res)
		}
		h.eventually("the stranger declined and told", func() bool { return len(h.received(stranger.ID)) == 1 })
		if h.inChat(chat.BotAPIID())[stranger.ID] {
			t.Error("the stranger is in the chat")
		}
	})
}
