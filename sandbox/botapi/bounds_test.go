package botapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_MaxPendingUpdates: with the clock standing still nothing
// expires, so the queue is capped, oldest dropped first.
func TestServer_MaxPendingUpdates(t *testing.T) {
	e := newEnv(t, func(o *botapiOptions, _ *world.Options) { o.MaxPendingUpdates = 3 })
	alice := e.user("Alice")
	for i := range 5 {
		if _, err := e.w.SendMessage(alice.ID, e.bot.ID, fmt.Sprint("m", i), world.SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var info struct {
		PendingUpdateCount int `json:"pending_update_count"`
	}
	e.mustOK("getWebhookInfo", nil).decode(t, &info)
	if info.PendingUpdateCount != 3 {
		t.Errorf("pending %d, want 3", info.PendingUpdateCount)
	}
	var ups []struct {
		UpdateID int64 `json:"update_id"`
		Message  struct {
			Text string `json:"text"`
		} `json:"message"`
	}
	e.mustOK("getUpdates", nil).decode(t, &ups)
	var texts []string
	var ids []int64
	for _, u := range ups {
		texts = append(texts, u.Message.Text)
		ids = append(ids, u.UpdateID)
	}
	if !slices.Equal(texts, []string{"m2", "m3", "m4"}) || !slices.Equal(ids, []int64{3, 4, 5}) {
		t.Errorf("updates %v %v, want the last three, ids 3 to 5", texts, ids)
	}
}

// TestServer_WorldReset: a reset drops pending updates; update ids keep
// counting, so the bot's offset stays valid.
func TestServer_WorldReset(t *testing.T) {
	e := newEnv(t)
	alice := e.user("Alice")
	if _, err := e.w.SendMessage(alice.ID, e.bot.ID, "before", world.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	e.w.Reset(e.bot.ID)
	var info struct {
		PendingUpdateCount int `json:"pending_update_count"`
	}
	e.mustOK("getWebhookInfo", nil).decode(t, &info)
	if info.PendingUpdateCount != 0 {
		t.Errorf("pending %d after a reset, want 0", info.PendingUpdateCount)
	}
	bob := e.user("Bob")
	if _, err := e.w.SendMessage(bob.ID, e.bot.ID, "after", world.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	ups := e.drain(e.token, map[string]any{"offset": 2})
	if len(ups) != 1 || ups[0].UpdateID != 2 || !strings.Contains(string(ups[0].Message), `"text":"after"`) {
		t.Errorf("updates %+v, want update 2 \"after\"", ups)
	}
	if r := e.call("getMe", nil); !r.OK {
		t.Errorf("the kept bot after a reset: %s", r)
	}
}
