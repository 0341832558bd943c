package bot_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// callsFor counts the bot's calls of method about userID, numbered since
// or later.
func (h *harness) callsFor(method string, userID int64, since int) int {
	n := 0
	want := strconv.FormatInt(userID, 10)
	for _, c := range h.sb.World().CallsSince(since) {
		if p, ok := c.Params.(map[string]string); ok && c.API == "bot" && c.Method == method && p["user_id"] == want {
			n++
		}
	}
	return n
}

// TestBot_ApprovalRefusals: Telegram's refusals of an approval that were
// retried as unknown (issue 14 #6) each get their meaning: the person is
// told when the reason is theirs (too many groups, an account Telegram
// limits), and nothing is retried.
func TestBot_ApprovalRefusals(t *testing.T) {
	tests := []struct {
		refusal string
		told    string // what the person is told, "" for nothing
	}{
		{"USER_CHANNELS_TOO_MUCH", "too many groups"},
		{"USER_BANNED_IN_CHANNEL", "@SpamBot"},
		{"USER_KICKED", ""},
		{"user is an administrator of the chat", ""},
	}
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		h.group(owner, "Webmasters Pro", "webmasters-pro")
		link := h.joinLink("webmasters-pro")
		for i, tt := range tests {
			t.Run(tt.refusal, func(t *testing.T) {
				id := "p" + strconv.Itoa(i)
				h.put(id, 150, "webmasters")
				p := h.person(id, "")
				h.link(id, p)
				h.idle()
				before := len(h.received(p.ID))
				if err := h.sb.Refuse(world.Refusal{Method: "approveChatJoinRequest", Error: tt.refusal, UserID: p.ID}); err != nil {
					t.Fatal(err)
				}
				calls := h.sb.Calls()
				since := calls[len(calls)-1].Seq + 1
				if _, err := h.sb.Join(p.ID, link); err != nil {
					t.Fatal(err)
				}
				if tt.told != "" {
					h.eventually("the person told", func() bool {
						got := h.received(p.ID)
						return len(got) > before && strings.Contains(got[len(got)-1], tt.told)
					})
				}
				h.eventually("the approval tried", func() bool { return h.callsFor("approveChatJoinRequest", p.ID, since) > 0 })
				h.idle()
				if n := h.callsFor("approveChatJoinRequest", p.ID, since); n != 1 {
					t.Errorf("%d approvals tried, want 1 (the refusal is not retried)", n)
				}
				if tt.told == "" && len(h.received(p.ID)) != before {
					t.Errorf("told %q, want nothing", h.received(p.ID)[before:])
				}
			})
		}
	})
}
