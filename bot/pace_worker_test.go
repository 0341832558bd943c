package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestBot_PersonsPaceHoldsNoWorker: a worker does not sleep out one
// person's pace (about a message a second to one person) while other
// work waits. One worker, three messages queued for Ann, then one for
// Ben: Ben's goes out second, not after Ann's third two seconds later
// (the crash story at 10,000 members: two invites for one person held a
// worker a second each, and 8 workers made 12 invites a second where the
// bot may send 29). Ann still gets all three, a second apart.
func TestBot_PersonsPaceHoldsNoWorker(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{workers: 1})
		ann, ben := h.person("Ann", "ann_tg"), h.person("Ben", "ben_tg")
		h.reply(ann.ID, "/help") // each has a chat with the bot
		h.reply(ben.ID, "/help")
		before := len(h.sb.Calls())
		ctx := context.Background()
		for i, who := range []int64{ann.ID, ann.ID, ann.ID, ben.ID} {
			p := models.NoticePayload{Key: fmt.Sprintf("pace/%d", i), Kind: "test", Text: fmt.Sprintf("message %d", i)}
			if err := h.store.QueueNotice(ctx, "", who, "", p); err != nil {
				t.Fatal(err)
			}
		}
		h.pool.Wake()
		var order []int64
		h.eventually("four messages sent", func() bool {
			order = order[:0]
			for _, c := range h.sb.Calls()[before:] {
				if c.Method != "sendMessage" || c.Error != "" {
					continue
				}
				raw, _ := json.Marshal(c.Params)
				var p struct {
					ChatID json.Number `json:"chat_id"`
				}
				if err := json.Unmarshal(raw, &p); err != nil {
					t.Fatal(err)
				}
				id, _ := p.ChatID.Int64()
				order = append(order, id)
			}
			return len(order) == 4
		})
		if order[1] != ben.ID {
			t.Errorf("messages went to %v: Ben's waited behind Ann's pace (want Ben second)", order)
		}
	})
}
