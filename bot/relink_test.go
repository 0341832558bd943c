package bot_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// buttons returns the inline buttons (text → callback_data) of the newest
// message from the bot to userID that carries any, with the message.
func (h *harness) buttons(userID int64) (world.Message, map[string]string) {
	h.t.Helper()
	msgs := h.sb.Received(userID)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.FromID != h.bot.ID() || !strings.Contains(m.ReplyMarkup, "inline_keyboard") {
			continue
		}
		mk, err := world.ParseMarkup(m.ReplyMarkup)
		if err != nil {
			h.t.Fatal(err)
		}
		out := map[string]string{}
		for _, row := range mk.InlineKeyboard {
			for _, b := range row {
				out[b.Text] = b.CallbackData
			}
		}
		return m, out
	}
	return world.Message{}, nil
}

// waitButtons waits for a message with inline buttons to userID newer
// than the message id after.
func (h *harness) waitButtons(userID int64, after int) (world.Message, map[string]string) {
	h.t.Helper()
	var m world.Message
	var bs map[string]string
	h.eventually("a message with buttons", func() bool {
		m, bs = h.buttons(userID)
		return bs != nil && m.ID > after
	})
	return m, bs
}

var forgedUpdate atomic.Int64

// forgePress stores a callback_query update as if fromID had pressed a
// button with data on message messageID of chatID's private chat: what a
// client that talks to Telegram directly could send, a button the person
// never saw. The bot must judge it on its own.
func (h *harness) forgePress(fromID, chatID int64, messageID int, data string) {
	h.t.Helper()
	id := 900_000 + forgedUpdate.Add(1)
	raw, err := json.Marshal(map[string]any{
		"update_id": id,
		"callback_query": map[string]any{
			"id": fmt.Sprintf("forged%d", id), "chat_instance": "forged", "data": data,
			"from": map[string]any{"id": fromID, "is_bot": false, "first_name": "Someone"},
			"message": map[string]any{"message_id": messageID, "date": time.Now().Unix(),
				"chat": map[string]any{"id": chatID, "type": "private"}, "text": "x"},
		},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.store.SaveUpdates(h.ctx, []models.Update{{UpdateID: id, Lane: fromID, Kind: "callback_query", Payload: string(raw)}}); err != nil {
		h.t.Fatal(err)
	}
	h.bot.Wake()
	h.eventually("the forged press handled", func() bool {
		c, err := h.store.UpdateCounts(h.ctx)
		return err == nil && c[models.UpdatePending] == 0 && c[models.UpdateRunning] == 0
	})
	h.idle()
}

// press has userID press the button with data under message messageID
// of their private chat with the bot, and waits for the bot to answer the
// press and settle.
func (h *harness) press(userID int64, messageID int, data string) string {
	h.t.Helper()
	q, err := h.sb.Press(userID, 0, messageID, data)
	if err != nil {
		h.t.Fatalf("press %q: %v", data, err)
	}
	var a world.CallbackAnswer
	h.eventually("the press answered", func() bool {
		var ok bool
		a, ok = h.sb.World().CallbackAnswer(q.ID)
		return ok
	})
	h.idle()
	return a.Text
}

// linkedTo fails the test unless member is linked to account.
func (h *harness) linkedTo(member string, account int64) {
	h.t.Helper()
	v := h.member(member)
	if v.Member.TgUserID == nil || *v.Member.TgUserID != account {
		h.t.Fatalf("%s linked to %v, want %d", member, v.Member.TgUserID, account)
	}
}

// TestBot_Relink is attack 4 of issue 13: a deep link issued for a member
// who is linked, used by another Telegram account, moves nothing until the
// account linked now confirms with a button only it can press.
func TestBot_Relink(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		chat := h.group(owner, "Webmasters Pro", "webmasters-pro")
		h.put("alice", 150, "webmasters")
		alice := h.person("Alice", "alice_tg")
		mallory := h.person("Mallory", "mallory_tg")
		contains(t, "alice links", h.link("alice", alice), "Linked")
		if res, err := h.sb.Join(alice.ID, h.joinLink("webmasters-pro")); err != nil || res.Result != "requested" {
			t.Fatalf("alice joins: %+v, %v", res, err)
		}
		h.eventually("alice in", func() bool { return h.inChat(chat.BotAPIID())[alice.ID] })
		h.idle()
		stays := func(t *testing.T) {
			t.Helper()
			h.idle()
			h.linkedTo("alice", alice.ID)
			if !h.inChat(chat.BotAPIID())[alice.ID] {
				t.Fatalf("alice was removed from the chat")
			}
			if h.inChat(chat.BotAPIID())[mallory.ID] {
				t.Fatalf("mallory is in the chat")
			}
			if st := h.state("alice", "webmasters-pro"); st.State != "member" {
				t.Fatalf("alice's state %s, want member", st.State)
			}
		}

		var refused world.Message
		var refusedButtons map[string]string
		t.Run("a leaked token asks the old account and moves nothing", func(t *testing.T) {
			lastBtn, _ := h.buttons(alice.ID)
			got := h.reply(mallory.ID, "/start "+h.token("alice"))
			contains(t, "mallory told to wait", got, "confirm")
			if strings.Contains(got, "Linked") {
				t.Errorf("mallory told she is linked: %q", got)
			}
			refused, refusedButtons = h.waitButtons(alice.ID, lastBtn.ID)
			contains(t, "alice asked", refused.Text, "Mallory")
			if refusedButtons["Confirm"] == "" || refusedButtons["Refuse"] == "" {
				t.Fatalf("buttons %v, want Confirm and Refuse", refusedButtons)
			}
			for _, d := range refusedButtons {
				if len(d) > 64 {
					t.Errorf("callback_data %q longer than Telegram's 64 bytes", d)
				}
			}
			stays(t)
		})
		t.Run("mallory pressing alice's Confirm moves nothing", func(t *testing.T) {
			h.forgePress(mallory.ID, alice.ID, refused.ID, refusedButtons["Confirm"])
			stays(t)
		})
		t.Run("forged button data moves nothing", func(t *testing.T) {
			d := refusedButtons["Confirm"]
			h.forgePress(alice.ID, mallory.ID, refused.ID, d[:len(d)-2]+"AA")
			// Another request's id under this one's MAC.
			h.forgePress(alice.ID, alice.ID, refused.ID, strings.Replace(d, ":", ":1", 1))
			stays(t)
		})
		t.Run("refuse keeps the link and tells both", func(t *testing.T) {
			before := len(h.received(mallory.ID))
			contains(t, "alice's answer", h.press(alice.ID, refused.ID, refusedButtons["Refuse"]), "Refused")
			h.eventually("mallory told", func() bool { return len(h.received(mallory.ID)) > before })
			contains(t, "mallory told", h.received(mallory.ID)[before], "refused")
			stays(t)
		})
		t.Run("a replayed Confirm after Refuse moves nothing", func(t *testing.T) {
			h.forgePress(alice.ID, alice.ID, refused.ID, refusedButtons["Confirm"])
			stays(t)
		})
		t.Run("a press after the token's lifetime moves nothing", func(t *testing.T) {
			lastBtn, _ := h.buttons(alice.ID)
			got := h.reply(mallory.ID, "/start "+h.token("alice"))
			contains(t, "mallory told to wait", got, "confirm")
			m, bs := h.waitButtons(alice.ID, lastBtn.ID)
			h.clock.Advance(16 * time.Minute)
			contains(t, "late press", h.press(alice.ID, m.ID, bs["Confirm"]), "lapsed")
			h.idle()
			stays(t)
		})
		t.Run("the same account again stays linked quietly", func(t *testing.T) {
			lastBtn, _ := h.buttons(alice.ID)
			contains(t, "alice again", h.link("alice", alice), "Linked")
			stays(t)
			if m, _ := h.buttons(alice.ID); m.ID != lastBtn.ID {
				t.Errorf("alice was asked to confirm her own link: %+v after %+v", m, lastBtn)
			}
		})
		t.Run("confirm moves the member and tells both", func(t *testing.T) {
			alice2 := h.person("Alice", "alice_new")
			lastBtn, _ := h.buttons(alice.ID)
			got := h.reply(alice2.ID, "/start "+h.token("alice"))
			contains(t, "new account told to wait", got, "confirm")
			m, bs := h.waitButtons(alice.ID, lastBtn.ID)
			before2, before := len(h.received(alice2.ID)), len(h.received(alice.ID))
			h.press(alice.ID, m.ID, bs["Confirm"])
			h.eventually("the new account told", func() bool { return len(h.received(alice2.ID)) > before2 })
			contains(t, "new account", strings.Join(h.received(alice2.ID)[before2:], "\n"), "Linked", h.joinLink("webmasters-pro"))
			h.idle()
			h.linkedTo("alice", alice2.ID)
			h.eventually("the old account out of the chat", func() bool { return !h.inChat(chat.BotAPIID())[alice.ID] })
			h.eventually("the old account told", func() bool {
				return strings.Contains(strings.Join(h.received(alice.ID)[before:], "\n"), "another Telegram account")
			})
			// Pressed again: nothing more moves.
			h.forgePress(alice.ID, alice.ID, m.ID, bs["Confirm"])
			h.linkedTo("alice", alice2.ID)
		})
	})
}
